// What status and watch print for a running fit: an ETA while lines come, "no progress" while
// the fit is silent for longer than ordinary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProgress } from '../../../src/cli/progress.js';
import { INITIAL_PROGRESS, type TrainingProgress } from '../../../src/domain/progress.js';

const running: TrainingProgress = { ...INITIAL_PROGRESS, stage: 'training', iteration: 9, maxiter: 60, loss: 0.01, energyRmse: 2, forceRmse: 30, secondsPerIteration: 0.5, etaSeconds: 25.5 };

test('a fit that logs shows its ETA', () => {
  assert.equal(formatProgress(running), 'training: iteration 9/60 loss 0.01000 E 2.0 meV/at F 30 meV/Å ETA 26 s');
});

test('a silent fit shows how long it has made no progress, and when the watchdog will stop it, instead of a stale ETA', () => {
  const silent = { ...running, silentSeconds: 14 * 60, stallLimitSeconds: 30 * 60 };
  assert.equal(formatProgress(silent), 'training: iteration 9/60 loss 0.01000 E 2.0 meV/at F 30 meV/Å no progress for 14 min (stalled after 30 min)');
  assert.equal(formatProgress({ ...INITIAL_PROGRESS, stage: 'training', silentSeconds: 40 }), 'stage: training, no progress for 40 s');
});
