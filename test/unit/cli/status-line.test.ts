// The one line `status`, `watch` and `train --wait` print for a generation's state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generationStatusLine, stallOf, statusLine } from '../../../src/cli/status-line.js';

const figures = {
  iteration: 30,
  maxiter: 60,
  loss: 0.0075631,
  energyRmse: 36,
  forceRmse: 86.2,
  etaSeconds: 33.4,
};

test('a fit in progress shows its iteration, loss, RMSE and ETA', () => {
  assert.equal(
    statusLine({ stage: 'training', progress: figures }),
    'training: iteration 30/60 loss 0.007563 E 36 meV/at F 86 meV/Å ETA 33 s',
  );
});

test('a stall replaces the ETA with how long the fit has made no progress, and the watchdog limit', () => {
  const line = statusLine({
    stage: 'training',
    progress: figures,
    stall: { silentSeconds: 14 * 60 + 5, limitSeconds: 30 * 60 },
  });
  assert.match(line, /F 86 meV\/Å no progress for 14 min \(stalled after 30 min\)$/);
  assert.doesNotMatch(line, /ETA/);
  assert.equal(
    statusLine({ stage: 'updating-dataset', stall: { silentSeconds: 95 } }),
    'stage: updating-dataset, no progress for 95 s',
  );
});

test('the stall state comes from the heartbeat fields when they are set, and is absent otherwise', () => {
  assert.deepEqual(stallOf({ silentSeconds: 600, stallLimitSeconds: 1800 }), {
    silentSeconds: 600,
    limitSeconds: 1800,
  });
  assert.equal(stallOf({ silentSeconds: null }), null);
  assert.equal(stallOf({}), null);
  assert.equal(stallOf(null), null);
});

test('a retried activity adds its attempt and the first line of its last failure; attempt 1 adds nothing', () => {
  const retry = {
    activity: 'trainPotential',
    attempt: 3,
    lastFailure: 'pacemaker exited with code 137\nstack…',
  };
  assert.equal(
    statusLine({ stage: 'training', retry }),
    'stage: training · retrying trainPotential: attempt 3, last failure: pacemaker exited with code 137',
  );
  assert.equal(
    statusLine({ stage: 'training', retry: { ...retry, attempt: 1 } }),
    'stage: training',
  );
  assert.equal(
    statusLine({ stage: 'training', progress: figures, stopRequested: true }).split(' · ')[1],
    'stop requested',
  );
});

test('status prints one line: id, status and stage, progress, stall or retry, and the headline RMSE', () => {
  assert.equal(
    generationStatusLine({
      workflowId: 'train-cu-generation_001',
      status: 'RUNNING',
      stage: 'training',
      progress: { ...figures, silentSeconds: 300, stallLimitSeconds: null },
    }),
    'train-cu-generation_001: RUNNING (stage training) · training: iteration 30/60 loss 0.007563 E 36 meV/at F 86 meV/Å no progress for 5 min',
  );
  assert.equal(
    generationStatusLine({
      workflowId: 'w',
      status: 'RUNNING',
      stage: 'updating-dataset',
      progress: null,
      retry: { activity: 'updateDataset', attempt: 2, lastFailure: null },
    }),
    'w: RUNNING (stage updating-dataset) · retrying updateDataset: attempt 2',
  );
  assert.equal(
    generationStatusLine({
      workflowId: 'w',
      status: 'COMPLETED',
      stage: 'done',
      progress: { ...figures },
      testForceRmse: 12.345,
    }),
    'w: COMPLETED (stage done) · F 12.35 meV/Å',
  );
});

test('figures show only while training (a last heartbeat is stale after it), and large RMSE reads as a whole number', () => {
  assert.equal(statusLine({ stage: 'active-set', progress: figures }), 'stage: active-set');
  assert.match(
    statusLine({ stage: 'training', progress: { ...figures, forceRmse: 523.4 } }),
    / F 523 meV\/Å /,
  );
});
