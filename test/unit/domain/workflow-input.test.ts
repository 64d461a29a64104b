import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ActiveLearningLoopInput, TrainPotentialWorkflowInput, headlineForceRmse, resolveTaskQueues } from '../../../src/domain/workflow-input.js';
import { describeIssues } from '../../../src/domain/schemas.js';
import { isSelectionOnly, type GenerationResult } from '../../../src/domain/generation-result.js';

const base = { campaign: 'c', generation: 0, config: { engine: 'pacemaker', pacemaker: { elements: ['Cu'], cutoff: 5 } } };

test('task queues derive from the workflow queue: data on it, training on <queue>-training', () => {
  assert.deepEqual(resolveTaskQueues('mlip', undefined), { data: 'mlip', training: 'mlip-training' });
  assert.deepEqual(resolveTaskQueues('mlip', { data: 'cpu' }), { data: 'cpu', training: 'cpu-training' });
  assert.deepEqual(resolveTaskQueues('mlip', { data: 'gpu07', training: 'gpu07' }), { data: 'gpu07', training: 'gpu07' });
  assert.deepEqual(resolveTaskQueues('mlip', { training: 'gpu' }), { data: 'mlip', training: 'gpu' });
});

test('the workflow input defaults its tuning for days-long fits and stays strict', () => {
  const parsed = TrainPotentialWorkflowInput.parse(base);
  assert.equal(parsed.tuning.heartbeatTimeoutSeconds, 120);
  assert.equal(parsed.tuning.trainingTimeoutSeconds, 7 * 24 * 3600);
  const bad = TrainPotentialWorkflowInput.safeParse({ ...base, tuning: { heartbeatTimeoutSeconds: 0 }, extra: 1 }, { reportInput: true });
  assert.equal(bad.success, false);
  const msg = describeIssues(bad.error, 'input');
  assert.match(msg, /input\.tuning\.heartbeatTimeoutSeconds: .*\(got 0\)/);
  assert.match(msg, /extra/);
});

test('the loop input names a bad target and a missing labelled folder', () => {
  const bad = ActiveLearningLoopInput.safeParse({ campaign: 'c', config: base.config, maxGenerations: 0, targetForceRmse: -5 }, { reportInput: true });
  assert.equal(bad.success, false);
  const msg = describeIssues(bad.error, 'input');
  assert.match(msg, /input\.maxGenerations: .*\(got 0\)/);
  assert.match(msg, /input\.targetForceRmse: .*\(got -5\)/);
  assert.match(msg, /input\.labelledDir/);
});

test('the loop input carries selection-only generations (no potential) and adds no pool key when none is given', () => {
  const loop = { campaign: 'c', config: base.config, maxGenerations: 2, labelledDir: '/l' };
  const parsed = ActiveLearningLoopInput.parse({
    ...loop,
    history: [
      { version: 'generation_000', forceRmse: null, path: null, selected: '/w/c/selections/generation_000/selected.pckl.gzip' },
      { version: 'generation_001', forceRmse: 12.5, path: '/w/c/potentials/generation_001/output_potential.yace' },
    ],
  });
  assert.equal(parsed.history[0]?.path, null);
  assert.equal('pool' in ActiveLearningLoopInput.parse(loop), false, 'continue-as-new input of a loop without a pool stays as it was');
  assert.equal(ActiveLearningLoopInput.parse({ ...loop, pool: { path: '/p.jsonl', n: 5 } }).pool?.memoryLimit, '8GB');
});

test("the pool's selection options default to no random share and no thresholds, and bad ones name pool.<field> and the value", () => {
  const parsed = TrainPotentialWorkflowInput.parse({ ...base, pool: { path: '/p.jsonl', n: 5 } });
  assert.equal(parsed.pool?.randomFraction, 0);
  assert.equal(parsed.pool?.gammaMin, undefined);
  assert.equal(parsed.pool?.gammaMax, undefined);
  const ok = TrainPotentialWorkflowInput.parse({ ...base, pool: { path: '/p.jsonl', n: 5, randomFraction: 0.25, gammaMin: 1.5, gammaMax: 10, seed: 3 } });
  assert.deepEqual([ok.pool?.randomFraction, ok.pool?.gammaMin, ok.pool?.gammaMax, ok.pool?.seed], [0.25, 1.5, 10, 3]);
  for (const [pool, expected] of [
    [{ randomFraction: 1 }, /input\.pool\.randomFraction: must be within \[0, 1\) \(got 1\)/],
    [{ randomFraction: '0.5' }, /input\.pool\.randomFraction: /],
    [{ gammaMax: -2 }, /input\.pool\.gammaMax: must be a finite number >= 0 \(got -2\)/],
    [{ gammaMin: 5, gammaMax: 2 }, /input\.pool\.gammaMin: must be below gammaMax \(2\); got 5/],
    [{ seed: 1.5 }, /input\.pool\.seed: /],
    [{ gammaCap: 3 }, /gammaCap/],
  ] as const) {
    const bad = TrainPotentialWorkflowInput.safeParse({ ...base, pool: { path: '/p.jsonl', n: 5, ...pool } }, { reportInput: true });
    assert.equal(bad.success, false, JSON.stringify(pool));
    assert.match(describeIssues(bad.error, 'input'), expected);
  }
});

test('isSelectionOnly tells a selection-only result from an artifact, including artifacts without a kind', () => {
  const artifact = { path: '/x.yace', version: 'generation_001' } as unknown as GenerationResult;
  assert.equal(isSelectionOnly(artifact), false);
  assert.equal(isSelectionOnly({ ...artifact, kind: 'potential' } as GenerationResult), false);
  assert.equal(isSelectionOnly({ kind: 'selection-only', version: 'generation_000' } as GenerationResult), true);
});

test('the headline force RMSE is the test RMSE when there is a test set, else the train RMSE', () => {
  assert.equal(headlineForceRmse({ train: { force_rmse_mev_per_a: 30 }, test: { force_rmse_mev_per_a: 40 } }), 40);
  assert.equal(headlineForceRmse({ train: { force_rmse_mev_per_a: 30 }, test: null }), 30);
});
