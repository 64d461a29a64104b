// What `status` says about a retried activity's last failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failureMessage } from '../../../src/client/generations.js';

test("a failure the server cut for its size is shown by its cause's message, which says what happened", () => {
  const own = { message: 'pacemaker stalled: no output for 31 min (limit 30 min), so its process group was killed; last line: "..."' };
  assert.equal(failureMessage({ message: 'Failure exceeds size limit.', cause: own }), own.message);
  assert.equal(failureMessage(own), own.message);
  assert.equal(failureMessage({ message: 'Failure exceeds size limit.' }), 'Failure exceeds size limit.');
  assert.equal(failureMessage(null), null);
});
