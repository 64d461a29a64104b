/** The seed's BaseTrainer: the interface every training engine implements. */
import type { CalculationResult, PotentialArtifact } from '../domain/schemas.js';
import type { CheckpointRef, TrainingProgress } from '../domain/progress.js';
import type { FineTuneMode } from '../domain/input-yaml.js';
import type { RunOwner } from './stale-process.js';

export interface Trainer {
  /** Appends `dataset` to the persistent dataset and trains on all of it. */
  train(dataset: readonly CalculationResult[], initialPotential?: string): Promise<PotentialArtifact>;
}

export interface TrainerRunContext {
  /** Fires on every parsed iteration, new checkpoint and stage change. */
  onProgress?: (p: TrainingProgress) => void;
  signal?: AbortSignal;
  /** How to start from the initial potential; `continue` when absent. */
  fineTune?: FineTuneMode;
  /** The checkpoint the previous attempt heartbeated (Temporal's heartbeatDetails). */
  resume?: CheckpointRef | null;
  /** `backend.batch_size` the previous attempt last heartbeated (smaller after out-of-memory exits). */
  resumeBatchSize?: number | null;
  /** Workflow id + activity id + attempt: keys the pid file used to stop a stale pacemaker. */
  owner?: RunOwner;
}
