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
