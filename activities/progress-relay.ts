/**
 * Sends the training progress to the generation's own workflow, sparingly, so that its current
 * details in the Temporal UI show iteration, loss, RMSE and ETA (or the stall) without a client
 * merging heartbeats. Each signal is a history event (plus a workflow task), so it goes out for
 * the first iteration, then at most every `everyMs`, and at once when a stall begins or ends: a
 * week-long fit at the default 5 minutes adds about 2,000 signals, far below the history limit.
 * The heartbeats still carry every update; a lost signal costs nothing but freshness.
 */
import { Context } from '@temporalio/activity';
import type { TrainingProgress } from '../src/domain/progress.js';
import type { ProgressUpdate } from '../src/domain/generation-story.js';
import { trainingProgressSignal } from '../src/domain/messages.js';

/** Default gap between two progress signals. */
export const PROGRESS_SIGNAL_EVERY_MS = 5 * 60_000;

export function progressRelay(everyMs: number): (p: TrainingProgress) => void {
  const ctx = Context.current();
  const wf = ctx.info.workflowExecution;
  let handle: {
    signal: (def: typeof trainingProgressSignal, u: ProgressUpdate) => Promise<void>;
  } | null = null;
  try {
    if (wf) handle = ctx.client.workflow.getHandle(wf.workflowId, wf.runId);
  } catch {
    handle = null; // no client (a mock environment): nothing to tell
  }
  let lastSent = -Infinity;
  let lastStalled = false;
  let lastIteration: number | null = null;
  return (p) => {
    if (handle === null || p.stage !== 'training' || p.iteration === null) return;
    const stalled = p.silentSeconds !== undefined && p.silentSeconds !== null;
    const now = Date.now();
    const due = lastIteration === null || now - lastSent >= everyMs || stalled !== lastStalled;
    if (!due || (p.iteration === lastIteration && stalled === lastStalled)) return;
    lastSent = now;
    lastStalled = stalled;
    lastIteration = p.iteration;
    const update: ProgressUpdate = {
      iteration: p.iteration,
      maxiter: p.maxiter,
      loss: p.loss,
      energyRmse: p.energyRmse,
      forceRmse: p.forceRmse,
      etaSeconds: p.etaSeconds,
      ...(p.run !== undefined ? { run: p.run } : {}),
      silentSeconds: p.silentSeconds ?? null,
      stallLimitSeconds: p.stallLimitSeconds ?? null,
      at: new Date(now).toISOString(),
    };
    handle.signal(trainingProgressSignal, update).catch(() => undefined);
  };
}
