/** Training activities: run pacemaker for one generation, heartbeating its progress. */
import { Context } from '@temporalio/activity';
import type { TrainerConfig, PotentialArtifact } from '../src/domain/schemas.js';
import type { TrainingProgress } from '../src/domain/progress.js';
import type { TrainingData } from '../src/dataset/store.js';
import { atBoundary } from './boundary.js';
import { trainerFor, type ActivityDeps } from './deps.js';

export interface TrainPotentialActivityInput {
  campaign: string;
  generation: number;
  config: TrainerConfig;
  /** Train/test files and data version from the dataset stage. */
  data: TrainingData;
  initialPotential: string | null;
  parentVersion: string | null;
}

export function createTrainingActivities(deps: ActivityDeps) {
  return {
    async trainPotential(input: TrainPotentialActivityInput): Promise<PotentialArtifact> {
      return atBoundary(async () => {
        const ctx = Context.current();
        const trainer = trainerFor(
          deps,
          input.campaign,
          input.generation,
          input.config,
          input.parentVersion,
        );
        let latest: TrainingProgress | null = null;
        // Heartbeat from a timer, not only on output: the server detects a dead worker only
        // through missed heartbeats, and cancellation arrives only with them.
        const beat = () => ctx.heartbeat(latest);
        beat();
        const timer = setInterval(beat, deps.heartbeatEveryMs ?? 5_000);
        try {
          return await trainer.runTraining(input.data, input.initialPotential, {
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
