/**
 * The run journal of a generation folder: `runs.jsonl` records every pacemaker run (arguments,
 * maxiter, batch size, what it resumed from, how it ended), and `learning_curve.tsv` holds one
 * point per iteration of the generation across those runs (each run rewrites metrics.txt with
 * its own rows only, so they are folded in as the runs go; see learning-curve.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMetricsTable } from '../domain/pacemaker-log.js';
import { exists, writeFileAtomic } from '../util/files.js';
import type { FitPosition } from './fit-position.js';
import { curveFromMetrics, formatCurve, mergeCurve, parseCurve } from './learning-curve.js';
import type { RunKind } from './run-plan.js';

export const RUNS_FILE = 'runs.jsonl';
export const CURVE_FILE = 'learning_curve.tsv';

/** One pacemaker run of a generation, as recorded in `runs.jsonl`. */
export interface RunRecord {
  event: 'start' | 'end';
  run: number;
  attempt: number;
  args?: string[];
  maxiter?: number;
  /** Iterations done before this run. */
  offset?: number;
  batchSize?: number;
  resumedFrom?: string | null;
  /** Inputs the run belongs to (see CheckpointRef.runKey). */
  runKey?: string;
  /** Size of log.txt when the run started: its own log lines follow. */
  logStart?: number;
  /** What the run does (see planRun), where in the fit it starts, and whether it ladders. */
  kind?: RunKind;
  start?: FitPosition;
  ladder?: boolean;
  exitCode?: number | null;
  failure?: string | null;
  /** The host the run ran on, the GPU it saw (null: not pinned) and its threads (null: the programs' defaults). */
  host?: string;
  gpu?: string | null;
  threads?: number | null;
  /** After an out-of-memory exit: the `backend.batch_size` the next run uses. */
  nextBatchSize?: number;
  at: string;
}

/**
 * The last run runs.jsonl records as started: its number and `offset`, the iterations of the
 * generation done before it (metrics.txt holds that run's rows only), and, when recorded, its
 * inputs' `runKey`, where its lines of log.txt start (`logStart`), its batch size, where in the
 * fit it started and whether it ladders.
 */
export interface StartedRun {
  run: number;
  offset: number;
  runKey?: string;
  logStart?: number;
  batchSize?: number;
  start?: FitPosition;
  ladder?: boolean;
}

export class RunJournal {
  constructor(readonly dir: string) {}

  private get runsFile(): string {
    return join(this.dir, RUNS_FILE);
  }

  async records(): Promise<RunRecord[]> {
    if (!(await exists(this.runsFile))) return [];
    return (await readFile(this.runsFile, 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as RunRecord);
  }

  async append(rec: Omit<RunRecord, 'at'>): Promise<void> {
    const prev = (await exists(this.runsFile)) ? await readFile(this.runsFile, 'utf8') : '';
    await writeFileAtomic(this.runsFile, prev + JSON.stringify({ ...rec, at: new Date().toISOString() }) + '\n');
  }

  /** The last started run (see StartedRun), or null when no run is recorded. */
  async lastStarted(): Promise<StartedRun | null> {
    const last = (await this.records()).filter((r) => r.event === 'start').at(-1);
    if (!last) return null;
    return {
      run: last.run,
      offset: last.offset ?? 0,
      ...(last.runKey !== undefined ? { runKey: last.runKey } : {}),
      ...(last.logStart !== undefined ? { logStart: last.logStart } : {}),
      ...(last.batchSize !== undefined ? { batchSize: last.batchSize } : {}),
      ...(last.start !== undefined ? { start: last.start } : {}),
      ...(last.ladder !== undefined ? { ladder: last.ladder } : {}),
    };
  }

  /**
   * A fresh start (no checkpoint to resume): the learning curve starts over, and runs of other
   * inputs are dropped, for they are not part of this generation; failed runs of the same inputs
   * (`records`, as read before) stay listed. Returns the records that stay.
   */
  async startOver(records: readonly RunRecord[], runKey: string): Promise<readonly RunRecord[]> {
    let kept = records;
    if (!records.filter((r) => r.event === 'start').every((r) => r.runKey === runKey)) {
      kept = [];
      await writeFileAtomic(this.runsFile, '');
    }
    await writeFileAtomic(join(this.dir, CURVE_FILE), formatCurve([]));
    return kept;
  }

  /**
   * Folds the rows of the last started run's metrics.txt, up to iteration `upTo` of the
   * generation, into learning_curve.tsv (see mergeCurve: folding the same rows again changes nothing).
   */
  async absorbLastRun(upTo: number): Promise<void> {
    const last = await this.lastStarted();
    const metricsFile = join(this.dir, 'metrics.txt');
    if (!last || !(await exists(metricsFile))) return;
    const curveFile = join(this.dir, CURVE_FILE);
    const rows = parseMetricsTable(await readFile(metricsFile, 'utf8'));
    const prev = (await exists(curveFile)) ? parseCurve(await readFile(curveFile, 'utf8')) : [];
    const merged = mergeCurve(prev, curveFromMetrics(rows, last.offset, last.run, upTo));
    await writeFileAtomic(curveFile, formatCurve(merged));
  }
}
