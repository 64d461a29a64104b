/**
 * The oracle: labels structures with a named calculator through the dataset helper's `label`
 * command and writes them as CalculationResult JSONL. Idempotent, so a retried activity never
 * labels a structure twice: structures already in the output (or in any other generation's
 * result files, the ledger) are skipped by structure hash, the output is rewritten atomically
 * after every structure, and one labeller at a time holds the output's lock (a retry waits for
 * the program its killed worker left running instead of labelling beside it).
 */
import { BadInputError } from '../errors.js';
import { runBridge } from '../dataset/bridge.js';
import type { DatasetReplies } from '../dataset/replies.js';

export interface OracleOptions {
  /** The selection's dataset pickle (index = position in the pool), or any results file. */
  structures: string;
  /** CalculationResult .jsonl; records already there are kept. */
  out: string;
  calculator: string;
  /** Positions in `structures` to label (default: all), e.g. a random draw from a pool. */
  indices?: number[];
  /** Folder of `generation_*` result files whose structures are never labelled again. */
  ledger?: string;
  /** The pool the structures came from, and where to write it without them. */
  pool?: string;
  remaining?: string;
  /** The lock file (one labeller per output) and the audit log (one line per calculation). */
  lock: string;
  log: string;
  secondsPerStructure?: number;
  /** The Python that runs the helper, with ASE installed. */
  python: string;
  logFile: string;
  env?: Record<string, string>;
  signal?: AbortSignal;
}

export type OracleReply = DatasetReplies['label'] & { programSeconds: number };

export async function labelWithOracle(o: OracleOptions): Promise<OracleReply> {
  const args = ['--structures', o.structures, '--out', o.out, '--calculator', o.calculator, '--lock', o.lock, '--log', o.log];
  // An empty list would read as "all" on the command line.
  if (o.indices !== undefined && o.indices.length === 0) throw new BadInputError('indices: empty; give at least one position, or none to label all');
  if (o.indices !== undefined) args.push('--indices', o.indices.join(','));
  if (o.ledger !== undefined) args.push('--ledger', o.ledger);
  if (o.pool !== undefined) args.push('--pool', o.pool);
  if (o.remaining !== undefined) args.push('--remaining', o.remaining);
  if (o.secondsPerStructure) args.push('--seconds-per-structure', String(o.secondsPerStructure));
  return runBridge('label', args, {
    python: o.python,
    logFile: o.logFile,
    timeoutMs: 24 * 3600_000,
    ...(o.env ? { env: o.env } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
}
