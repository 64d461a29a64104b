import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CalculationResult, PacemakerTrainerConfig, TrainPotentialInput, TrainerConfig, describeIssues } from '../../../src/domain/schemas.js';

const cell = [
  [3.6, 0, 0],
  [0, 3.6, 0],
  [0, 0, 3.6],
];
const result = {
  structure: { symbols: ['Cu', 'Ni'], positions: [[0, 0, 0], [1.8, 1.8, 0]], cell, pbc: [true, true, true] },
  energy: -7.1,
  forces: [[0.1, 0, 0], [-0.1, 0, 0]],
};

function issues(schema: { safeParse: (v: unknown, o: { reportInput: true }) => { success: boolean; error?: unknown } }, v: unknown): string {
  const r = schema.safeParse(v, { reportInput: true });
  assert.equal(r.success, false, 'expected validation to fail');
  return describeIssues(r.error as never);
}

test('a valid CalculationResult parses', () => {
  assert.equal(CalculationResult.parse(result).energy, -7.1);
});

test('forces that do not match the atom count are rejected with the field path and value', () => {
  const msg = issues(CalculationResult, { ...result, forces: [[0, 0, 0]] });
  assert.match(msg, /^forces: has 1 rows but the structure has 2 atoms \(got 1\)$/m);
});

test('NaN in forces and energy is rejected naming the component', () => {
  const msg = issues(CalculationResult, { ...result, energy: NaN, forces: [[0, 0, NaN], [0, 0, 0]] });
  assert.match(msg, /^energy: .*\(got NaN\)$/m);
  assert.match(msg, /^forces\.0\.2: .*\(got NaN\)$/m);
});

test('an unknown chemical symbol is rejected', () => {
  const msg = issues(CalculationResult, { ...result, structure: { ...result.structure, symbols: ['Cu', 'Xx'] } });
  assert.match(msg, /structure\.symbols\.1: unknown chemical symbol \(got "Xx"\)/);
});

test('config: negative cutoff, unknown element and max_epochs 0 each name field and value', () => {
  const msg = issues(PacemakerTrainerConfig, { cutoff: -5, elements: ['Cu', 'Qq'], max_epochs: 0 });
  assert.match(msg, /^cutoff: must be > 0 and <= 20 Å \(got -5\)$/m);
  assert.match(msg, /^elements\.1: unknown chemical symbol \(got "Qq"\)$/m);
  assert.match(msg, /^max_epochs: must be at least 1 \(got 0\)$/m);
});

test('config: defaults follow pacemaker (batch_size 10, maxiter 100, seed 42)', () => {
  const c = PacemakerTrainerConfig.parse({ cutoff: 5, elements: ['Mg', 'O'] });
  assert.deepEqual([c.batch_size, c.max_epochs, c.seed, c.order], [10, 100, 42, 3]);
});

test('config: the pass-through accepts pacemaker sections and rejects unknown top-level keys', () => {
  const ok = PacemakerTrainerConfig.parse({ cutoff: 5, elements: ['Cu'], input: { fit: { weighting: { type: 'EnergyBasedWeightingPolicy' } } } });
  assert.deepEqual(ok.input.fit, { weighting: { type: 'EnergyBasedWeightingPolicy' } });
  assert.match(issues(PacemakerTrainerConfig, { cutoff: 5, elements: ['Cu'], input: { fitt: {} } }), /input: Unrecognized key: "fitt"/);
  assert.match(issues(PacemakerTrainerConfig, { cutoff: 5, elements: ['Cu'], colour: 'red' }), /Unrecognized key: "colour"/);
});

test('config: a pass-through key owned by a typed field is refused, pointing at the field', () => {
  const msg = issues(PacemakerTrainerConfig, { cutoff: 5, elements: ['Cu'], input: { fit: { maxiter: 7 } } });
  assert.match(msg, /^input\.fit\.maxiter: is set by the typed field `max_epochs`; set `max_epochs` instead \(got 7\)$/m);
});

test('TrainerConfig is discriminated by engine', () => {
  assert.match(issues(TrainerConfig, { engine: 'nequip', pacemaker: {} }), /engine/);
  assert.equal(TrainerConfig.parse({ engine: 'pacemaker', pacemaker: { cutoff: 5, elements: ['Cu'] } }).engine, 'pacemaker');
});

test('TrainPotentialInput rejects campaign names that cannot be folders or ids', () => {
  const base = { generation: 0, config: { engine: 'pacemaker', pacemaker: { cutoff: 5, elements: ['Cu'] } } };
  assert.match(issues(TrainPotentialInput, { ...base, campaign: '../etc' }), /^campaign: must be/m);
  assert.equal(TrainPotentialInput.parse({ ...base, campaign: 'cu-ni_1' }).initialPotential, null);
});
