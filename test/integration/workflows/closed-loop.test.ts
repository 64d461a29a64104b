// The closed active-learning loop on a real Temporal dev server with the simulator: the oracle
// labels each generation's selection (EMT), the dataset grows by exactly what it labelled, and
// no structure is labelled twice, also when workers are killed mid-label and mid-fit.
// With MLIP_RECORD_HISTORIES=1 the first test writes active-learning-loop-closed-oracle.pb for
// the replay test (replay.test.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import proto from '@temporalio/proto';
const { temporal } = proto;
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { until, smallConfig } from '../../helpers/wait.js';
import { simulatorToolchain } from '../../../src/pacemaker/toolchain.js';
import { labelEmt } from '../../../src/dataset/emt.js';
import { readProgress } from '../../../src/client/train.js';
import { startLoop } from '../../../src/client/loop.js';
import { PROJECT_ROOT } from '../../../src/paths.js';
import { exists } from '../../../src/util/files.js';
import type { ActiveLearningLoopInputRaw, ActiveLearningLoopResult } from '../../../src/domain/workflow-input.js';
import type { DatasetManifest } from '../../../src/dataset/replies.js';

let stack: TestStack;
let pool: string;

const N = 3;

before(async () => {
  stack = await startTestStack();
  pool = join(stack.dir, 'pool.jsonl');
  await labelEmt({ out: pool, count: 24, seed: 501 });
});
after(async () => {
  await stack?.stop();
});

/** A small labelled start set in generation_000, as a campaign begins. */
async function startSet(name: string): Promise<string> {
  const labelledDir = join(stack.dir, `labelled-${name}`);
  await mkdir(join(labelledDir, 'generation_000'), { recursive: true });
  await labelEmt({ out: join(labelledDir, 'generation_000', 'start.jsonl'), count: 4, seed: 502 });
  return labelledDir;
}

