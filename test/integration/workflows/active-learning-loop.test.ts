// activeLearningLoopWorkflow on a real Temporal dev server: generations run as child workflows,
// each fine-tuned from the previous one, the loop continues as new and stops on its target.
// With MLIP_RECORD_HISTORIES=1 the histories are written to test/fixtures/histories (.pb) for the
// replay test (replay.test.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import proto from '@temporalio/proto';
const { temporal } = proto;
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { simulatorToolchain } from '../../../src/pacemaker/toolchain.js';
import { labelEmt } from '../../../src/dataset/emt.js';
import { startTraining } from '../../../src/client/train.js';
import { PROJECT_ROOT } from '../../../src/paths.js';
import type { TrainerConfigInput } from '../../../src/domain/schemas.js';
import type { ActiveLearningLoopInputRaw, ActiveLearningLoopResult } from '../../../src/domain/workflow-input.js';
import type { GenerationArtifact, GenerationResult } from '../../../workflows/train-potential.js';

let stack: TestStack;
let labelledDir: string;

const config: TrainerConfigInput = {
  engine: 'pacemaker',
  pacemaker: { elements: ['Cu', 'Ni'], cutoff: 5.0, order: 2, functions_per_element: 5, max_epochs: 5, evaluator: 'pyace', test_size: 0 },
};

before(async () => {
  stack = await startTestStack();
  // What the labelling stage would leave behind: one folder of result files per generation.
  labelledDir = join(stack.dir, 'labelled');
  for (let g = 0; g < 3; g++) {
    const dir = join(labelledDir, `generation_00${g}`);
    await mkdir(dir, { recursive: true });
    await labelEmt({ out: join(dir, 'dft.jsonl'), count: 3, seed: 40 + g });
  }
});
after(async () => {
  await stack?.stop();
});

async function recordHistory(workflowId: string, runId: string | undefined, name: string): Promise<void> {
  if (process.env.MLIP_RECORD_HISTORIES !== '1') return;
  const history = await stack.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const dir = join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
  await mkdir(dir, { recursive: true });
  // Binary protobuf: the SDK's JSON reader (historyFromJSON) breaks on the two protobufjs
  // versions installed side by side here ("type must be a Type").
  await writeFile(join(dir, `${name}.pb`), temporal.api.history.v1.History.encode(history).finish());
  console.log(`recorded ${name}.pb`);
}

test('the loop runs three generations as child workflows, fine-tuning each from the last, continuing as new between them', async () => {
  const taskQueue = 'q-loop';
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'ws-loop'), toolchain: simulatorToolchain() });
  try {
    const input: ActiveLearningLoopInputRaw = { campaign: 'loop', config, maxGenerations: 3, labelledDir, continueAsNewEvery: 1 };
    const handle = await stack.client.workflow.start('activeLearningLoopWorkflow', { taskQueue, workflowId: 'loop-loop', args: [input] });
    const firstRunId = handle.firstExecutionRunId;
    const result = (await handle.result()) as ActiveLearningLoopResult;
    assert.equal(result.stoppedBecause, 'max-generations');
    assert.deepEqual(result.generations.map((g) => g.version), ['generation_000', 'generation_001', 'generation_002']);

    const desc = await handle.describe();
    assert.notEqual(desc.runId, firstRunId, 'continued as new');
    for (let g = 0; g < 3; g++) {
      const child = stack.client.workflow.getHandle(`train-loop-generation_00${g}`);
      const cd = await child.describe();
      assert.equal(cd.status.name, 'COMPLETED');
      assert.equal(cd.parentExecution?.workflowId, 'loop-loop', 'started as a child of the loop');
      const a = (await child.result()) as GenerationArtifact;
      assert.equal(a.parentVersion, g === 0 ? null : `generation_00${g - 1}`);
      const inputYaml = await readFile(join(a.path, '..', 'input.yaml'), 'utf8');
      assert.ok(inputYaml.length > 0);
    }
    // Each generation adds its own results: 3, 6, 9 structures.
    const last = (await stack.client.workflow.getHandle('train-loop-generation_002').result()) as GenerationArtifact;
    assert.ok(last.metrics.train.iterations > 0);

    await recordHistory('loop-loop', firstRunId, 'active-learning-loop-first-run');
    await recordHistory('train-loop-generation_001', undefined, 'train-potential-fine-tune');
  } finally {
    await w.stop();
  }
});

test('the loop stops at the first generation whose force RMSE reaches the target', async () => {
  const taskQueue = 'q-loop-target';
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'ws-loop-target'), toolchain: simulatorToolchain() });
  try {
    const input: ActiveLearningLoopInputRaw = { campaign: 'target', config, maxGenerations: 3, labelledDir, targetForceRmse: 1e9 };
    const result = (await stack.client.workflow.execute('activeLearningLoopWorkflow', { taskQueue, workflowId: 'loop-target', args: [input] })) as ActiveLearningLoopResult;
    assert.equal(result.stoppedBecause, 'target-reached');
    assert.equal(result.generations.length, 1);
    assert.match(result.lastPotentialYaml ?? '', /generation_000\/output_potential\.yaml$/);
  } finally {
    await w.stop();
  }
});

