/** Early stop: the generation's newest checkpoint becomes its potential. Runs on the training queue (the checkpoint is there). */
import { Context } from '@temporalio/activity';
import type { TrainerConfig } from '../src/domain/schemas.js';
import type { TrainingData } from '../src/dataset/store.js';
import { finaliseFromCheckpoint, type EarlyStoppedArtifact } from '../src/trainer/finalise-checkpoint.js';
import { atBoundary } from './boundary.js';
import { campaignDir, type ActivityDeps } from './deps.js';

export interface FinaliseCheckpointInput {
  campaign: string;
  generation: number;
  config: TrainerConfig;
  data: TrainingData;
  parentVersion: string | null;
}

export function createEarlyStopActivities(deps: ActivityDeps) {
  return {
    async finaliseCheckpoint(input: FinaliseCheckpointInput): Promise<EarlyStoppedArtifact> {
      return atBoundary(async () =>
        finaliseFromCheckpoint({
          campaignDir: campaignDir(deps, input.campaign),
          generation: input.generation,
          parentVersion: input.parentVersion,
          config: input.config,
          data: input.data,
          toolchain: deps.toolchain,
          signal: Context.current().cancellationSignal,
          ...(deps.env ? { env: deps.env } : {}),
        }),
      );
    },
  };
}
