/**
 * Running the selection's programs (pace_select, pace_activeset, `pacemaker --dry-run` and
 * mlip-select) through the one program runner, with their failures mapped to this project's
 * error kinds.
 */
import { join } from 'node:path';
import { BadInputError, OutOfMemoryError, ProgramFailedError } from '../errors.js';
import { recogniseFailure } from '../domain/pacemaker-log.js';
import { PROJECT_ROOT, pythonHelper } from '../paths.js';
import { runProgram, type RunResult } from '../process/run-program.js';
import { helperEnv, type PacemakerProgram, type Toolchain } from '../pacemaker/toolchain.js';

/** What every selection step needs to run a program. */
export interface StepContext {
  toolchain: Toolchain;
  /** Extra environment (the simulator's fault injection reads it). */
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** Called with the pid of every program started, e.g. to sample its memory. */
  onSpawn?: (pid: number, program: string) => void;
}

/** pace_activeset's "too few atoms for the basis" failure: a state of the data, not a fault. */
export const UNDER_DETERMINED = /system is under-determined/;
/** pace_activeset in batch mode without -a. */
export const NEEDS_ALL_ATOMS = /Please use --all-atoms option/;

export interface PaceRun extends RunResult {
  logFile: string;
}

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
  });
  return { ...res, logFile };
}

/** The error for a failed run, with the last lines of its output and where the rest is. */
export function failureOf(program: string, res: PaceRun): Error {
  const how = res.cancelled ? 'was cancelled' : res.timedOut ? 'timed out' : `exited with ${res.exitCode ?? res.signal}`;
  const known = res.cancelled || res.timedOut ? null : recogniseFailure(res.tail.join('\n'));
  const message = `${program} ${how}${known ? ` [${known.kind}: ${known.hint}]` : ''}; last output:\n${res.tail.slice(-12).join('\n')}\nfull output: ${res.logFile}`;
  if (known?.kind === 'OutOfMemory') return new OutOfMemoryError(message);
  return new ProgramFailedError(
    message,
    { program, exitCode: res.exitCode, signal: res.signal, logFile: res.logFile, known: known?.kind ?? null },
    known ? known.retryable : !res.cancelled,
  );
}

/** Exit status of `mlip-select select` when this pyace cannot run pace_select's function in process. */
export const IN_PROCESS_UNAVAILABLE = 3;

/** `mlip-select select` cannot run here: the caller runs the pace_select program instead. */
export class InProcessUnavailableError extends Error {
  override name = 'InProcessUnavailableError';
}

/** Runs mlip-select with the installation's Python; its last stdout line is JSON. */
export async function runSelectScript<T extends object>(
  ctx: StepContext,
  command: 'prepare' | 'inspect' | 'run' | 'replicate' | 'select',
  args: string[],
  logFile: string,
  signal: AbortSignal | undefined = ctx.signal,
  cwd: string = PROJECT_ROOT,
): Promise<T & { programSeconds: number }> {
  const helper = pythonHelper('select', { ...helperEnv(ctx.toolchain), ...ctx.env });
  const res = await runProgram({
    command: [ctx.toolchain.python, ...helper.args, command, ...args],
    cwd,
    logFile,
    captureStdout: true,
    env: helper.env,
    ...(signal ? { signal } : {}),
    ...(ctx.onSpawn ? { onSpawn: (pid: number) => ctx.onSpawn?.(pid, `mlip_select ${command}`) } : {}),
  });
  const last = res.stdout.trim().split('\n').pop() ?? '';
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(last);
  } catch {
    /* reported below */
  }
  // A bad-input answer is authoritative even when the process was stopped right after printing it.
  if ((res.exitCode === 2 || res.cancelled) && parsed !== null && typeof parsed === 'object' && 'error' in parsed) {
    const e = (parsed as { error: { message: string } }).error;
    throw new BadInputError(e.message);
  }
  if (res.exitCode === IN_PROCESS_UNAVAILABLE && parsed !== null && typeof parsed === 'object' && 'unavailable' in parsed) {
    throw new InProcessUnavailableError(String(parsed.unavailable));
  }
  if (res.exitCode !== 0 || parsed === null) {
    throw failureOf(`mlip-select ${command}`, { ...res, logFile });
  }
  return { ...(parsed as T), programSeconds: res.durationMs / 1000 };
}