test('a loop whose labelled results are missing fails with BadInput naming the folder', async () => {
  const taskQueue = 'q-loop-missing';
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'ws-loop-missing'), toolchain: simulatorToolchain() });
  try {
    const empty = join(stack.dir, 'labelled-empty');
    await mkdir(join(empty, 'generation_000'), { recursive: true });
    await copyFile(join(labelledDir, 'generation_000', 'dft.jsonl'), join(empty, 'generation_000', 'dft.jsonl'));
    const input: ActiveLearningLoopInputRaw = { campaign: 'missing', config, maxGenerations: 2, labelledDir: empty };
    await assert.rejects(
      stack.client.workflow.execute('activeLearningLoopWorkflow', { taskQueue, workflowId: 'loop-missing', args: [input] }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const cause = err.cause as { cause?: { type?: string; message?: string } };
        assert.equal(cause.cause?.type, 'BadInput');
        assert.match(cause.cause?.message ?? '', /generation_001/);
        return true;
      },
    );
    // The generation that had results was trained and stays.
    assert.equal((await stack.client.workflow.getHandle('train-missing-generation_000').describe()).status.name, 'COMPLETED');
  } finally {
    await w.stop();
  }
});

test('with a pool and nothing labelled yet, the first generation only selects and the next trains from scratch', async () => {
  const taskQueue = 'q-loop-pool';
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'ws-loop-pool'), toolchain: simulatorToolchain() });
  try {
    // The start of a campaign: candidates, and no labelled folder for generation 0 yet; the
    // labelling stage then leaves results for generation 1.
    const fresh = join(stack.dir, 'labelled-fresh');
    await mkdir(join(fresh, 'generation_001'), { recursive: true });
    await copyFile(join(labelledDir, 'generation_000', 'dft.jsonl'), join(fresh, 'generation_001', 'dft.jsonl'));
    const pool = join(stack.dir, 'loop-pool.jsonl');
    await labelEmt({ out: pool, count: 10, seed: 77 });
    const input: ActiveLearningLoopInputRaw = { campaign: 'pool', config, maxGenerations: 2, labelledDir: fresh, pool: { path: pool, n: 2, memoryLimit: '2GB' } };
    const result = (await stack.client.workflow.execute('activeLearningLoopWorkflow', { taskQueue, workflowId: 'loop-pool', args: [input] })) as ActiveLearningLoopResult;
    assert.equal(result.stoppedBecause, 'max-generations');
    assert.equal(result.generations.length, 2);
    const [first, second] = result.generations;
    assert.equal(first?.version, 'generation_000');
    assert.equal(first?.path, null, 'nothing trained in generation 0');
    assert.equal(first?.forceRmse, null);
    assert.match(first?.selected ?? '', /selected\.pckl\.gzip$/);
    assert.match(second?.path ?? '', /generation_001\/output_potential\.yace$/);
    assert.match(result.lastPotentialYaml ?? '', /generation_001\/output_potential\.yaml$/);

    const g0 = (await stack.client.workflow.getHandle('train-pool-generation_000').result()) as GenerationResult;
    assert.equal(g0.kind, 'selection-only');
    const g1 = (await stack.client.workflow.getHandle('train-pool-generation_001').result()) as GenerationArtifact;
    assert.equal(g1.kind, 'potential');
    assert.equal(g1.parentVersion, null, 'trained from scratch: generation 0 left nothing to fine-tune from');
    const starts = (await readFile(join(g1.path, '..', 'runs.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; args?: string[] })
      .filter((r) => r.event === 'start');
    assert.ok(starts.length > 0);
    assert.ok(starts.every((r) => r.args !== undefined && !r.args.includes('-p')), 'pacemaker ran without -p');
    assert.equal(g1.selection?.potential, g1.potentialYaml, 'generation 1 selects with its own potential');
    assert.equal(second?.selected, g1.selection?.selected.path);
    // A trained generation with a pool, in today's order (pool check first, selection last).
    await recordHistory('train-pool-generation_001', undefined, 'train-potential-with-pool');
  } finally {
    await w.stop();
  }
});

test('a loop that starts from a potential has trained before: with a pool, a missing labelled folder is still BadInput, not a selection-only generation', async () => {
  const taskQueue = 'q-loop-pool-from-potential';
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'ws-loop-pool-ip'), toolchain: simulatorToolchain() });
  try {
    const pool = join(stack.dir, 'loop-pool-ip.jsonl');
    await labelEmt({ out: pool, count: 4, seed: 78 });
    const input: ActiveLearningLoopInputRaw = {
      campaign: 'pool-ip',
      config,
      maxGenerations: 1,
      labelledDir: join(stack.dir, 'labelled-none'),
      pool: { path: pool, n: 2, memoryLimit: '2GB' },
      initialPotential: join(stack.dir, 'earlier', 'output_potential.yaml'),
    };
    await assert.rejects(
      stack.client.workflow.execute('activeLearningLoopWorkflow', { taskQueue, workflowId: 'loop-pool-ip', args: [input] }),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        const cause = err.cause as { cause?: { type?: string; message?: string } };
        assert.equal(cause.cause?.type, 'BadInput');
        assert.match(cause.cause?.message ?? '', /labelledDir: no prepared results for generation_000/);
        return true;
      },
    );
  } finally {
    await w.stop();
  }
});

test('a single generation started by a client is recorded for the replay test too', async () => {
  const taskQueue = 'q-record';
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'ws-record'), toolchain: simulatorToolchain() });
  try {
    const handle = await startTraining(stack.client, { campaign: 'record', generation: 0, config, results: [join(labelledDir, 'generation_000', 'dft.jsonl')] }, taskQueue);
    const a = (await handle.result()) as GenerationArtifact;
    assert.equal(a.version, 'generation_000');
    await recordHistory(handle.workflowId, undefined, 'train-potential-generation-0');
  } finally {
    await w.stop();
  }
});
