/**
 * Training activities: run pacemaker for one generation, heartbeating its progress and its
 * newest checkpoint, so that a retried attempt (crash, killed worker, timeout) resumes from it.
 */
import { Context } from '@temporalio/activity';
import type { TrainerConfig, PotentialArtifact } from '../src/domain/schemas.js';
import type { CheckpointRef, TrainingProgress } from '../src/domain/progress.js';
import type { TrainingData } from '../src/dataset/store.js';
import type { FineTuneMode } from '../src/domain/input-yaml.js';
import { initialPotentialOf } from '../src/trainer/trainer.js';
import type { SlotLease } from '../src/process/slots.js';
import { atBoundary } from './boundary.js';
import { trainerFor, type ActivityDeps } from './deps.js';
import { withStageRecord } from './stage-record.js';
import { progressRelay, PROGRESS_SIGNAL_EVERY_MS } from './progress-relay.js';

export interface TrainPotentialActivityInput {
  campaign: string;
  generation: number;
  config: TrainerConfig;
  /** Train/test files and data version from the dataset stage. */
  data: TrainingData;
  initialPotential: string | null;
  parentVersion: string | null;
  /** How to start from initialPotential: `continue` (-p, the default), `extend` or `reset`. */
  fineTune?: FineTuneMode;
  /** s of silence before a fit counts as stalled (the workflow's tuning.stallTimeoutSeconds); absent: the default. */
  stallTimeoutSeconds?: number;
}

/** The `backend.batch_size` in the previous attempt's last heartbeat (reduced after out-of-memory exits). */
export function heartbeatedBatchSize(details: unknown): number | null {
  if (details === null || typeof details !== 'object') return null;
  const b = (details as Partial<TrainingProgress>).batchSize;
  return typeof b === 'number' && Number.isInteger(b) && b >= 1 ? b : null;
}

/** The checkpoint in the previous attempt's last heartbeat, if it sent one. */
export function heartbeatedCheckpoint(details: unknown): CheckpointRef | null {
  if (details === null || typeof details !== 'object') return null;
  const cp = (details as Partial<TrainingProgress>).checkpoint;
  return cp && typeof cp === 'object' && typeof cp.path === 'string' ? cp : null;
}

export function createTrainingActivities(deps: ActivityDeps) {
  return {
    async trainPotential(input: TrainPotentialActivityInput): Promise<PotentialArtifact> {
      const from = { mode: input.initialPotential === null ? ('scratch' as const) : (input.fineTune ?? 'continue'), parentVersion: input.parentVersion, initialPotential: input.initialPotential };
      return atBoundary(() => withStageRecord(deps, { ...input, stage: 'training', start: from }, async () => {
        const ctx = Context.current();
        const info = ctx.info;
        const start = initialPotentialOf(input.initialPotential, input.fineTune);
        const trainer = trainerFor(
          deps,
          input.campaign,
          input.generation,
          input.config,
          input.parentVersion,
        );
        const resume = heartbeatedCheckpoint(info.heartbeatDetails);
        // Until the first new progress, keep reporting the checkpoint we resume from: a crash
        // before then must not make the next attempt forget it.
        let latest: TrainingProgress | null = resume ? { ...(info.heartbeatDetails as TrainingProgress), checkpoint: resume } : null;
        // Heartbeat from a timer, not only on output: the server detects a dead worker only
        // through missed heartbeats, and cancellation arrives only with them.
        const beat = () => ctx.heartbeat(latest);
        const tellWorkflow = progressRelay(deps.progressSignalEveryMs ?? PROGRESS_SIGNAL_EVERY_MS);
        beat();
        const timer = setInterval(beat, deps.heartbeatEveryMs ?? 5_000);
        // This host's GPU and threads for the fit, held until it ends.
        let lease: SlotLease | null = null;
        try {
          lease = deps.slotPool ? await deps.slotPool.acquire(ctx.cancellationSignal) : null;
          return await trainer.train(input.data, start, {
            signal: ctx.cancellationSignal,
            resume: { checkpoint: resume, batchSize: heartbeatedBatchSize(info.heartbeatDetails) },
            owner: { workflowId: info.workflowExecution?.workflowId ?? info.activityId, activityId: info.activityId, attempt: info.attempt },
            onProgress: (p) => {
              latest = p;
              tellWorkflow(p);
            },
            ...(input.stallTimeoutSeconds !== undefined ? { stallTimeoutSeconds: input.stallTimeoutSeconds } : {}),
            ...(lease ? { resources: lease.resources } : {}),
          });
        } finally {
          lease?.release();
          clearInterval(timer);
          // The newest checkpoint (a failed run's last copy) goes out before the attempt ends.
          beat();
        }
      }));
    },
  };
}
