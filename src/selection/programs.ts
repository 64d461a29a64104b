/**
 * Running the selection's programs (pace_select, pace_activeset, `pacemaker --dry-run` and the
 * selection helper) through the one program runner and the helpers' protocol, with their
 * failures mapped to this project's error kinds.
 */
import { join } from 'node:path';
import type { OutOfMemoryError, ProgramFailedError, StalledError } from '../errors.js';
import { PROJECT_ROOT } from '../paths.js';
import { runHelper } from '../process/helper.js';
import { programFailure, runProgram, type RunResult } from '../process/run-program.js';
import { defaultStallWatch, type GuardedProgram } from '../process/stall.js';
import { helperEnv, type PacemakerProgram, type Toolchain } from '../pacemaker/toolchain.js';
import { SELECT_REPLIES, type SelectCommand, type SelectReplies } from './replies.js';

export { InProcessUnavailableError } from '../process/helper.js';

/** What every selection step needs to run a program. */
export interface StepContext {
  toolchain: Toolchain;
  /** Extra environment (the simulator's fault injection reads it). */
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** Called with the pid of every program started, e.g. to sample its memory. */
  onSpawn?: (pid: number, program: string) => void;
  /** s of silence before the stall watchdog stops a program; default: each program's policy in `STALL_POLICIES`. */
  stallLimitSeconds?: number;
}

/** pace_activeset's "too few atoms for the basis" failure: a state of the data, not a fault. */
export const UNDER_DETERMINED = /system is under-determined/;
/** pace_activeset in batch mode without -a. */
export const NEEDS_ALL_ATOMS = /Please use --all-atoms option/;

export interface PaceRun extends RunResult {
  logFile: string;
}

/** The stall watchdog's default for each program the selection runs (`pacemaker` only as `--dry-run`). */
const STALL_POLICY_OF: Record<PacemakerProgram, GuardedProgram> = {
  pacemaker: 'pacemaker --no-fit',
  pace_yaml2yace: 'pace_yaml2yace',
  pace_activeset: 'pace_activeset',
  pace_select: 'pace_select',
};

/** Runs one of pacemaker's programs; returns the result whatever the exit code. */
export async function runPace(
  ctx: StepContext,
  program: PacemakerProgram,
  args: string[],
  cwd: string,
  onLine?: (line: string) => void,
): Promise<PaceRun> {
  const logFile = join(cwd, `${program}.out`);
  const res = await runProgram({
    command: [...ctx.toolchain.command(program), ...args],
    cwd,
    logFile,
    ...(ctx.env ? { env: ctx.env } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(onLine ? { onLine } : {}),
    ...(ctx.onSpawn ? { onSpawn: (pid: number) => ctx.onSpawn?.(pid, program) } : {}),
    stall: defaultStallWatch(STALL_POLICY_OF[program], ctx.stallLimitSeconds),
  });
  return { ...res, logFile };
}

/** The error for a failed run, with the last lines of its output and where the rest is. */
export function failureOf(program: string, res: PaceRun): OutOfMemoryError | ProgramFailedError | StalledError {
  // Selection stops its own programs when their partner failed: such a stop is not retried.
  return programFailure(res, { program, logFile: res.logFile, retryCancelled: false });
}

/** Runs the selection helper with the installation's Python: its reply to `command`, checked by that command's schema. */
export async function runSelectScript<C extends SelectCommand>(
  ctx: StepContext,
  command: C,
  args: readonly string[],
  logFile: string,
  signal: AbortSignal | undefined = ctx.signal,
  cwd: string = PROJECT_ROOT,
): Promise<SelectReplies[C] & { programSeconds: number }> {
  return runHelper({
    helper: 'select',
    python: ctx.toolchain.python,
    command,
    args,
    reply: SELECT_REPLIES[command],
    logFile,
    cwd,
    env: { ...helperEnv(ctx.toolchain), ...ctx.env },
    ...(signal ? { signal } : {}),
    ...(ctx.onSpawn ? { onSpawn: (pid: number) => ctx.onSpawn?.(pid, `mlip_select ${command}`) } : {}),
  });
}
