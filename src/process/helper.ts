/**
 * The protocol of this project's Python helpers (the dataset helper, which reads and writes
 * pacemaker's pickles, and the selection helper): one JSON document on the last line of stdout,
 * checked on arrival by the zod schema of the command that was run. Exit 0: the reply. Exit 2:
 * bad input, `{error: {kind, message, problems}}`. Exit 3: the helper's special case (the dataset
 * is locked by another updater; the selection cannot run in process here). Anything else is a
 * failed program, mapped like every other (programFailure).
 */
import { z } from 'zod';
import { describeIssues } from '../domain/schemas.js';
import { BadInputError, OutputMissingError, ProgramFailedError } from '../errors.js';
import { pythonHelper } from '../paths.js';
import { programFailure, runProgram, type RunResult } from './run-program.js';
import { defaultStallWatch } from './stall.js';

export type HelperName = 'dataset' | 'select';

/** The selection helper cannot run pace_select's function in process here: run the pace_select program instead. */
export class InProcessUnavailableError extends Error {
  override name = 'InProcessUnavailableError';
}

/**
 * The command line that starts a helper and the environment it needs: the one place that knows
 * where the helpers are.
 */
export function helperInvocation(
  helper: HelperName,
  python: string,
  env: Record<string, string> = {},
): { command: string[]; env: Record<string, string> } {
  const h = pythonHelper(helper, env);
  return { command: [python, ...h.args], env: h.env };
}

/** One defect of one record, as a helper reports it. */
export const HelperProblem = z.object({
  /** Position in the whole batch (-1: not a record, e.g. a flag). */
  index: z.number(),
  field: z.string(),
  value: z.string(),
  reason: z.string().optional(),
  /** The file the record came from, and its position there. */
  file: z.string().optional(),
  record: z.number().nullable().optional(),
});
export type HelperProblem = z.infer<typeof HelperProblem>;

/** What a helper prints when it refuses its input (exit 2) or the dataset is locked (exit 3). */
const HelperError = z.object({
  error: z.object({ kind: z.string(), message: z.string(), problems: z.array(HelperProblem).optional() }),
});

/** What the selection helper prints when it cannot select in process (exit 3). */
const Unavailable = z.object({ unavailable: z.string() });

/** Problems listed in a bad-input message; the rest are counted. */
const MAX_PROBLEMS_SHOWN = 50;

interface HelperTraits {
  /** The program its failures name (and whose stall watchdog default applies). */
  program: 'mlip-dataset' | 'mlip-select';
  /** The error for exit 3, from the reply; null when the reply is not that case's. */
  exit3(reply: unknown, logFile: string): Error | null;
  /** Whether a cancelled run may be retried (see FailureContext.retryCancelled). */
  retryCancelled: boolean;
  /** Whether its output is matched against pacemaker's known failures (the selection helper runs pyace in process). */
  recognise: boolean;
}

const HELPERS: Record<HelperName, HelperTraits> = {
  dataset: {
    program: 'mlip-dataset',
    exit3: (reply, logFile) => {
      const r = HelperError.safeParse(reply);
      // Another updater held the dataset lock for the whole timeout: worth retrying later.
      return r.success
        ? new ProgramFailedError(r.data.error.message, { program: 'mlip-dataset', exitCode: 3, signal: null, logFile, known: 'dataset-locked' })
        : null;
    },
    retryCancelled: true,
    recognise: false,
  },
  select: {
    program: 'mlip-select',
    exit3: (reply) => {
      const r = Unavailable.safeParse(reply);
      return r.success ? new InProcessUnavailableError(r.data.unavailable) : null;
    },
    retryCancelled: false,
    recognise: true,
  },
};

export interface HelperCall<T> {
  helper: HelperName;
  /** The Python that runs it: the pacemaker installation's, so the pickles it writes load there. */
  python: string;
  command: string;
  args: readonly string[];
  /** The schema of this command's reply. */
  reply: z.ZodType<T>;
  logFile: string;
  cwd: string;
  env?: Record<string, string>;
  signal?: AbortSignal;
  timeoutMs?: number;
  onSpawn?: (pid: number) => void;
  /** s of silence before the stall watchdog stops it; default: its program's policy in `STALL_POLICIES`. */
  stallLimitSeconds?: number;
}

