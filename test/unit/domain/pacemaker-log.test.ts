import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIterationLine, parseMetricsTable, recogniseFailure } from '../../../src/domain/pacemaker-log.js';
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