async function jsonLines<T>(file: string): Promise<T[]> {
  if (!(await exists(file))) return [];
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

interface Labelled {
  structure: { symbols: string[]; positions: number[][]; cell: number[][] };
}

/** What the oracle wrote per generation, and every structure it labelled, as one list. */
async function oracleOutputs(labelledDir: string, generations: number[]): Promise<{ perGeneration: number[]; all: string[] }> {
  const perGeneration: number[] = [];
  const all: string[] = [];
  for (const g of generations) {
    const records = await jsonLines<Labelled>(join(labelledDir, `generation_00${g}`, 'oracle-emt.jsonl'));
    perGeneration.push(records.length);
    all.push(...records.map((r) => JSON.stringify(r.structure)));
  }
  return { perGeneration, all };
}

async function recordHistory(workflowId: string, runId: string | undefined, name: string): Promise<void> {
  if (process.env.MLIP_RECORD_HISTORIES !== '1') return;
  const history = await stack.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const dir = join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
  await writeFile(join(dir, `${name}.pb`), temporal.api.history.v1.History.encode(history).finish());
  console.log(`recorded ${name}.pb`);
}

test('the closed loop labels exactly n structures per generation with the oracle, never one twice, and the dataset grows by exactly those', async () => {
  const taskQueue = 'q-closed';
  const workspaceRoot = join(stack.dir, 'ws-closed');
  const w = await stack.startWorker({ taskQueue, workspaceRoot, toolchain: simulatorToolchain() });
  try {
    const labelledDir = await startSet('closed');
    const input: ActiveLearningLoopInputRaw = {
      campaign: 'closed',
      config: smallConfig(5),
      maxGenerations: 4,
      labelledDir,
      pool: { path: pool, n: N, memoryLimit: '2GB' },
      labeller: { kind: 'oracle', calculator: 'emt' },
      continueAsNewEvery: 2,
    };
    const handle = await startLoop(stack.client, input, taskQueue);
    assert.equal(handle.workflowId, 'loop-closed');
    const result = (await handle.result()) as ActiveLearningLoopResult;
    // The Temporal UI's list line and details for the loop itself, read back through the client
    // (from the run the client started: runs after a continue-as-new do not carry them).
    const described = await stack.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    assert.equal(
      await described.staticSummary(),
      `${input.config.pacemaker.elements.join('-')} loop: up to 4 generations, select ${N} per generation from ${pool.replace(/.*\//, '')}, labelled by the emt oracle`,
    );
    const details = (await described.staticDetails()) ?? '';
    assert.match(details, /\*\*Active-learning loop closed\*\*/);
    assert.ok(details.includes(`\`${labelledDir}\` (written by the emt oracle)`), details);
    assert.equal(result.stoppedBecause, 'max-generations');
    assert.deepEqual(
      result.generations.map((g) => [g.version, g.labelled ?? null]),
      [
        ['generation_000', null],
        ['generation_001', N],
        ['generation_002', N],
        ['generation_003', N],
      ],
    );
    assert.ok(result.generations.every((g) => g.path !== null && g.selected !== undefined), 'every generation trained and selected');

    // Exactly n labelled per generation, none twice (also not across generations), each calculation once.
    const { perGeneration, all } = await oracleOutputs(labelledDir, [1, 2, 3]);
    assert.deepEqual(perGeneration, [N, N, N]);
    assert.equal(new Set(all).size, all.length, 'no structure labelled twice');
    const audit = await jsonLines<{ structureHash: string }>(join(workspaceRoot, 'closed', 'labelling', 'audit.jsonl'));
    assert.equal(audit.length, 3 * N, 'one calculation per labelled structure');
    assert.equal(new Set(audit.map((a) => a.structureHash)).size, audit.length);

    // The pool shrinks by what was labelled: each generation selected from the rest.
    assert.deepEqual(
      result.generations.slice(1).map((g) => g.pool?.replace(/.*\//, '')),
      ['pool-generation_001.pckl.gzip', 'pool-generation_002.pckl.gzip', 'pool-generation_003.pckl.gzip'],
    );

    // The dataset grew by the start set, then by exactly what the oracle labelled.
    const manifest = JSON.parse(await readFile(join(workspaceRoot, 'closed', 'data', 'manifest.json'), 'utf8')) as DatasetManifest;
    assert.deepEqual(
      manifest.history.map((h) => [h.generation, h.added, h.duplicates]),
      [
        [0, 4, 0],
        [1, N, 0],
        [2, N, 0],
        [3, N, 0],
      ],
    );
    assert.equal(manifest.total, 4 + 3 * N);

    // Each generation fine-tuned from the one before.
    for (let g = 1; g < 4; g++) {
      const child = (await stack.client.workflow.getHandle(`train-closed-generation_00${g}`).result()) as { parentVersion: string | null };
      assert.equal(child.parentVersion, `generation_00${g - 1}`);
    }
    await recordHistory('loop-closed', handle.firstExecutionRunId, 'active-learning-loop-closed-oracle');
  } finally {
    await w.stop();
  }
});

test('workers killed mid-label and mid-fit: the loop completes and nothing is labelled twice', async () => {
  const taskQueue = 'q-closed-kill';
  const workspaceRoot = join(stack.dir, 'ws-closed-kill');
  const labelledDir = await startSet('kill');
  const audit = join(workspaceRoot, 'kill', 'labelling', 'audit.jsonl');
  // Slow simulated iterations and a slow oracle: both are still running when their worker dies.
  const env = { PACEMAKER_SIM_ITER_SECONDS: '0.3' };
  const first = await stack.spawnWorkerProcess({ taskQueue, workspaceRoot, env, logName: 'closed-worker-1' });
  const input: ActiveLearningLoopInputRaw = {
    campaign: 'kill',
    config: smallConfig(12),
    maxGenerations: 3,
    labelledDir,
    pool: { path: pool, n: N, memoryLimit: '2GB' },
    labeller: { kind: 'oracle', calculator: 'emt', secondsPerStructure: 1 },
    tuning: { heartbeatTimeoutSeconds: 4 },
  };
  const handle = await stack.client.workflow.start('activeLearningLoopWorkflow', { taskQueue, workflowId: 'loop-closed-kill', args: [input] });

  // Mid-label: the oracle has labelled one structure of generation 1's three.
  await until('the oracle labelling generation 1', async () => (await jsonLines(audit)).length >= 1, 120_000);
  const kill = async (child: typeof first) => {
    process.kill(child.pid!, 'SIGKILL');
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
  };
  await kill(first);
  const labelledBeforeKill = (await jsonLines(audit)).length;
  assert.ok(labelledBeforeKill < N, `killed mid-label (${labelledBeforeKill} of ${N} labelled)`);

  // Mid-fit: generation 2's fit is iterating.
  const second = await stack.spawnWorkerProcess({ taskQueue, workspaceRoot, env, logName: 'closed-worker-2' });
  const fit = stack.client.workflow.getHandle('train-kill-generation_002');
  await until('generation 2 fitting', async () => ((await readProgress(fit))?.iteration ?? 0) >= 2, 180_000);
  await kill(second);

  const third = await stack.spawnWorkerProcess({ taskQueue, workspaceRoot, env, logName: 'closed-worker-3' });
  try {
    const result = (await handle.result()) as ActiveLearningLoopResult;
    assert.equal(result.stoppedBecause, 'max-generations');
    assert.deepEqual(
      result.generations.map((g) => g.labelled ?? null),
      [null, N, N],
    );
    const { perGeneration, all } = await oracleOutputs(labelledDir, [1, 2]);
    assert.deepEqual(perGeneration, [N, N]);
    assert.equal(new Set(all).size, all.length, 'no structure labelled twice');
    const calculations = await jsonLines<{ structureHash: string }>(audit);
    assert.equal(calculations.length, 2 * N, 'no calculation repeated after the kills');
    assert.equal(new Set(calculations.map((a) => a.structureHash)).size, calculations.length);
    const manifest = JSON.parse(await readFile(join(workspaceRoot, 'kill', 'data', 'manifest.json'), 'utf8')) as DatasetManifest;
    assert.equal(manifest.total, 4 + 2 * N);
  } finally {
    process.kill(third.pid!, 'SIGTERM');
  }
});
