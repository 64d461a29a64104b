// The specification's test_pacemaker_config: input.yaml from a config holds the configured values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import { buildPacemakerInput, forContinuation, deepMerge } from '../../../src/domain/input-yaml.js';
import { PacemakerTrainerConfig, describeIssues } from '../../../src/domain/schemas.js';

const cfg = PacemakerTrainerConfig.parse({
  cutoff: 5.0,
  order: 3,
  elements: ['Mg', 'O'],
  batch_size: 25,
  max_epochs: 250,
  evaluator: 'pyace',
  functions_per_element: 40,
  kappa: 0.4,
  seed: 7,
});

test('input.yaml from a config contains cutoff: 5.0 and every configured value where pacemaker reads it', () => {
  const text = yaml.dump(buildPacemakerInput(cfg, { filename: '/ws/data/accumulated.pckl.gzip' }));
  assert.match(text, /^cutoff: 5$/m); // js-yaml writes 5.0 as 5; YAML reads both as 5.0
  const doc = yaml.load(text) as Record<string, Record<string, unknown>>;
  assert.equal(doc.cutoff, 5.0);
  assert.equal(doc.seed, 7);
  const pot = doc.potential as { elements: string[]; bonds: { ALL: { rcut: number } }; functions: { number_of_functions_per_element: number; ALL: { nradmax_by_orders: number[]; lmax_by_orders: number[] } } };
  assert.deepEqual(pot.elements, ['Mg', 'O']);
  assert.equal(pot.bonds.ALL.rcut, 5.0);
  assert.equal(pot.functions.number_of_functions_per_element, 40);
  assert.equal(pot.functions.ALL.nradmax_by_orders.length, 3);
  assert.equal(pot.functions.ALL.lmax_by_orders.length, 3);
  assert.deepEqual(doc.backend, { evaluator: 'pyace', batch_size: 25, display_step: 10, parallel_mode: 'serial' });
  const fit = doc.fit as { maxiter: number; loss: { kappa: number } };
  assert.equal(fit.maxiter, 250);
  assert.equal(fit.loss.kappa, 0.4);
  assert.deepEqual(doc.data, { filename: '/ws/data/accumulated.pckl.gzip', reference_energy: 'auto', test_size: 0.1 });
});

test('the sections pacemaker crashes without are always present', () => {
  const doc = buildPacemakerInput(cfg, { filename: 'x.pckl.gzip' });
  for (const key of ['cutoff', 'potential', 'backend', 'data', 'fit']) assert.ok(key in doc, key);
});

test('a test file replaces test_size', () => {
  const doc = buildPacemakerInput(cfg, { filename: 'train.pckl.gzip', testFilename: 'test.pckl.gzip' });
  assert.deepEqual(doc.data, { filename: 'train.pckl.gzip', reference_energy: 'auto', test_filename: 'test.pckl.gzip' });
});

test('pass-through keys merge into the generated sections without dropping siblings', () => {
  const withExtra = PacemakerTrainerConfig.parse({ ...cfg, input: { fit: { loss: { w0_rad: 1e-4 } }, backend: { display_step: 2 } } });
  const doc = buildPacemakerInput(withExtra, { filename: 'x' });
  assert.deepEqual((doc.fit as { loss: object }).loss, { kappa: 0.4, L1_coeffs: 1e-8, L2_coeffs: 1e-8, w0_rad: 1e-4 });
  assert.equal(doc.backend.display_step, 2);
  assert.equal(doc.backend.batch_size, 25);
});

test('continuing with -p drops ladder_step (upstream issue #39) and keeps the potential section', () => {
  const withLadder = PacemakerTrainerConfig.parse({ ...cfg, input: { fit: { ladder_step: [10, 0.2], ladder_type: 'body_order' } } });
  const cont = forContinuation(buildPacemakerInput(withLadder, { filename: 'x' }), 30);
  assert.equal('ladder_step' in cont.fit, false);
  assert.equal('ladder_type' in cont.fit, false);
  assert.equal(cont.fit.maxiter, 30);
  assert.ok(cont.potential);
});

test('deepMerge replaces arrays and scalars, merges objects', () => {
  assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: 2 }), { a: { b: 1, c: [3] }, d: 2 });
});

test('fine-tune modes: continue passes -p and drops the ladder, extend sets initial_potential with a ladder, reset refits the file', async () => {
  const { forFineTune, DEFAULT_LADDER_STEP } = await import('../../../src/domain/input-yaml.js');
  const withLadder = PacemakerTrainerConfig.parse({ ...cfg, input: { fit: { ladder_step: 5, ladder_type: 'power_order' } } });
  const base = buildPacemakerInput(withLadder, { filename: 'x.pckl.gzip' });

  const cont = forFineTune(base, 'continue', 'parent.yaml', 40);
  assert.deepEqual(cont.args, ['-p', 'parent.yaml']);
  assert.equal(cont.input.fit.ladder_step, undefined);
  assert.equal(cont.input.fit.ladder_type, undefined);
  assert.equal(cont.input.fit.maxiter, 40);
  assert.ok(cont.input.potential.elements, 'potential section kept: pacemaker crashes without it');

  const ext = forFineTune(buildPacemakerInput(cfg, { filename: 'x.pckl.gzip' }), 'extend', 'parent.yaml', 40);
  assert.deepEqual(ext.args, [], 'never -p or -ip');
  assert.equal(ext.input.potential.initial_potential, 'parent.yaml');
  assert.deepEqual(ext.input.fit.ladder_step, [...DEFAULT_LADDER_STEP]);
  assert.equal(forFineTune(base, 'extend', 'parent.yaml', 40).input.fit.ladder_step, 5, 'a configured ladder_step is kept');

  const reset = forFineTune(base, 'reset', 'parent.yaml', 40);
  assert.deepEqual(reset.args, []);
  assert.deepEqual(reset.input.potential, { filename: 'parent.yaml', reset: true });
  assert.equal(reset.input.fit.ladder_step, undefined);
});

test('pass-through keys are checked against the keys pacemaker reads, naming the field and value', () => {
  const typo = PacemakerTrainerConfig.safeParse({ ...cfg, input: { fit: { maxiters: 5 } } }, { reportInput: true });
  assert.equal(typo.success, false);
  const msg = describeIssues(typo.error);
  assert.match(msg, /input\.fit\.maxiters: is not a pacemaker fit key \(known: loss, weighting/);
  assert.match(msg, /\(got 5\)/);
  const bad = PacemakerTrainerConfig.safeParse({ ...cfg, input: { backend: { display_step: 0 }, fit: { ladder_step: 'big' } } }, { reportInput: true });
  assert.equal(bad.success, false);
  const m2 = describeIssues(bad.error);
  assert.match(m2, /input\.backend\.display_step: must be an integer >= 1 \(got 0\)/);
  assert.match(m2, /input\.fit\.ladder_step: must be an integer >= 1 or a list/);
  const owned = PacemakerTrainerConfig.safeParse({ ...cfg, input: { potential: { initial_potential: 'x.yaml' } } });
  assert.match(describeIssues(owned.error!), /input\.potential\.initial_potential: is set by the typed field `initialPotential` with `fineTune: extend`/);
  assert.ok(PacemakerTrainerConfig.safeParse({ ...cfg, input: { fit: { ladder_step: [10, 0.02], fit_cycles: 2 }, backend: { display_step: 5 } } }).success);
});
