/**
 * The per-iteration learning curve of a generation, across pacemaker runs. Each run (first run,
 * resume, out-of-memory retry) rewrites metrics.txt with iterations counted from 0 (in every fit
 * cycle and ladder step), so the trainer folds each run's rows into `learning_curve.tsv` with the
 * iteration counted across cycles, ladder steps and runs.
 * Pure, so the merging is unit-tested without files.
 */

export interface CurvePoint {
  /** Iteration of the generation, across runs; 0 is the initial state of the first run. */
  iteration: number;
  run: number;
  loss: number;
  /** Train energy RMSE, meV/atom. */
  energyRmse: number;
  /** Train force RMSE per component, meV/Å. */
  forceRmse: number;
}

const HEADER = ['iteration', 'run', 'loss', 'energy_rmse_mev_per_atom', 'force_rmse_mev_per_a'];

/**
 * Points of one run from its metrics.txt rows (eV units there). `offset` is the iteration the
 * run started from. `iter_num` restarts at 0 in every fit cycle and ladder step, and that row
 * repeats the state the cycle starts from, so rows are counted in order: every row with
 * `iter_num` > 0 is one iteration, and a row 0 is kept only as the generation's initial state
 * (the first row, offset 0). `upTo` caps the points at the checkpoint the next run resumes from.
 */
export function curveFromMetrics(rows: readonly Record<string, number>[], offset: number, run: number, upTo = Infinity): CurvePoint[] {
  const out: CurvePoint[] = [];
  let count = 0;
  rows.forEach((row, i) => {
    const local = Number.isFinite(row.iter_num) ? row.iter_num! : i;
    if (local === 0 && (offset > 0 || i > 0)) return;
    if (local > 0) count += 1;
    const iteration = offset + count;
    if (iteration > upTo) return;
    out.push({
      iteration,
      run,
      loss: row.loss ?? NaN,
      energyRmse: (row.rmse_epa ?? NaN) * 1000,
      forceRmse: (row.rmse_f_comp ?? NaN) * 1000,
    });
  });
  return out;
}

/** Earlier points up to where `next` starts, then `next`: re-merging the same run changes nothing. */
export function mergeCurve(prev: readonly CurvePoint[], next: readonly CurvePoint[]): CurvePoint[] {
  const first = next[0];
  if (first === undefined) return [...prev];
  return [...prev.filter((p) => p.iteration < first.iteration), ...next];
}

export function formatCurve(points: readonly CurvePoint[]): string {
  const lines = points.map((p) => [p.iteration, p.run, p.loss, p.energyRmse, p.forceRmse].map(String).join('\t'));
  return [HEADER.join('\t'), ...lines].join('\n') + '\n';
}

export function parseCurve(text: string): CurvePoint[] {
  const [, ...lines] = text.split('\n').filter((l) => l.trim() !== '');
  return lines.map((l) => {
    const [iteration, run, loss, e, f] = l.split('\t').map(Number);
    return { iteration: iteration!, run: run!, loss: loss!, energyRmse: e!, forceRmse: f! };
  });
}
