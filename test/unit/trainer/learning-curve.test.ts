import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curveFromMetrics, formatCurve, mergeCurve, parseCurve } from '../../../src/trainer/learning-curve.js';

const rows = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ iter_num: i, loss: 1 / (from + i + 1), rmse_epa: 0.01, rmse_f_comp: 0.2 }));

test('runs of a resumed generation join into one curve counted across runs, without the repeated initial row', () => {
  const first = curveFromMetrics(rows(0, 8), 0, 1, 6); // crashed after 8, resumed from the checkpoint at 6
  assert.deepEqual(first.map((p) => p.iteration), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(first[0]!.energyRmse, 10, 'eV/atom -> meV/atom');
  assert.equal(first[0]!.forceRmse, 200, 'eV/Å -> meV/Å');
  const second = curveFromMetrics(rows(6, 20), 6, 2);
  assert.equal(second[0]!.iteration, 7, 'row 0 of a resumed run repeats the checkpoint and is dropped');
  const merged = mergeCurve(first, second);
  assert.deepEqual(merged.map((p) => p.iteration), Array.from({ length: 21 }, (_, i) => i));
  assert.deepEqual(mergeCurve(merged, second), merged, 'merging the same run twice changes nothing');
  assert.deepEqual(parseCurve(formatCurve(merged)), merged);
});

test('a later run that resumed from an earlier checkpoint replaces the points after it', () => {
  const a = curveFromMetrics(rows(0, 10), 0, 1);
  const b = curveFromMetrics(rows(4, 9), 4, 2);
  const m = mergeCurve(a, b);
  assert.deepEqual(m.map((p) => `${p.iteration}:${p.run}`), ['0:1', '1:1', '2:1', '3:1', '4:1', '5:2', '6:2', '7:2', '8:2', '9:2']);
});
