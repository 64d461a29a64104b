/** Early stop: the generation's newest checkpoint becomes its potential. Runs on the training queue (the checkpoint is there). */
import { Context } from '@temporalio/activity';
import type { TrainerConfig } from '../src/domain/schemas.js';
import type { TrainingData } from '../src/dataset/store.js';
import type { EarlyStoppedArtifact } from '../src/trainer/trainer.js';
import { atBoundary } from './boundary.js';
import { trainerFor, type ActivityDeps } from './deps.js';
import { withStageRecord } from './stage-record.js';

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
      return atBoundary(() =>
        withStageRecord(deps, { ...input, stage: 'converting' }, async () => {
          const signal = Context.current().cancellationSignal;
          // Evaluating the stopped potential may start TensorFlow: on a slot's GPU, like a fit.
          const lease = deps.slotPool ? await deps.slotPool.acquire(signal) : null;
          try {
            return await trainerFor(deps, input.campaign, input.generation, input.config, input.parentVersion).finaliseCheckpoint(input.data, {
              signal,
              ...(lease ? { resources: lease.resources } : {}),
            });
          } finally {
            lease?.release();
          }
        }),
      );
    },
  };
}
