/**
 * A pool of candidates built the way exploration makes them (short EMT molecular dynamics: mostly
 * redundant near-equilibrium bulk, a few percent vacancies, surfaces, compressed and stretched
 * cells, high-temperature frames and small clusters), and a labelled test set balanced across
 * those categories: for the active-learning demo and benchmark. See
 * python/src/mlip_trainer/exploration.py.
 */
import { runBridge } from '../dataset/bridge.js';
import type { DatasetReplies } from '../dataset/replies.js';
import { VENV_PYTHON } from '../paths.js';

export interface ExplorationPoolOptions {
  /** Pool pickle (name, ase_atoms; unlabelled). Names are `<category>/<trajectory>-<frame>`. */
  out: string;
  /** Labelled test set pickle; omitted: none. */
  testOut?: string;
  count: number;
  testPerCategory?: number;
  seed?: number;
  elements?: string[];
  /** Share of the pool that is not near-equilibrium bulk MD (default 0.06). */
  rareFraction?: number;
  python?: string;
  logFile?: string;
}

export async function explorationPool(o: ExplorationPoolOptions): Promise<DatasetReplies['exploration-pool']> {
  const args = ['--out', o.out, '--count', String(o.count), '--seed', String(o.seed ?? 0), '--elements', (o.elements ?? ['Cu', 'Ni']).join(',')];
  if (o.testOut !== undefined) args.push('--test-out', o.testOut, '--test-per-category', String(o.testPerCategory ?? 10));
  if (o.rareFraction !== undefined) args.push('--rare-fraction', String(o.rareFraction));
  return runBridge('exploration-pool', args, { python: o.python ?? VENV_PYTHON, ...(o.logFile ? { logFile: o.logFile } : {}) });
}
