import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIterationParser, parseIterationLine, parseMetricsTable, recogniseFailure } from '../../../src/domain/pacemaker-log.js';
import { advanceProgress, INITIAL_PROGRESS } from '../../../src/domain/progress.js';

// Copied from a real pacemaker run (see shared/reference/pacemaker.md).
const REAL =
  '2026-11-30 04:44:45,637 I - Iteration   #1    (454 evals):      Loss: 2.0918e-01 | RMSE Energy(low): 129.61 (129.61) meV/at | Forces(low): 468.36 (468.36) meV/A | Time/eval: 118.99 mcs/at';

test("pacemaker's iteration line parses into loss and RMSE", () => {
  assert.deepEqual(parseIterationLine(REAL), {
    iteration: 1,
    evals: 454,
    loss: 0.20918,
    energyRmseMevPerAtom: 129.61,
    energyRmseLowMevPerAtom: 129.61,
    forceRmseMevPerA: 468.36,
    forceRmseLowMevPerA: 468.36,
    timePerEvalMicrosPerAtom: 118.99,
  });
});

test('other log lines are not iterations', () => {
  assert.equal(parseIterationLine('2026-11-30 04:44:45,637 I - Loading dataset'), null);
  assert.equal(parseIterationLine(''), null);
});

test('progress: ETA from the time per iteration so far', () => {
  const it = parseIterationLine(REAL.replace('#1 ', '#5 '))!;
  const p = advanceProgress(INITIAL_PROGRESS, it, 20, 10);
  assert.equal(p.iteration, 5);
  assert.equal(p.secondsPerIteration, 2);
  assert.equal(p.etaSeconds, 30);
});

test('metrics tables parse by header', () => {
  const rows = parseMetricsTable('ladder_step cycle_step iter_num loss rmse_epa rmse_f_comp\n0 0 1 0.5 0.01 0.2\n0 0 2 0.25 0.005 0.1\n');
  assert.equal(rows.length, 2);
  assert.equal(rows[1]!.rmse_epa, 0.005);
  assert.equal(rows[1]!.iter_num, 2);
});

test('known failures are recognised by their log', () => {
  assert.equal(recogniseFailure('tensorflow.python.framework.errors_impl.ResourceExhaustedError: OOM when allocating tensor')?.kind, 'OutOfMemory');
  assert.equal(recogniseFailure("AttributeError: 'NoneType' object has no attribute 'get'")?.kind, 'MissingSection');
  assert.equal(recogniseFailure('all good'), null);
});

test('the traps of the reference page and of the real runs are recognised by name', () => {
  // Verbatim last stderr lines of real pacemaker 0.2.7+172 runs (PACEMAKER_OBSERVED.md).
  const cases: [string, string, boolean][] = [
    ["ValueError: Couldn't combine `initial_potential` setting with non-dictionary `potential` setting", 'PotentialAndInitialPotential', false],
    ["ValueError: No 'cutoff' provided in YAML file, please specify it", 'MissingCutoff', false],
    ["AttributeError: 'Namespace' object has no attribute 'query_data'", 'MissingSection', false],
    ["ValueError: Neither 'energy_corrected' column nor 'data::reference_energy' option provided", 'MissingReferenceEnergy', false],
    ['W - Number of finished fit cycles (1) >= number of expected fit cycles (1). Use another potential', 'BestCycleRestart', false],
    ["ValueError: `bbasisconfig` couldn't be None for FitAdapter.setup_backend_for_predict", 'BestCycleRestart', false],
    ["FileNotFoundError: [Errno 2] No such file or directory: 'nonexist.yaml'", 'MissingFile', false],
    ['ValueError: Unsupported file type', 'UnsupportedDataFile', false],
    ['pyace.generalfit.TestLossChangeTooSmallException: EARLY STOPPING: Too small', 'EarlyStoppingCrash', false],
    ['I - EARLY STOPPING: Too small or even positive TRAIN loss change\nTraceback (most recent call last):', 'EarlyStoppingCrash', false],
    ['MemoryError', 'OutOfMemory', true],
  ];
  for (const [tail, kind, retryable] of cases) {
    const f = recogniseFailure(tail);
    assert.equal(f?.kind, kind, tail);
    assert.equal(f?.retryable, retryable, tail);
  }
  // Early stopping that worked (scipy 1.11.4: exit 0) is no failure.
  assert.equal(recogniseFailure('I - EARLY STOPPING: Too small or even positive TRAIN loss change (best=-2.35e-02  / iter) Stopping'), null);
});

// Verbatim from a real pacemaker 0.2.7+172 run with display_step: 2 (stderr).
const FIT_STATS_BLOCK = `2026/11/30 05:05:52 I - 
--------------------------------------------FIT STATS--------------------------------------------
Iteration:  #2   Loss:    Total:  3.8892e-01 (100%) 
                         Energy:  1.3406e-02 (  3%) 
                          Force:  3.7552e-01 ( 97%) 
Number of params./funcs:     51/20                                   Avg. time:     125.51 mcs/at
-------------------------------------------------------------------------------------------------
           Energy/at, meV/at   Energy_low/at, meV/at      Force, meV/A        Force_low, meV/A   
   RMSE:          138.39               138.39               645.94                  645.94
    MAE:          103.25               103.25               451.83                  451.83
 MAX_AE:          436.97               436.97              3358.18                 3358.18
-------------------------------------------------------------------------------------------------
2026/11/30 05:05:53 I - Iteration   #3    (261 evals):      Loss: 3.7977e-01 | RMSE Energy(low): 405.57 (405.57) meV/at | Forces(low): 542.25 (542.25) meV/A | Time/eval: 124.19 mcs/at`;

test('display-step iterations are read from the FIT STATS block, the others from their one line', () => {
  const parse = createIterationParser();
  const got = FIT_STATS_BLOCK.split('\n').map(parse).filter((x) => x !== null);
  assert.deepEqual(
    got.map((g) => [g.iteration, g.loss, g.energyRmseMevPerAtom, g.forceRmseMevPerA]),
    [
      [2, 0.38892, 138.39, 645.94],
      [3, 0.37977, 405.57, 542.25],
    ],
  );
});
