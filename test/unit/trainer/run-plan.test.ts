// What a generation runs next and the input.yaml of each run: pure planning, no pacemaker, no disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacemakerTrainerConfig, type PacemakerTrainerConfigInput } from '../../../src/domain/schemas.js';
import { START_POSITION, type FitCheckpoint, type FitPosition } from '../../../src/trainer/fit-position.js';
import { PARENT_FILE, fitCycles, laddered, planRun, plannedIterations, runArgs, trainingInput } from '../../../src/trainer/run-plan.js';

/** The trainer tests' small Cu/Ni config (test/process/trainer/helpers.ts), without the helpers' files and processes. */
const SMALL: PacemakerTrainerConfigInput = {
  elements: ['Cu', 'Ni'],
  cutoff: 5.0,
  order: 2,
  functions_per_element: 5,
  max_epochs: 20,
  evaluator: 'pyace',
  test_size: 0,
};

const data = { trainPath: '/data/train.pckl.gzip', testPath: '/data/test.pckl.gzip', sha256: 'x' };

test('a run from scratch fits the whole generation on the data files with the batch size it is given', () => {
  const config = PacemakerTrainerConfig.parse({ ...SMALL, batch_size: 10 });
  const plan = planRun(config, data, { mode: null, checkpoint: null, batchSize: 4 });
  assert.deepEqual([plan.kind, plan.args, plan.maxiter, plan.offset, plan.start, plan.ladder, plan.resumeFitCycles, plan.completes], ['fresh', [], 20, 0, START_POSITION, false, 0, true]);
  assert.deepEqual(plan.input.data.filename, '/data/train.pckl.gzip');
  assert.equal(plan.input.data.test_filename, '/data/test.pckl.gzip');
  assert.equal(plan.input.backend.batch_size, 4);
  assert.equal(plan.input.fit.maxiter, 20);
  assert.equal(plan.input.data.reference_energy, 'auto');
  assert.deepEqual(runArgs(plan), ['input.yaml', '-o', 'output_potential.yaml', '-l', 'log.txt']);
  assert.deepEqual(trainingInput(config, data), { ...plan.input, backend: { ...plan.input.backend, batch_size: 10 } }, 'the configured batch size by default');
});

test('a fine-tune starts from the parent copy: continue with -p and no ladder, extend with a ladder, reset refits the shape', () => {
  const config = PacemakerTrainerConfig.parse({ ...SMALL, input: { fit: { ladder_step: 2 } } });
  const cont = planRun(config, data, { mode: 'continue', checkpoint: null, batchSize: 10 });
  assert.deepEqual([cont.kind, cont.args, cont.ladder], ['fine-tune', ['-p', PARENT_FILE], false]);
  assert.equal(cont.input.fit.ladder_step, undefined, 'no ladder_step with -p (upstream issue #39)');
  assert.deepEqual(runArgs(cont).slice(-2), ['-p', 'initial_potential.yaml']);
  const ext = planRun(PacemakerTrainerConfig.parse(SMALL), data, { mode: 'extend', checkpoint: null, batchSize: 10 });
  assert.deepEqual([ext.kind, ext.args, ext.ladder, ext.input.potential.initial_potential, ext.input.fit.ladder_step], ['fine-tune', [], true, PARENT_FILE, [10, 0.02]]);
  const reset = planRun(config, data, { mode: 'reset', checkpoint: null, batchSize: 10 });
  assert.deepEqual([reset.args, reset.input.potential, reset.ladder], [[], { filename: PARENT_FILE, reset: true }, false]);
});

test("the reference energies of the potential a run starts from are kept, except by a reset and when the config gives its own", () => {
  const referenceEnergy = { Cu: -0.5, Ni: -0.7 };
  const config = PacemakerTrainerConfig.parse(SMALL);
  const energies = (mode: 'continue' | 'extend' | 'reset' | null, checkpoint: FitCheckpoint | null = null) =>
    planRun(config, data, { mode, checkpoint, batchSize: 10, referenceEnergy }).input.data.reference_energy;
  assert.deepEqual(energies('continue'), referenceEnergy);
  assert.deepEqual(energies('extend'), referenceEnergy);
  assert.equal(energies('reset'), 'auto');
  assert.equal(energies(null), 'auto', 'a fit from scratch has no potential to keep them from');
  const resumed = { path: '/g/checkpoint_potential.yaml', sha256: 'y', iteration: 3, runKey: 'k', batchSize: 10 };
  assert.deepEqual(energies(null, resumed), referenceEnergy, 'a resume keeps the energy scale of its checkpoint');
  const given = PacemakerTrainerConfig.parse({ ...SMALL, reference_energy: { Cu: -1, Ni: -2 } });
  assert.deepEqual(planRun(given, data, { mode: 'continue', checkpoint: null, batchSize: 10, referenceEnergy }).input.data.reference_energy, { Cu: -1, Ni: -2 });
});

