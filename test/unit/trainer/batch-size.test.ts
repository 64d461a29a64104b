// The batch size across the runs of a generation after out-of-memory exits: pure, on run records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OOM_BATCH_FLOOR, batchSizeAfterOutOfMemory, outOfMemoryAtFloor, reducedBatchSize, startingBatchSize } from '../../../src/trainer/batch-size.js';

test('an out-of-memory exit halves the batch size down to the floor, then gives up', () => {
  const tried = [10];
  for (let next = batchSizeAfterOutOfMemory(10); next !== null; next = batchSizeAfterOutOfMemory(next)) tried.push(next);
  assert.deepEqual(tried, [10, 5, 2, 1]);
  assert.equal(OOM_BATCH_FLOOR, 1);
  assert.equal(batchSizeAfterOutOfMemory(3), 1);
  assert.match(outOfMemoryAtFloor([4, 2, 1], 5, 'pacemaker exited with 1'), /backend\.batch_size 4 -> 2 -> 1 \(floor 1\); give the worker more memory or use a smaller basis \(functions_per_element 5\)\. pacemaker exited with 1$/);
});

test('a reduction recorded by earlier runs of the same inputs survives into the next start, whatever recorded it', () => {
  const runs = [
    { event: 'start' as const, run: 1, runKey: 'old', batchSize: 1 },
    { event: 'end' as const, run: 1 },
    { event: 'start' as const, run: 2, runKey: 'k', batchSize: 10 },
    { event: 'end' as const, run: 2, nextBatchSize: 5 },
    { event: 'start' as const, run: 3, runKey: 'k', batchSize: 5 },
    { event: 'end' as const, run: 3, nextBatchSize: 2 },
  ];
  assert.equal(reducedBatchSize(runs, 'k'), 2, 'the size the last out-of-memory exit cut to, before any run used it');
  assert.equal(reducedBatchSize(runs, 'old'), 1);
  assert.equal(reducedBatchSize(runs, 'other'), null, 'runs of other inputs do not count');
  assert.equal(reducedBatchSize([{ event: 'start', run: 1, runKey: 'k', batchSize: 0 }], 'k'), null, 'nonsense is ignored');
  // The configured size, cut by the checkpoint's, runs.jsonl's and the last heartbeat's, when there are any.
  assert.equal(startingBatchSize(10, [null, undefined, null]), 10);
  assert.equal(startingBatchSize(10, [5, 2, undefined]), 2);
  assert.equal(startingBatchSize(4, [8, null, 6]), 4, 'never above the configured size');
});
