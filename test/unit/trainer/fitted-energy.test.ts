// Data with structures known only by their corrected energy is fitted as stored: no
// data.reference_energy in any run's input.yaml (pacemaker would recompute energy_corrected from
// energy, and fail with KeyError 'energy'). Pure planning, no pacemaker, no disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacemakerTrainerConfig } from '../../../src/domain/schemas.js';
import { START_POSITION } from '../../../src/trainer/fit-position.js';
import { planRun, trainingInput } from '../../../src/trainer/run-plan.js';
import { configSha256 } from '../../../src/trainer/outputs.js';

const SMALL = { elements: ['Cu', 'Ni'], cutoff: 5.0, order: 2, functions_per_element: 5, max_epochs: 20, evaluator: 'pyace', test_size: 0 } as const;
const total = { trainPath: '/data/train.pckl.gzip', testPath: null, sha256: 'x' };
const corrected = { ...total, fittedEnergy: 'energy_corrected' as const };

test('total energies are corrected by pacemaker with the config reference energies; stored corrected energies are not', () => {
  for (const reference_energy of ['auto', -0.3, { Cu: -0.25, Ni: -0.5 }] as const) {
    const config = PacemakerTrainerConfig.parse({ ...SMALL, reference_energy });
    assert.deepEqual(trainingInput(config, total).data.reference_energy, reference_energy);
    assert.equal('reference_energy' in trainingInput(config, corrected).data, false, `reference_energy ${JSON.stringify(reference_energy)}`);
    assert.equal(trainingInput(config, corrected).data.filename, '/data/train.pckl.gzip');
  }
});

test('a fine-tune or resume of corrected data does not pin the parent reference energies either', () => {
  const config = PacemakerTrainerConfig.parse(SMALL);
  const parent = { Cu: -3.1, Ni: -4.2, shift: 0.1 };
  const onTotals = planRun(config, total, { mode: 'continue', checkpoint: null, batchSize: 10, referenceEnergy: parent });
  assert.deepEqual(onTotals.input.data.reference_energy, parent, 'totals keep the parent energy scale');
  for (const checkpoint of [null, { path: '/g/interim_potential_0.yaml', iteration: 5, batchSize: 10, position: START_POSITION }]) {
    const plan = planRun(config, corrected, { mode: 'continue', checkpoint: checkpoint as never, batchSize: 10, referenceEnergy: parent });
    assert.equal('reference_energy' in plan.input.data, false);
  }
});

test('the sanity limits are not part of the config identity: changing one does not retrain a finished generation', () => {
  const base = PacemakerTrainerConfig.parse(SMALL);
  const limited = PacemakerTrainerConfig.parse({ ...SMALL, max_energy_per_atom_ev: 5000, max_force_ev_per_a: 200 });
  assert.equal(configSha256(limited), configSha256(base));
  assert.notEqual(configSha256(PacemakerTrainerConfig.parse({ ...SMALL, max_epochs: 21 })), configSha256(base));
});
