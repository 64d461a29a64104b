/** The seed's BaseTrainer: the interface every training engine implements. */
import type { CalculationResult, PotentialArtifact } from '../domain/schemas.js';
import type { TrainingProgress } from '../domain/progress.js';

export interface Trainer {
  /** Appends `dataset` to the persistent dataset and trains on all of it. */
  train(dataset: readonly CalculationResult[], initialPotential?: string): Promise<PotentialArtifact>;
}

export interface TrainerRunContext {
  /** Fires on every parsed iteration and stage change. */
  onProgress?: (p: TrainingProgress) => void;
  signal?: AbortSignal;
}
