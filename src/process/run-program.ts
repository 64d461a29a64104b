/**
 * The one way this project runs an external program: an argument array (never a shell string),
 * its own working directory, every output line appended to a log file, a timeout, a cancel
 * signal, and the whole process group killed on stop (SIGTERM, then SIGKILL); and the one
 * mapping of how it ended (cancelled, timed out, not started, exit code, a recognised pacemaker
 * failure) to this project's error kinds.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { recogniseFailure } from '../domain/pacemaker-log.js';
import { OutOfMemoryError, ProgramFailedError } from '../errors.js';

export interface RunOptions {
  /** argv[0] and the arguments that follow it. */
  command: readonly string[];
  cwd: string;
  /** Appended to, like pacemaker's own log. */
  logFile: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called for every line of stdout and stderr as it arrives. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Called once the process exists, e.g. to record its pid for a later attempt. */
  onSpawn?: (pid: number) => void | Promise<void>;
  /** Time between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  stdin?: string;
  /** Keep stdout in memory for `RunResult.stdout` (small outputs only, e.g. a JSON answer). */
  captureStdout?: boolean;
}

export interface RunResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  /** The last lines of stderr (or of stdout when stderr was silent), for error messages. */
  tail: string[];
  /** Captured stdout when `captureStdout` was set, else ''. */
  stdout: string;
}

const TAIL_LINES = 40;

