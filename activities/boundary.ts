/** Maps this project's error kinds to Temporal failures, once, by type string. */
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { TrainerError } from '../src/errors.js';

export async function atBoundary<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // A cancelled activity must end as cancelled, whatever the killed program made us throw:
    // reported as a failure, the server would retry it and pacemaker would start again.
    const cancelled = cancellationOf();
    if (cancelled) throw cancelled;
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

function cancellationOf(): CancelledFailure | null {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return null; // called outside an activity (unit tests, scripts)
  }
  const signal = ctx.cancellationSignal;
  // Only a cancel the workflow asked for; a worker shutdown or timeout stays a retryable failure.
  if (!signal.aborted || !ctx.cancellationDetails?.cancelRequested) return null;
  return signal.reason instanceof CancelledFailure ? signal.reason : new CancelledFailure(String(signal.reason));
}