/** The helper's reply to `command`, checked by its schema, plus how long the Python process ran. */
export async function runHelper<T>(call: HelperCall<T>): Promise<T & { programSeconds: number }> {
  const traits = HELPERS[call.helper];
  const { command, env } = helperInvocation(call.helper, call.python, call.env);
  const argv = [...command, call.command, ...call.args];
  const res = await runProgram({
    command: argv,
    cwd: call.cwd,
    logFile: call.logFile,
    captureStdout: true,
    env,
    ...(call.timeoutMs !== undefined ? { timeoutMs: call.timeoutMs } : {}),
    ...(call.signal ? { signal: call.signal } : {}),
    ...(call.onSpawn ? { onSpawn: call.onSpawn } : {}),
    stall: defaultStallWatch(traits.program, call.stallLimitSeconds),
  });
  const label = `${traits.program} ${call.command}`;
  const reply = lastLineJson(res);
  // A bad-input answer is authoritative even when the process was stopped right after printing it.
  if (res.exitCode === 2 || res.cancelled) {
    const bad = HelperError.safeParse(reply);
    if (bad.success) throw new BadInputError(badInputMessage(bad.data.error));
  }
  if (res.exitCode === 3) {
    const special = traits.exit3(reply, call.logFile);
    if (special) throw special;
  }
  const failure = { program: traits.program, label, logFile: call.logFile, retryCancelled: traits.retryCancelled, recognise: traits.recognise };
  if (res.exitCode !== 0) throw programFailure(res, failure, argv);
  if (reply === undefined) {
    throw new ProgramFailedError(
      `${label} exited with 0 but printed no JSON reply on its last line of output; last output:\n${res.tail.slice(-15).join('\n')}\nfull output: ${call.logFile}`,
      { program: traits.program, exitCode: 0, signal: null, logFile: call.logFile, known: null },
    );
  }
  const parsed = call.reply.safeParse(reply, { reportInput: true });
  if (!parsed.success) {
    throw new OutputMissingError(`${label} replied with a document this version does not understand:\n${describeIssues(parsed.error, 'reply').replace(/^/gm, '  ')}\nfull output: ${call.logFile}`);
  }
  return Object.assign({}, parsed.data, { programSeconds: res.durationMs / 1000 });
}

/** The JSON document on the last line of stdout, or undefined when there is none. */
function lastLineJson(res: RunResult): unknown {
  const last = res.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last);
  } catch {
    return undefined;
  }
}

function badInputMessage(e: z.infer<typeof HelperError>['error']): string {
  // A problem of a whole file (missing, a folder, unreadable, no type map), or one the message
  // already states with its file and reason (a frame ASE cannot read), is not repeated below it.
  const said = (p: HelperProblem) => p.file !== undefined && e.message.includes(p.file) && (((p.record ?? null) === null && p.index < 0) || (p.reason !== undefined && e.message.includes(p.reason)));
  const all = (e.problems ?? []).filter((p) => !said(p));
  const problems = all.slice(0, MAX_PROBLEMS_SHOWN).map((p) => `  ${describeProblem(p)}`);
  if (all.length > MAX_PROBLEMS_SHOWN) problems.push(`  ... and ${all.length - MAX_PROBLEMS_SHOWN} more`);
  return [e.message, ...problems].join('\n');
}

/** `file: results[3].forces: reason (got value)`, naming the record as the file numbers it. */
export function describeProblem(p: HelperProblem): string {
  if (p.file !== undefined && (p.record === null || p.record === undefined) && p.index < 0) return `${p.file}: ${p.reason ?? 'invalid'} (got ${p.value})`;
  const where = p.file !== undefined ? `${p.file}: results[${p.record ?? p.index}]` : p.index >= 0 ? `results[${p.index}]` : '';
  const field = where === '' ? p.field : `${where}.${p.field}`;
  return `${field}: ${p.reason ?? 'invalid'} (got ${p.value})`;
}
