// The queries and signals workflows and clients share: their names are on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loopProgressQuery, progressQuery, stopTrainingSignal, trainingProgressSignal } from '../../../src/domain/messages.js';

test('query and signal names stay as recorded histories, running workflows and the UI know them', () => {
  assert.deepEqual(
    [progressQuery, stopTrainingSignal, loopProgressQuery, trainingProgressSignal].map((d) => [d.type, d.name]),
    [
      ['query', 'progress'],
      ['signal', 'stopTraining'],
      ['query', 'loopProgress'],
      ['signal', 'trainingProgress'],
    ],
  );
});
