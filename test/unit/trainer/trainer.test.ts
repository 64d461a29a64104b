// The start of a generation as the workflow input gives it (initialPotential, fineTune): pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadInputError } from '../../../src/errors.js';
import { initialPotentialOf } from '../../../src/trainer/trainer.js';

test('a generation starts from scratch, or from a parent with continue unless another fine-tune mode is given; a mode without a parent is bad input', () => {
  assert.equal(initialPotentialOf(null), null);
  assert.deepEqual(initialPotentialOf('/g/output_potential.yaml'), { path: '/g/output_potential.yaml', mode: 'continue' });
  assert.deepEqual(initialPotentialOf('/g/output_potential.yaml', 'reset'), { path: '/g/output_potential.yaml', mode: 'reset' });
  assert.throws(
    () => initialPotentialOf(null, 'extend'),
    (err: unknown) => err instanceof BadInputError && !err.retryable && /fineTune: "extend" needs an initialPotential/.test(err.message),
  );
});
