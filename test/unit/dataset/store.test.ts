import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatasetStore } from '../../../src/dataset/store.js';
import { describeProblem } from '../../../src/process/helper.js';
import { BadInputError } from '../../../src/errors.js';

test('a bridge problem reads as file, record as numbered in that file, field, reason and value', () => {
  assert.equal(
    describeProblem({ index: 7, file: '/d/b.jsonl', record: 2, field: 'forces', value: '[[0.1, 0.2]]', reason: 'expected 2 rows, got 1 (eV/Å)' }),
    '/d/b.jsonl: results[2].forces: expected 2 rows, got 1 (eV/Å) (got [[0.1, 0.2]])',
  );
  assert.equal(describeProblem({ index: -1, field: '--test-fraction', value: '2', reason: 'expected a number in [0, 1)' }), '--test-fraction: expected a number in [0, 1) (got 2)');
});

for (const bad of [-0.1, 1, Number.NaN, 2]) {
  test(`a test fraction of ${bad} is refused naming test_size and the value`, () => {
    assert.throws(
      () => new DatasetStore('/tmp/x/data/accumulated.pckl.gzip', { python: 'python3' }, { testFraction: bad }),
      (err: Error) => err instanceof BadInputError && err.message === `test_size: expected a fraction in [0, 1) (got ${String(bad)})`,
    );
  });
}

test('the manifest lives beside the dataset', () => {
  const store = new DatasetStore('/ws/cuni/data/accumulated.pckl.gzip', { python: 'python3' }, { testFraction: 0 });
  assert.equal(store.manifestPath, '/ws/cuni/data/manifest.json');
});
