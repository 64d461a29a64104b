/**
 * Runs python/mlip_bridge.py, the small Python program that reads and writes pacemaker's
 * pickles. It runs with the pacemaker installation's Python when there is one, so the pickles
 * it writes always load in pacemaker's pandas.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BadInputError, ProgramFailedError } from '../errors.js';
import { BRIDGE_SCRIPT } from '../paths.js';
import { runProgram } from '../process/run-program.js';

export interface BridgeOptions {
  python: string;
  /** Where the bridge's output is logged. */
  logFile?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** The bridge's JSON answer, plus how long the Python process ran. */
export async function runBridge<T extends object>(command: string, args: string[], opts: BridgeOptions): Promise<T & { programSeconds: number }> {
  const logFile = opts.logFile ?? join(tmpdir(), 'mlip-trainer-bridge.log');
  const res = await runProgram({
    command: [opts.python, BRIDGE_SCRIPT, command, ...args],
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
  if (res.exitCode === 2 && parsed !== null && typeof parsed === 'object' && 'error' in parsed) {
    const e = (parsed as { error: { message: string; problems?: { index: number; field: string; value: unknown }[] } }).error;
    const problems = (e.problems ?? []).map((p) => `  results[${p.index}].${p.field}: ${JSON.stringify(p.value)}`);
    throw new BadInputError([e.message, ...problems].join('\n'));
  }
  if (res.exitCode !== 0 || parsed === null) {
    throw new ProgramFailedError(
      `dataset bridge '${command}' failed (exit ${res.exitCode ?? res.signal}); last output:\n${res.tail.slice(-15).join('\n')}\nlog: ${logFile}`,
      { program: 'mlip_bridge.py', exitCode: res.exitCode, signal: res.signal, logFile, known: null },
    );
  }
  return { ...(parsed as T), programSeconds: res.durationMs / 1000 };
}
