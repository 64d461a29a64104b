/** What every activity factory receives: injected, so tests bring their own. */
import { resolve } from 'node:path';
import { createTrainer } from '../src/trainer/factory.js';
import type { Trainer } from '../src/trainer/trainer.js';
import type { TrainerConfig } from '../src/domain/schemas.js';
import type { ActivityDeps } from '../src/temporal/worker.js';

// Defined by the library's worker module, which receives these from each host.
export type { ActivityDeps };

export function campaignDir(deps: ActivityDeps, campaign: string): string {
  return resolve(deps.workspaceRoot, campaign);
}

export function trainerFor(
  deps: ActivityDeps,
  campaign: string,
  generation: number,
  config: TrainerConfig,
  parentVersion: string | null = null,
): Trainer {
  return createTrainer(config, {
    campaignDir: campaignDir(deps, campaign),
    generation,
    parentVersion,
    toolchain: deps.toolchain,
    ...(deps.env ? { env: deps.env } : {}),
  });
}
