// The loop's labeller input: an oracle names a known calculator, needs a pool to label from,
// and covers the config's elements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { elementsOutside, Labeller } from '../../../src/domain/labeller.js';
import { describeIssues } from '../../../src/domain/schemas.js';
import { ActiveLearningLoopInput } from '../../../src/domain/workflow-input.js';
import type { z } from 'zod';

function describeIssuesOf(r: { success: boolean; error?: z.ZodError }, prefix = ''): string {
  return r.error ? describeIssues(r.error, prefix) : '';
}

const base = {
  campaign: 'c',
  config: { engine: 'pacemaker', pacemaker: { elements: ['Cu', 'Ni'], cutoff: 5, order: 2, functions_per_element: 5, max_epochs: 2 } },
  maxGenerations: 2,
  labelledDir: '/tmp/l',
};

test('an oracle labeller parses with its defaults', () => {
  assert.deepEqual(Labeller.parse({ kind: 'oracle', calculator: 'emt' }), { kind: 'oracle', calculator: 'emt', secondsPerStructure: 0 });
});

test('an unknown calculator is rejected naming the field and the value', () => {
  const r = Labeller.safeParse({ kind: 'oracle', calculator: 'vasp' }, { reportInput: true });
  assert.equal(r.success, false);
  assert.match(describeIssuesOf(r), /calculator: .*"vasp"/);
});

test('a labeller without a pool is rejected: it labels what the loop selects', () => {
  const r = ActiveLearningLoopInput.safeParse({ ...base, labeller: { kind: 'oracle', calculator: 'emt' } });
  assert.equal(r.success, false);
  assert.match(describeIssuesOf(r, 'input'), /input\.labeller: a labeller labels what the loop selects from a pool/);
  const ok = ActiveLearningLoopInput.safeParse({ ...base, labeller: { kind: 'oracle', calculator: 'emt' }, pool: { path: '/p.jsonl', n: 2 } });
  assert.equal(ok.success, true);
});

test('elementsOutside names the elements the calculator cannot label', () => {
  const emt = Labeller.parse({ kind: 'oracle', calculator: 'emt' });
  assert.deepEqual(elementsOutside(emt, ['Cu', 'Ni']), []);
  assert.deepEqual(elementsOutside(emt, ['Cu', 'Fe', 'H']), ['Fe', 'H']);
});