export async function runProgram(opts: RunOptions): Promise<RunResult> {
  const [file, ...args] = opts.command;
  if (file === undefined) throw new TypeError('runProgram: `command` must not be empty');
  if (opts.timeoutMs !== undefined && !(Number.isFinite(opts.timeoutMs) && opts.timeoutMs > 0)) {
    throw new TypeError(`runProgram: expected \`timeoutMs\` to be a positive number, got \`${String(opts.timeoutMs)}\``);
  }
  await mkdir(opts.cwd, { recursive: true });
  await mkdir(dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const tails: Record<'stdout' | 'stderr', string[]> = { stdout: [], stderr: [] };
  const stdoutParts: string[] = [];
  const started = Date.now();

  const child = execa(file, args, {
    cwd: opts.cwd,
    env: opts.env ?? {},
    extendEnv: true,
    detached: true, // own process group, so the whole tree can be killed
    reject: false,
    ...(opts.stdin !== undefined ? { input: opts.stdin } : { stdin: 'ignore' as const }),
    buffer: false,
    stripFinalNewline: false,
  });

  let timedOut = false;
  let cancelled = false;
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = () => {
    if (child.pid === undefined) return;
    signalGroup(child.pid, 'SIGTERM');
    killTimer ??= setTimeout(() => signalGroup(child.pid!, 'SIGKILL'), opts.killGraceMs ?? 5000);
  };
  const onAbort = () => {
    cancelled = true;
    killGroup();
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timeout =
    opts.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          killGroup();
        }, opts.timeoutMs)
      : undefined;

  if (child.pid !== undefined) await opts.onSpawn?.(child.pid);

  const pump = (stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr') =>
    new Promise<void>((resolve) => {
      if (!stream) return resolve();
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        log.write(chunk);
        if (name === 'stdout' && opts.captureStdout) stdoutParts.push(chunk);
        // SciPy's progress ends its records with a bare \r: treat it as a line end too.
        const lines = (partial + chunk).split(/\r\n|\r|\n/);
        partial = lines.pop() ?? '';
        for (const line of lines) emit(line, name);
      });
      stream.on('end', () => {
        if (partial !== '') emit(partial, name);
        resolve();
      });
      stream.on('error', () => resolve());
    });
  const emit = (line: string, name: 'stdout' | 'stderr') => {
    if (line.trim() === '') return;
    const tail = tails[name];
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    opts.onLine?.(line, name);
  };

  const [result] = await Promise.all([child, pump(child.stdout, 'stdout'), pump(child.stderr, 'stderr')]);
  clearTimeout(timeout);
  clearTimeout(killTimer);
  opts.signal?.removeEventListener('abort', onAbort);
  // The leader may be gone while its children live on: make sure the group is gone too.
  if (child.pid !== undefined && (cancelled || timedOut)) {
    signalGroup(child.pid, 'SIGKILL');
    const until = Date.now() + 3000;
    while (groupAlive(child.pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise<void>((resolve) => log.end(resolve));

  return {
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    timedOut,
    cancelled,
    durationMs: Date.now() - started,
    tail: tails.stderr.length > 0 ? tails.stderr : tails.stdout,
    stdout: stdoutParts.join(''),
  };
}

/** Signals a process group; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** True while any process of the group is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** How a failed run is named and judged in its error. */
export interface FailureContext {
  /** The program as the error details name it: `pacemaker`, `pace_select`, `mlip-select`. */
  program: string;
  /** The program as the message names it (default `program`): `pacemaker --no-fit`, `mlip-select run`. */
  label?: string;
  /** What the program was doing, after how it ended: `converting /g/interim_potential_1.yaml`. */
  doing?: string;
  /** Its log file, named in the message. */
  logFile: string;
  /**
   * Whether a cancelled run may be retried (default true): a worker shutting down cancels
   * too. Selection passes false: it cancels its own helper programs when their partner failed.
   */
  retryCancelled?: boolean;
  /** Whether the output is matched against pacemaker's known failures (default true). */
  recognise?: boolean;
}

/** Output lines quoted in a failure message; the rest is in the log file. */
const MESSAGE_TAIL_LINES = 15;

/** How a run ended, in words for a message: `exited with 3`, `timed out after 600 s`, ... */
export function describeEnd(res: RunResult, command?: readonly string[]): string {
  if (res.cancelled) return 'was cancelled';
  if (res.timedOut) return `timed out after ${Math.round(res.durationMs / 1000)} s`;
  if (res.exitCode === null && res.signal === null) return `could not be started${command?.[0] !== undefined ? ` (${command[0]})` : ''}`;
  return `exited with ${res.exitCode ?? res.signal}`;
}

/**
 * The error for a run that did not exit 0: OutOfMemory when its output shows pacemaker's (or
 * Python's) out-of-memory failure, else ProgramFailed, retryable unless a recognised failure
 * says otherwise. The message says how it ended, names a recognised failure with its hint, and
 * quotes the last lines of output and where the rest is.
 */
export function programFailure(res: RunResult, o: FailureContext, command?: readonly string[]): OutOfMemoryError | ProgramFailedError {
  const stopped = res.cancelled || res.timedOut;
  const known = stopped || o.recognise === false ? null : recogniseFailure(res.tail.join('\n'));
  const label = o.label ?? o.program;
  const message =
    `${label} ${describeEnd(res, command)}${o.doing !== undefined ? ` ${o.doing}` : ''}${known ? ` [${known.kind}: ${known.hint}]` : ''}; ` +
    `last output:\n${res.tail.slice(-MESSAGE_TAIL_LINES).join('\n')}\nfull output: ${o.logFile}`;
  const retryable = known ? known.retryable : !res.cancelled || o.retryCancelled !== false;
  const err =
    known?.kind === 'OutOfMemory'
      ? new OutOfMemoryError(message)
      : new ProgramFailedError(message, { program: o.program, exitCode: res.exitCode, signal: res.signal, logFile: o.logFile, known: known?.kind ?? null }, retryable);
  const last = res.tail.at(-1);
  summaries.set(err, `${label} ${describeEnd(res, command)}${last !== undefined ? `: ${last}` : ''}; see ${o.logFile}`);
  return err;
}

/** One-line summaries of the errors programFailure made (their messages quote many lines of output). */
const summaries = new WeakMap<Error, string>();

/**
 * One line about `err`, for a warning: for a program's failure how it ended, its last line of
 * output and where the rest is; for any other error the first line of its message.
 */
export function oneLineSummary(err: unknown): string {
  if (err instanceof Error) return summaries.get(err) ?? err.message.split('\n')[0] ?? '';
  return String(err).split('\n')[0] ?? '';
}

/** Runs a program and returns its result when it exited 0; otherwise throws its programFailure. */
export async function runOrFail(opts: RunOptions & Omit<FailureContext, 'logFile'>): Promise<RunResult> {
  const res = await runProgram(opts);
  if (res.exitCode !== 0) throw programFailure(res, { ...opts, logFile: opts.logFile }, opts.command);
  return res;
}
