/**
 * One error class per kind of failure. Each is mapped once, at the activity boundary, to a
 * Temporal failure type; workflows branch on these type strings, never on `instanceof`.
 */

export type FailureType =
  | 'BadInput'
  | 'ToolchainMissing'
  | 'ProgramFailed'
  | 'OutputMissing'
  | 'OutOfMemory'
  | 'Stalled'
  | 'Cancelled';

export abstract class TrainerError extends Error {
  abstract readonly type: FailureType;
  abstract readonly retryable: boolean;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The caller's input is wrong; retrying cannot help. */
export class BadInputError extends TrainerError {
  readonly type = 'BadInput' as const;
  readonly retryable = false;
}

/** No usable pacemaker (or Python, or temporal) where one was configured. */
export class ToolchainMissingError extends TrainerError {
  readonly type = 'ToolchainMissing' as const;
  readonly retryable = false;
}

/** A program exited non-zero or was killed; `known` names a recognised pacemaker trap. */
export class ProgramFailedError extends TrainerError {
  readonly type = 'ProgramFailed' as const;
  readonly retryable: boolean;
  constructor(
    message: string,
    readonly details: { program: string; exitCode: number | null; signal: string | null; logFile: string; known: string | null },
    retryable = true,
  ) {
    super(message);
    this.retryable = retryable;
  }
}

/** A program reported success but a file it must write is missing or invalid. */
export class OutputMissingError extends TrainerError {
  readonly type = 'OutputMissing' as const;
  readonly retryable = true;
}

export class OutOfMemoryError extends TrainerError {
  readonly type = 'OutOfMemory' as const;
  readonly retryable: boolean;
  /** Not retryable once the trainer has already shrunk the batch to its floor. */
  constructor(message: string, retryable = true) {
    super(message);
    this.retryable = retryable;
  }
}

/**
 * A program wrote no line of output for longer than its limit and was killed (its whole
 * process group): a hung driver, file system or deadlock. Retryable: the retry resumes.
 */
export class StalledError extends TrainerError {
  readonly type = 'Stalled' as const;
  readonly retryable = true;
  constructor(
    message: string,
    readonly details: { program: string; silentSeconds: number; limitSeconds: number; lastLine: string | null; logFile: string },
  ) {
    super(message);
  }
}

export class CancelledError extends TrainerError {
  readonly type = 'Cancelled' as const;
  readonly retryable = false;
}

/** Failure types a workflow must not retry. */
export const NON_RETRYABLE_TYPES: readonly FailureType[] = ['BadInput', 'ToolchainMissing'];
