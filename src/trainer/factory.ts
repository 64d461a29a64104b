/** The specification's ComponentFactory: engines by name, so callers never import one directly. */
import type { TrainerConfig } from '../domain/schemas.js';
import type { Toolchain } from '../pacemaker/toolchain.js';
import { PacemakerTrainer, openPacemakerDataset } from './pacemaker-trainer.js';
import type { DatasetContext, Trainer, TrainingDataset } from './trainer.js';

/** Where and with what a trainer works on one generation of a campaign. */
export interface TrainerContext {
  /** Root of one campaign: holds `data/` and `potentials/`. */
  campaignDir: string;
  generation: number;
  /** The generation the initial potential comes from, recorded in the artifact. */
  parentVersion?: string | null;
  toolchain: Toolchain;
  /** Limit for one pacemaker run. */
  trainingTimeoutMs?: number;
  /** Extra environment for pacemaker's programs (the simulator's fault injection reads it). */
  env?: Record<string, string>;
}

type Engine = TrainerConfig['engine'];

interface EngineFactories<E extends Engine> {
  trainer(config: Extract<TrainerConfig, { engine: E }>, ctx: TrainerContext): Trainer;
  dataset(ctx: DatasetContext): TrainingDataset;
}

const registry: { [E in Engine]: EngineFactories<E> } = {
  pacemaker: {
    trainer: (config, ctx) => new PacemakerTrainer({ ...ctx, config: config.pacemaker }),
    dataset: (ctx) => openPacemakerDataset(ctx),
  },
};

export function createTrainer(config: TrainerConfig, ctx: TrainerContext): Trainer {
  return registry[config.engine].trainer(config, ctx);
}

export function openDataset(engine: Engine, ctx: DatasetContext): TrainingDataset {
  return registry[engine].dataset(ctx);
}
