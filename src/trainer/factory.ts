/** The seed's ComponentFactory: engines by name, so callers never import one directly. */
import type { TrainerConfig } from '../domain/schemas.js';
import type { Toolchain } from '../pacemaker/toolchain.js';
import { PacemakerTrainer } from './pacemaker-trainer.js';

export interface TrainerContext {
  campaignDir: string;
  generation: number;
  parentVersion?: string | null;
  toolchain: Toolchain;
  trainingTimeoutMs?: number;
  env?: Record<string, string>;
}

type Factory<E extends TrainerConfig['engine']> = (
  config: Extract<TrainerConfig, { engine: E }>,
  ctx: TrainerContext,
) => PacemakerTrainer;

const registry: { [E in TrainerConfig['engine']]: Factory<E> } = {
  pacemaker: (config, ctx) => new PacemakerTrainer({ ...ctx, config: config.pacemaker }),
};

export function createTrainer(config: TrainerConfig, ctx: TrainerContext): PacemakerTrainer {
  const make = registry[config.engine];
  return make(config, ctx);
}
