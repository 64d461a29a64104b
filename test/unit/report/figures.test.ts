// The report's figures as Vega-Lite specs: the numbers they hold, the lineage, resumes and stops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  campaignFigures,
  learningCurveFigure,
  lineageLabel,
  rmseFigure,
  selectionFigures,
  datasetFigure,
} from '../../../src/report/figures.js';
import { campaignFixture } from './fixture.js';

type Rows = { values: Record<string, unknown>[] };

test('every figure the issue lists is there, named as its file is', () => {
  assert.deepEqual(
    campaignFigures(campaignFixture()).map((f) => f.name),
    [
      'rmse',
      'learning-curves',
      'parity-energy',
      'parity-force',
      'parity-force-by-element',
      'errors-energy',
      'errors-force',
      'dataset-growth',
      'selection-gamma',
      'selection-counts',
      'stage-times',
    ],
  );
});

test("the RMSE figure holds each generation's RMSE at full precision, labelled with its lineage", () => {
  const f = rmseFigure(campaignFixture())!;
  const rows = (f.spec.data as Rows).values;
  const test2 = rows.find(
    (r) => r.version === 'generation_002' && r.set === 'test' && r.quantity === 'force',
  )!;
  assert.equal(test2.rmse, 110.123456789 - 40);
  assert.equal(
    test2.description,
    `generation_002 test force RMSE ${110.123456789 - 40} meV/Å (simulated)`,
  );
  assert.deepEqual(
    [...new Set(rows.map((r) => r.generation))],
    ['gen 0 (scratch)', 'gen 1 ← gen 0 (continue)', 'gen 2 ← gen 1 (extend)'],
  );
  assert.match(String((f.spec.title as { text: string }).text), /SIMULATED/);
});

test('a selection-only generation is labelled so and has no RMSE', () => {
  const r = campaignFixture();
  r.generations[0] = { ...r.generations[0]!, kind: 'selection-only', metrics: null, path: null };
  assert.equal(lineageLabel(r.generations[0]), 'gen 0 (selection only)');
  assert.ok(!(rmseFigure(r)!.spec.data as Rows).values.some((x) => x.version === 'generation_000'));
});

test('learning curves mark the resume of a run and where the fit ended or was stopped', () => {
  const f = learningCurveFigure(campaignFixture())!;
  const charts = f.spec.vconcat as { layer: { data: Rows }[] }[];
  const resumed = charts[1]!.layer
    .flatMap((l) => l.data.values)
    .filter((v) => typeof v.label === 'string');
  assert.ok(resumed.some((v) => v.label === 'resume (run 2)' && v.iteration === 3));
  assert.ok(resumed.some((v) => v.label === 'end of fit' && v.iteration === 5));
  const stopped = charts[2]!.layer.flatMap((l) => l.data.values);
  assert.ok(stopped.some((v) => v.label === 'stopped early: good enough' && v.iteration === 2));
});

test('the selection figures show every graded pool structure and how the selected ones were chosen', () => {
  const [gamma, counts] = selectionFigures(campaignFixture());
  const points = (gamma!.spec.layer as { data: Rows }[]).at(-1)!.data.values;
  assert.deepEqual(
    points.map((p) => [p.gamma, p.status]),
    [
      [0.5, 'pool'],
      [1.5, 'selected by gamma'],
      [2.5, 'selected by pace_select'],
    ],
  );
  assert.deepEqual(
    (counts!.spec.data as Rows).values.map((c) => [c.by, c.count]),
    [
      ['pace_select', 1],
      ['gamma', 1],
    ],
  );
});

test('dataset growth is cumulative per element and split', () => {
  const rows = (datasetFigure(campaignFixture())!.spec.data as Rows).values;
  const cu = (g: string, split: string) =>
    rows.find((r) => r.generation === g && r.element === 'Cu' && r.split === split)?.atoms;
  assert.deepEqual(
    [cu('gen 0', 'train'), cu('gen 1', 'train'), cu('gen 2', 'train'), cu('gen 2', 'test')],
    [10, 20, 30, 2],
  );
});

test('a selection with a random share (pool.randomFraction) shows it in both selection figures; without one, no random category', () => {
  const plain = selectionFigures(campaignFixture());
  const plainCounts = (plain.find((f) => f.name === 'selection-counts')!.spec.data as Rows).values;
  assert.ok(!plainCounts.some((r) => r.by === 'random'), 'no random bar when nothing was drawn at random');
  const r = campaignFixture();
  const g = r.generations.find((x) => x.selection)!;
  const sel = g.selection!;
  g.selection = { ...sel, indices: [...sel.indices, 0], chosenBy: [...sel.chosenBy, 'random'], gammaMax: [...sel.gammaMax, 0.5], counts: { ...sel.counts, random: 1 } };
  const figures = selectionFigures(r);
  const counts = (figures.find((f) => f.name === 'selection-counts')!.spec.data as Rows).values;
  assert.deepEqual(counts.filter((x) => x.by === 'random').map((x) => x.count), [1]);
  const gamma = figures.find((f) => f.name === 'selection-gamma')!;
  assert.match(JSON.stringify(gamma.spec), /selected by random/);
});
