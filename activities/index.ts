/**
 * Activities: thin adapters from Temporal to the library in src/. Built by createActivities(deps)
 * so tests inject their own workspace, toolchain and environment.
 */
import { join, resolve } from 'node:path';
import { Context, ApplicationFailure } from '@temporalio/activity';
import { TrainerError } from '../src/errors.js';
import { createTrainer } from '../src/trainer/factory.js';
import type { TrainerConfig, PotentialArtifact } from '../src/domain/schemas.js';
import type { DatasetSummary } from '../src/dataset/store.js';
import type { TrainingProgress } from '../src/domain/progress.js';
import type { Toolchain } from '../src/pacemaker/toolchain.js';

export interface ActivityDeps {
  /** Shared workspace root; each campaign is a folder under it. */
  workspaceRoot: string;
  toolchain: Toolchain;
  /** Extra environment for pacemaker's programs. */
  env?: Record<string, string>;
  /** Heartbeat period while a program runs. */
  heartbeatEveryMs?: number;
}

export interface UpdateDatasetInput {
  campaign: string;
  generation: number;
  config: TrainerConfig;
  results: string[];
}

export interface TrainPotentialActivityInput {
  campaign: string;
  generation: number;
  config: TrainerConfig;
  datasetPath: string;
  initialPotential: string | null;
  parentVersion: string | null;
}

/** Maps our error kinds to Temporal failures once, here, by type string. */
async function atBoundary<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TrainerError) {
      throw ApplicationFailure.create({
        message: err.message,
        type: err.type,
        nonRetryable: !err.retryable,
        details: 'details' in err ? [err.details] : [],
      });
    }
    throw err;
  }
}

export function createActivities(deps: ActivityDeps) {
  const campaignDir = (campaign: string) => resolve(deps.workspaceRoot, campaign);
  const trainerFor = (campaign: string, generation: number, config: TrainerConfig, parentVersion: string | null = null) =>
    createTrainer(config, {
      campaignDir: campaignDir(campaign),
      generation,
      parentVersion,
      toolchain: deps.toolchain,
      ...(deps.env ? { env: deps.env } : {}),
    });

  return {
    async updateDataset(input: UpdateDatasetInput): Promise<DatasetSummary> {
      return atBoundary(async () => {
        const trainer = trainerFor(input.campaign, input.generation, input.config);
        return trainer.updateDataset({ files: input.results });
      });
    },

    async trainPotential(input: TrainPotentialActivityInput): Promise<PotentialArtifact> {
      return atBoundary(async () => {
        const ctx = Context.current();
        const trainer = trainerFor(input.campaign, input.generation, input.config, input.parentVersion);
        let latest: TrainingProgress | null = null;
        // Heartbeat from a timer, not only on output: the server detects a dead worker only
        // through missed heartbeats, and cancellation arrives only with them.
        const beat = () => ctx.heartbeat(latest);
        beat();
        const timer = setInterval(beat, deps.heartbeatEveryMs ?? 5_000);
        try {
          return await trainer.runTraining(input.datasetPath, input.initialPotential, {
            signal: ctx.cancellationSignal,
            onProgress: (p) => {
              latest = p;
            },
          });
        } finally {
          clearInterval(timer);
        }
      });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Where a campaign lives under a workspace root: used by tests and the CLI. */
export function campaignPath(workspaceRoot: string, campaign: string, ...rest: string[]): string {
  return join(resolve(workspaceRoot, campaign), ...rest);
}
