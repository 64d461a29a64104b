/**
 * The dataset helper, the small Python program that reads and writes pacemaker's pickles. It
 * runs with the pacemaker installation's Python when there is one, so the pickles it writes
 * always load in pacemaker's pandas. Its replies follow the helpers' protocol (runHelper).
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runHelper } from '../process/helper.js';
import { DATASET_REPLIES, type DatasetCommand, type DatasetReplies } from './replies.js';

export interface BridgeOptions {
  python: string;
  /** Where the helper's output is logged. */
  logFile?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Extra environment for the helper (PYTHONPATH is kept after python/src). */
  env?: Record<string, string>;
}

/** The helper's reply to `command`, checked by that command's schema, plus how long the Python process ran. */
export async function runBridge<C extends DatasetCommand>(
  command: C,
  args: readonly string[],
  opts: BridgeOptions,
): Promise<DatasetReplies[C] & { programSeconds: number }> {
  return runHelper({
    helper: 'dataset',
    python: opts.python,
    command,
    args,
    reply: DATASET_REPLIES[command],
    logFile: opts.logFile ?? join(tmpdir(), 'mlip-trainer-bridge.log'),
    cwd: process.cwd(),
    timeoutMs: opts.timeoutMs ?? 30 * 60_000,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.env ? { env: opts.env } : {}),
  });
}
