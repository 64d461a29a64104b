/** Maps this project's error kinds to Temporal failures, once, by type string. */
import { ApplicationFailure } from '@temporalio/activity';
import { TrainerError } from '../src/errors.js';

export async function atBoundary<T>(fn: () => Promise<T>): Promise<T> {
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
