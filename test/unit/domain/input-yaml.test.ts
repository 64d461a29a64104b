// The seed's test_pacemaker_config: input.yaml from a config holds the configured values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import { buildPacemakerInput, forContinuation, deepMerge } from '../../../src/domain/input-yaml.js';
import { PacemakerTrainerConfig } from '../../../src/domain/schemas.js';

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
