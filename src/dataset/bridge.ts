/**
 * Runs mlip-dataset (python/src/mlip_trainer/cli/dataset.py), the small Python program that
 * reads and writes pacemaker's pickles. It runs with the pacemaker installation's Python when
 * there is one, so the pickles it writes always load in pacemaker's pandas.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BadInputError, ProgramFailedError } from '../errors.js';
import { pythonHelper } from '../paths.js';
import { runProgram } from '../process/run-program.js';

export interface BridgeOptions {
  python: string;
  /** Where the bridge's output is logged. */
  logFile?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Problems listed in a bad-input message; the rest are counted. */
const MAX_PROBLEMS_SHOWN = 50;

/** The bridge's JSON answer, plus how long the Python process ran. */
export async function runBridge<T extends object>(command: string, args: string[], opts: BridgeOptions): Promise<T & { programSeconds: number }> {
  const logFile = opts.logFile ?? join(tmpdir(), 'mlip-trainer-bridge.log');
  const helper = pythonHelper('dataset');
  const res = await runProgram({
    command: [opts.python, ...helper.args, command, ...args],
    env: helper.env,
    cwd: process.cwd(),
    logFile,
    timeoutMs: opts.timeoutMs ?? 30 * 60_000,
    captureStdout: true,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const last = res.stdout.trim().split('\n').pop() ?? '';
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(last);
  } catch {
    /* reported below */
  }
  if (res.exitCode === 2 && isBridgeError(parsed)) {
    const e = parsed.error;
    const all = e.problems ?? [];
    const problems = all.slice(0, MAX_PROBLEMS_SHOWN).map((p) => `  ${describeProblem(p)}`);
    if (all.length > MAX_PROBLEMS_SHOWN) problems.push(`  ... and ${all.length - MAX_PROBLEMS_SHOWN} more`);
    throw new BadInputError([e.message, ...problems].join('\n'));
  }
  if (res.exitCode === 3 && isBridgeError(parsed)) {
    // Another updater held the dataset lock for the whole timeout: worth retrying later.
    throw new ProgramFailedError(parsed.error.message, {
      program: 'mlip-dataset',
      exitCode: 3,
      signal: null,
      logFile,
      known: 'dataset-locked',
    });
  }
  if (res.exitCode !== 0 || parsed === null) {
    throw new ProgramFailedError(
      `dataset bridge '${command}' failed (exit ${res.exitCode ?? res.signal}); last output:\n${res.tail.slice(-15).join('\n')}\nlog: ${logFile}`,
      { program: 'mlip-dataset', exitCode: res.exitCode, signal: res.signal, logFile, known: null },
    );
  }
  return { ...(parsed as T), programSeconds: res.durationMs / 1000 };
}

/** One defect of one record, as the bridge reports it. */
export interface BridgeProblem {
  /** Position in the whole batch. */
  index: number;
  field: string;
  value: string;
  reason?: string;
  /** The file the record came from, and its position there. */
  file?: string;
  record?: number;
}

interface BridgeError {
  error: { kind: string; message: string; problems?: BridgeProblem[] };
}

function isBridgeError(v: unknown): v is BridgeError {
  return v !== null && typeof v === 'object' && 'error' in v && typeof (v as BridgeError).error?.message === 'string';
}

/** `file: results[3].forces: reason (got value)`, naming the record as the file numbers it. */
export function describeProblem(p: BridgeProblem): string {
  const where = p.file !== undefined ? `${p.file}: results[${p.record ?? p.index}]` : p.index >= 0 ? `results[${p.index}]` : '';
  const field = where === '' ? p.field : `${where}.${p.field}`;
  return `${field}: ${p.reason ?? 'invalid'} (got ${p.value})`;
}
