import { test } from 'node:test';
import assert from 'node:assert/strict';
import yaml from 'js-yaml';
import { describePotential } from '../../../src/domain/potential.js';

// The head of a real output_potential.yaml (pacemaker 0.2.7+172), trimmed.
const REAL = `
metadata:
  _loss: 0.26980336021809714
  pacemaker_version: 0.2.7+172.gd1c213a
global:
  DeltaSplineBins: 0.001
species:
  - speciesblock: Cu
    rcutij: 5
    nbody: []
  - speciesblock: Cu Ni
    rcutij: 5
  - speciesblock: Ni
    rcutij: 5
`;

test('elements and cutoff are read from the species blocks of a fitted potential', () => {
  assert.deepEqual(describePotential(yaml.load(REAL)), { elements: ['Cu', 'Ni'], cutoff: 5, fitCycles: 0, functionsPerElement: { Cu: 0, Ni: 0 } });
});

test('the best-cycle checkpoint is recognised by its _fit_cycles', () => {
  const best = REAL.replace('  _loss:', '  _fit_cycles: 1\n  _loss:');
  assert.equal(describePotential(yaml.load(best))?.fitCycles, 1);
});

test('an input-style shape and garbage', () => {
  assert.deepEqual(describePotential({ elements: ['Mg', 'O'], cutoff: 6 }), { elements: ['Mg', 'O'], cutoff: 6, fitCycles: 0, functionsPerElement: {} });
  assert.equal(describePotential('not a potential'), null);
});

test('functions per element count the nbody entries of every block centred on that element', () => {
  const doc = {
    species: [
      { speciesblock: 'Cu', rcutij: 5, nbody: [{}, {}, {}] },
      { speciesblock: 'Cu Ni', rcutij: 5, nbody: [{}, {}] },
      { speciesblock: 'Ni', rcutij: 5, nbody: [{}] },
      { speciesblock: 'Ni Cu', rcutij: 5, nbody: [{}, {}, {}, {}] },
    ],
  };
  assert.deepEqual(describePotential(doc)?.functionsPerElement, { Cu: 5, Ni: 5 });
});

test("a fitted potential's reference energies are read from its metadata (pacemaker stores them as JSON text)", async () => {
  const { fittedReferenceEnergy } = await import('../../../src/domain/potential.js');
  // Verbatim metadata value from a real pacemaker 0.2.7+172 output_potential.yaml.
  const meta = { reference_energy: '{"Cu": 0.11062798832540821, "Ni": 0.10028663476105582, "shift": 0.039076487517362146}' };
  assert.deepEqual(fittedReferenceEnergy({ metadata: meta }), { Cu: 0.11062798832540821, Ni: 0.10028663476105582, shift: 0.039076487517362146 });
  assert.equal(fittedReferenceEnergy({ metadata: {} }), null);
  assert.equal(fittedReferenceEnergy({ metadata: { reference_energy: 'not json' } }), null);
  assert.equal(fittedReferenceEnergy({ metadata: { reference_energy: { Cu: 'x' } } }), null);
});

test("withoutAutoRepulsion gives back the state a real pacemaker fitted in: the fitted output minus repulsion: auto's inner cutoff equals its last interim potential but for metadata and coefficients", async () => {
  const { readFile } = await import('node:fs/promises');
  const { withoutAutoRepulsion } = await import('../../../src/domain/potential.js');
  // Both written by pacemaker 0.2.7+172 in one fit (fit.repulsion: auto): interim_potential_0.yaml
  // before the repulsion was set (saved a few evaluations before the end, so one coefficient
  // differs in its last digits), output_potential.yaml after.
  const fitted = await readFile('test/fixtures/potentials/cu-ni-auto-repulsion.yaml', 'utf8');
  const before = await readFile('test/fixtures/potentials/cu-ni-before-repulsion.yaml', 'utf8');
  assert.match(fitted, /inner_cutoff_type: zbl/);
  const restored = withoutAutoRepulsion(fitted);
  const body = (t: string) => t.split('\n').filter((l) => !/^\s*(_loss|intermediate_time):/.test(l) && !/\bc: \[/.test(l)).join('\n');
  assert.equal(body(restored), body(before));
  assert.doesNotMatch(restored, /zbl/);
  // The coefficients keep pacemaker's own digits, and the result still parses as a potential.
  const coeffs = (t: string) => t.split('\n').filter((l) => /\bc: \[|radcoefficients/.test(l));
  assert.deepEqual(coeffs(restored), coeffs(fitted));
  assert.deepEqual(describePotential(yaml.load(restored))?.elements, ['Cu', 'Ni']);
  // A config's own embedding cut-offs are restored instead of pacemaker's defaults.
  assert.match(withoutAutoRepulsion(fitted, { rho_core_cut: 3000, drho_core_cut: 5 }), /^ {4}rho_core_cut: 3000\n {4}drho_core_cut: 5$/m);
  // So are its own bond settings (potential.bonds.ALL), lists in pacemaker's flow style.
  const bonds = withoutAutoRepulsion(fitted, { r_in: 1.5, delta_in: 0.2, inner_cutoff_type: 'distance', 'core-repulsion': [100, 5] });
  assert.equal(bonds.match(/^ {4}r_in: 1\.5\n {4}delta_in: 0\.2\n {4}inner_cutoff_type: distance$/gm)?.length, 4, 'every bond block');
  assert.equal(bonds.match(/^ {4}core-repulsion: \[100, 5\]$/gm)?.length, 4);
});
