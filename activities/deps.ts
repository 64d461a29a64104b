/** What every activity factory receives: injected, so tests bring their own. */
import { resolve } from 'node:path';
import { createTrainer } from '../src/trainer/factory.js';
import type { Trainer } from '../src/trainer/trainer.js';
import type { TrainerConfig } from '../src/domain/schemas.js';
import type { Toolchain } from '../src/pacemaker/toolchain.js';

export interface ActivityDeps {
  /** Shared workspace root; each campaign is a folder under it. */
  workspaceRoot: string;
  toolchain: Toolchain;
  /** Extra environment for pacemaker's programs. */
  env?: Record<string, string>;
  /** Heartbeat period while a program runs. */
  heartbeatEveryMs?: number;
  /** Shortest gap between two training-progress signals to the workflow (its UI details); default 5 min. */
  progressSignalEveryMs?: number;
}

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