test('fit cycles, ladders and the planned iterations come from the config and the fine-tune mode', () => {
  const plain = PacemakerTrainerConfig.parse(SMALL);
  const cycled = PacemakerTrainerConfig.parse({ ...SMALL, max_epochs: 6, input: { fit: { fit_cycles: 3, ladder_step: 1 } } });
  assert.deepEqual([fitCycles(plain), fitCycles(cycled)], [1, 3]);
  assert.deepEqual([laddered(plain, null), laddered(plain, 'extend'), laddered(cycled, null), laddered(cycled, 'continue'), laddered(cycled, 'reset')], [false, true, true, false, false]);
  assert.deepEqual([plannedIterations(plain, 1), plannedIterations(cycled, 2)], [20, 36]);
});

test('from each place in a fit with a ladder and 2 fit cycles, planRun runs the rest: the cycle, the cycles, the steps', () => {
  const config = PacemakerTrainerConfig.parse({ ...SMALL, max_epochs: 5, input: { fit: { fit_cycles: 2, ladder_step: 1 } } });
  const data = { trainPath: '/data/train.pckl.gzip', testPath: null, sha256: 'x' };
  const cp = (iteration: number, position: Partial<FitPosition> | null): FitCheckpoint => ({
    path: '/x/checkpoint_potential.yaml',
    sha256: 'y',
    iteration,
    runKey: 'k',
    batchSize: 10,
    ...(position ? { position: { ...START_POSITION, basisFunctions: 12, targetFunctions: 16, ...position } } : {}),
  });
  const plan = (checkpoint: FitCheckpoint | null) => planRun(config, data, { mode: 'extend', checkpoint, batchSize: 10 });
  const fit = (p: ReturnType<typeof plan>) => p.input.fit;

  const first = plan(null);
  assert.deepEqual([first.kind, first.completes, first.input.potential.initial_potential, fit(first).ladder_step], ['fine-tune', true, 'initial_potential.yaml', 1]);

  // Killed after iteration 3 of cycle 1 of ladder step 1: the rest of cycle 1, with -p, no ladder.
  const a = plan(cp(13, { ladderStep: 1, cycle: 1, cycleIteration: 3 }));
  assert.deepEqual([a.kind, a.args, a.maxiter, a.resumeFitCycles, fit(a).fit_cycles, fit(a).ladder_step, a.completes], ['finish-cycle', ['-p', 'resume_potential.yaml'], 2, 1, 2, undefined, false]);
  assert.equal(a.input.potential.initial_potential, undefined);
  // Cycle 0 of step 1 ended: cycle 1 in full, still without the ladder.
  const b = plan(cp(15, { ladderStep: 1, cycle: 0, cycleIteration: 5, stage: 'cycle-done' }));
  assert.deepEqual([b.kind, b.maxiter, b.resumeFitCycles, fit(b).fit_cycles, b.start.cycle, b.completes], ['next-cycles', 5, 1, 2, 1, false]);
  // Step 1 ended (its last cycle, or its ladder-step file): the ladder goes on from it.
  for (const ended of [cp(20, { ladderStep: 1, cycle: 1, cycleIteration: 5, stage: 'cycle-done' }), cp(20, { ladderStep: 1, cycle: 1, stage: 'step-done' })]) {
    const c = plan(ended);
    assert.deepEqual([c.kind, c.args, c.maxiter, c.resumeFitCycles, fit(c).fit_cycles, fit(c).ladder_step, c.start.ladderStep, c.completes], ['next-steps', [], 5, 0, 2, 1, 2, true]);
    assert.equal(c.input.potential.initial_potential, 'resume_potential.yaml');
  }
  // A cycle that stopped early (convergence, early stopping) is ended too.
  assert.equal(plan(cp(12, { ladderStep: 1, cycle: 0, cycleIteration: 2, stage: 'cycle-done' })).kind, 'next-cycles');
  // Everything fitted, no output yet: one iteration for pacemaker's outputs.
  const d = plan(cp(30, { ladderStep: 2, cycle: 1, stage: 'step-done', basisFunctions: 16 }));
  assert.deepEqual([d.kind, d.maxiter, d.resumeFitCycles, d.completes], ['outputs', 1, 1, true]);
  // A checkpoint written before positions were recorded: mid-cycle in cycle 0.
  const legacy = PacemakerTrainerConfig.parse({ ...SMALL, max_epochs: 20 });
  const l = planRun(legacy, data, { mode: null, checkpoint: cp(7, null), batchSize: 10 });
  assert.deepEqual([l.kind, l.maxiter, l.resumeFitCycles, (l.input.fit).fit_cycles, l.completes], ['finish-cycle', 13, 0, undefined, true]);
});
