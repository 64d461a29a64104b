// The selection stage inside trainPotentialWorkflow on a real Temporal dev server: the active set
// (.asi) beside the .yace in the artifact, the under-determined case, the pool's selection in
// the result (made after training, with the new potential and its .asi), a pool without any
// labelled data (selection only, nothing trained), and bad input failing as non-retryable BadInput
// (a bad pool before anything is trained or written).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { execa } from 'execa';
import { defaultPayloadConverter } from '@temporalio/common';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { simulatorToolchain, type Toolchain } from '../../../../src/pacemaker/toolchain.js';
import { labelEmt } from '../../../../src/dataset/emt.js';
import { startTraining } from '../../../../src/client/train.js';
import { exists, sha256File } from '../../../../src/util/files.js';
import { PotentialArtifact, type TrainerConfigInput } from '../../../../src/domain/schemas.js';
import { isSelectionOnly, type GenerationResult } from '../../../../src/domain/generation-result.js';
import { campaignPath } from '../../../../activities/index.js';
import { PROJECT_ROOT } from '../../../../src/paths.js';
import { realPacemakerOrSkip } from '../../../helpers/real-pacemaker.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.stop();
});

const config = (functions: number, maxEpochs = 5): TrainerConfigInput => ({
  engine: 'pacemaker',
  pacemaker: { elements: ['Cu', 'Ni'], cutoff: 5.0, order: 2, functions_per_element: functions, max_epochs: maxEpochs, evaluator: 'pyace', test_size: 0 },
});

interface Run {
  campaign: string;
  toolchain: Toolchain;
  structures: number;
  functions: number;
  pool?: { count: number; n: number; elements?: string[]; randomFraction?: number; gammaMax?: number };
}

async function runGeneration(r: Run): Promise<PotentialArtifact> {
  return (await runGenerationWithId(r)).artifact;
}

async function runGenerationWithId(r: Run): Promise<{ artifact: PotentialArtifact; workflowId: string }> {
  const taskQueue = `q-${r.campaign}`;
  const workspaceRoot = join(stack.dir, 'workspace');
  const w = await stack.startWorker({ taskQueue, workspaceRoot, toolchain: r.toolchain });
  try {
    const results = join(stack.dir, `${r.campaign}.jsonl`);
    await labelEmt({ out: results, count: r.structures, elements: ['Cu', 'Ni'], seed: 3, python: r.toolchain.python });
    let pool = null;
    if (r.pool) {
      const path = join(stack.dir, `${r.campaign}-pool.jsonl`);
      await labelEmt({ out: path, count: r.pool.count, elements: r.pool.elements ?? ['Cu', 'Ni'], seed: 5, python: r.toolchain.python });
      const { randomFraction, gammaMax } = r.pool;
      pool = { path, n: r.pool.n, memoryLimit: '2GB', ...(randomFraction !== undefined ? { randomFraction } : {}), ...(gammaMax !== undefined ? { gammaMax } : {}) };
    }
    const handle = await startTraining(stack.client, { campaign: r.campaign, generation: 0, config: config(r.functions), results: [results], pool }, taskQueue);
    return { artifact: (await handle.result()) as PotentialArtifact, workflowId: handle.workflowId };
  } finally {
    await w.stop();
  }
}

/** From the workflow's history: the MlipStage values it upserted and the activities it scheduled, in order. */
async function stagesAndActivities(workflowId: string): Promise<{ stages: string[]; activities: string[] }> {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  const stages: string[] = [];
  const activities: string[] = [];
  for (const e of history.events ?? []) {
    const stage = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.MlipStage;
    if (stage) stages.push(defaultPayloadConverter.fromPayload<string>(stage));
    const scheduled = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (scheduled) activities.push(scheduled);
  }
  return { stages, activities };
}

async function assertActiveSetBesideYace(a: PotentialArtifact): Promise<void> {
  assert.ok(a.activeSet, `an active set (warning: ${a.activeSetWarning ?? 'none'})`);
  assert.equal(dirname(a.activeSet.path), dirname(a.path), '.asi beside the .yace');
  assert.match(a.activeSet.path, /output_potential\.asi$/);
  assert.ok((await stat(a.activeSet.path)).size > 0);
  assert.equal(await sha256File(a.activeSet.path), a.activeSet.sha256);
  assert.deepEqual(a.files['output_potential.asi'], a.activeSet);
  const onDisk = JSON.parse(await readFile(join(dirname(a.path), 'artifact.json'), 'utf8')) as PotentialArtifact;
  assert.deepEqual(onDisk.activeSet, a.activeSet, 'artifact.json on disk records it too');
  assert.equal(a.activeSetWarning, null);
}

test("after training, the .asi appears beside the .yace in the artifact, and the pool selection, with the pool's options, is in the result (simulator)", async () => {
  const toolchain = simulatorToolchain();
  const { artifact: a, workflowId } = await runGenerationWithId({ campaign: 'sel-asi', toolchain, structures: 6, functions: 5, pool: { count: 12, n: 4, randomFraction: 0.5, gammaMax: 1e6 } });
  PotentialArtifact.parse(a);
  await assertActiveSetBesideYace(a);
  assert.ok(a.selection);
  assert.equal(a.selection.indices.length, 4);
  assert.equal(a.selection.counts.random, 2, 'pool.randomFraction reached the selection: 2 of 4 drawn at random');
  assert.deepEqual(a.selection.candidates, { kept: 12, below: 0, above: 0 }, 'pool.gammaMax reached it: every structure graded against the new .asi');
  assert.equal(a.selection.strategy?.gammaMax, 1e6);
  // Selected after training, with the potential this generation trained and its active set.
  assert.equal(a.selection.unfittedPotential, false);
  assert.equal(a.selection.potential, a.potentialYaml);
  assert.equal(a.selection.activeSet, a.activeSet?.path);
  assert.equal(await sha256File(join(dirname(a.selection.selected.path), 'potential.asi')), a.activeSet?.sha256, 'pace_select ran with a copy of the new .asi');
  assert.deepEqual(await stagesAndActivities(workflowId), {
    stages: ['updating-dataset', 'training', 'active-set', 'selecting', 'done'],
    activities: ['inspectPool', 'updateDataset', 'trainPotential', 'computeActiveSet', 'selectActiveSet'],
  });
  assert.equal(a.selection.simulated, true);
  assert.equal(await sha256File(a.selection.selected.path), a.selection.selected.sha256);
  assert.deepEqual(JSON.parse(await readFile(a.selection.indicesFile, 'utf8')), a.selection.indices);
});

test('too little data for the basis ("under-determined") finishes the artifact without an active set and says so (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const a = await runGeneration({ campaign: 'sel-under', toolchain, structures: 1, functions: 20 });
  PotentialArtifact.parse(a);
  assert.equal(a.activeSet, null);
  assert.match(a.activeSetWarning ?? '', /under-determined: \d+ atoms for \d+ functions/);
  assert.ok((await stat(a.path)).size > 0, 'the potential itself is there');
  assert.equal(a.selection, null, 'no pool, no selection');
});

test('when the new potential has no active set (under-determined), the selection uses it without an .asi (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const a = await runGeneration({ campaign: 'sel-under-pool', toolchain, structures: 1, functions: 20, pool: { count: 12, n: 3 } });
  assert.equal(a.activeSet, null);
  assert.match(a.activeSetWarning ?? '', /under-determined/);
  assert.ok(a.selection);
  assert.equal(a.selection.potential, a.potentialYaml, 'the newly trained potential');
  assert.equal(a.selection.unfittedPotential, false);
  assert.equal(a.selection.activeSet, null, 'no .asi passed to pace_select');
  assert.equal(a.selection.indices.length, 3);
  assert.equal(await exists(join(dirname(a.selection.selected.path), 'potential.asi')), false, 'no active set copied beside the potential');
});

/** Generation 0 of a campaign with a pool and no result files at all. */
async function startWithoutLabels(campaign: string, pool: { count: number; n: number } | null) {
  const taskQueue = `q-${campaign}`;
  const toolchain = simulatorToolchain();
  const workspaceRoot = join(stack.dir, 'workspace');
  const w = await stack.startWorker({ taskQueue, workspaceRoot, toolchain });
  let poolInput = null;
  if (pool) {
    const path = join(stack.dir, `${campaign}-pool.jsonl`);
    await labelEmt({ out: path, count: pool.count, elements: ['Cu', 'Ni'], seed: 5, python: toolchain.python });
    poolInput = { path, n: pool.n, memoryLimit: '2GB' };
  }
  const handle = await startTraining(stack.client, { campaign, generation: 0, config: config(5), results: [], pool: poolInput }, taskQueue);
  return { handle, workspaceRoot, stop: () => w.stop() };
}

test('a pool and no labelled data: generation 0 only selects with the unfitted shape, trains nothing and says so (simulator)', async () => {
  const { handle, workspaceRoot, stop } = await startWithoutLabels('sel-only', { count: 12, n: 3 });
  try {
    const r = (await handle.result()) as GenerationResult;
    assert.ok(isSelectionOnly(r), `a selection-only result (got kind ${String(r.kind)})`);
    assert.equal(r.kind, 'selection-only');
    assert.equal(r.trained, false);
    assert.equal(r.version, 'generation_000');
    assert.match(r.reason, /no labelled structures yet: only the selection ran \(3 structures to label\); no potential was trained/);
    assert.equal(r.selection.indices.length, 3);
    assert.equal(r.selection.unfittedPotential, true, 'the unfitted shape of pacemaker --dry-run');
    assert.equal(r.selection.activeSet, null);
    assert.equal(await sha256File(r.selection.selected.path), r.selection.selected.sha256);
    assert.equal('path' in r, false, 'no .yace in the result');
    assert.equal(await exists(campaignPath(workspaceRoot, 'sel-only', 'potentials', 'generation_000', 'output_potential.yace')), false, 'nothing trained');
    assert.deepEqual(await stagesAndActivities(handle.workflowId), {
      stages: ['updating-dataset', 'selecting', 'done'],
      activities: ['inspectPool', 'updateDataset', 'selectActiveSet'],
    });
    // The CLI says so too.
    const status = await execa('node', [join(PROJECT_ROOT, 'bin', 'mlip-trainer.js'), 'status', '--workflow-id', handle.workflowId], {
      reject: false,
      env: { TEMPORAL_ADDRESS: stack.server.address },
    });
    assert.equal(status.exitCode, 0, status.stderr);
    assert.match(status.stdout, /COMPLETED \(stage done\)/);
    assert.match(status.stdout, /selection only, no potential trained: 3 structures to label in .*selected\.pckl\.gzip/);
  } finally {
    await stop();
  }
});

test('no pool and no labelled data still fails as non-retryable BadInput (simulator)', async () => {
  const { handle, stop } = await startWithoutLabels('sel-nothing', null);
  try {
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      const failure = err.cause as { type?: string; nonRetryable?: boolean; message?: string };
      assert.equal(failure.type, 'BadInput');
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message ?? '', /campaign sel-nothing has no labelled structures: pass result files in input.results/);
      return true;
    });
  } finally {
    await stop();
  }
});

/** sha256 of every file under a folder, by relative path. */
async function hashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    if ((await stat(join(dir, name))).isFile()) out[name] = await sha256File(join(dir, name));
  }
  return out;
}

/** The failure a bad pool ends a generation with: the activity's non-retryable BadInput, its message starting with `expected`. */
function assertBadPool(expected: string) {
  return (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError);
    type Failure = { type?: string; nonRetryable?: boolean; message?: string; cause?: Failure };
    const cause = err.cause as Failure;
    const failure = cause.cause ?? cause;
    assert.equal(failure.type, 'BadInput');
    assert.equal(failure.nonRetryable, true);
    assert.ok((failure.message ?? '').startsWith(expected), `${failure.message} starts with ${expected}`);
    return true;
  };
}

test('a pool with an element the config lacks fails as non-retryable BadInput before anything is trained, and the dataset stays byte-identical (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const campaign = 'sel-badpool';
  const taskQueue = `q-${campaign}`;
  const workspaceRoot = join(stack.dir, 'workspace');
  const w = await stack.startWorker({ taskQueue, workspaceRoot, toolchain });
  try {
    // Generation 0 leaves a dataset behind; generation 1 brings new results and a pool with Al.
    const first = join(stack.dir, `${campaign}-0.jsonl`);
    await labelEmt({ out: first, count: 4, elements: ['Cu', 'Ni'], seed: 3, python: toolchain.python });
    const g0 = await startTraining(stack.client, { campaign, generation: 0, config: config(5), results: [first] }, taskQueue);
    await g0.result();
    const dataDir = campaignPath(workspaceRoot, campaign, 'data');
    const before = await hashes(dataDir);
    assert.ok(Object.keys(before).includes('accumulated.pckl.gzip'), `the dataset is there (${Object.keys(before).join(', ')})`);

    const second = join(stack.dir, `${campaign}-1.jsonl`);
    await labelEmt({ out: second, count: 4, elements: ['Cu', 'Ni'], seed: 4, python: toolchain.python });
    const pool = join(stack.dir, `${campaign}-pool.jsonl`);
    await labelEmt({ out: pool, count: 6, elements: ['Cu', 'Al'], seed: 5, python: toolchain.python });
    const g1 = await startTraining(
      stack.client,
      { campaign, generation: 1, config: config(5), results: [second], pool: { path: pool, n: 2, memoryLimit: '2GB' } },
      taskQueue,
    );
    await assert.rejects(
      g1.result(),
      assertBadPool(`pool.path: ${pool} has element(s) Al that the config lacks (its elements: Cu, Ni)`),
    );
    const { stages, activities } = await stagesAndActivities(g1.workflowId);
    assert.deepEqual(activities, ['inspectPool'], 'the pool was checked first: no dataset update, no training activity scheduled');
    assert.ok(!activities.includes('trainPotential'));
    assert.deepEqual(stages, ['failed']);
    assert.deepEqual(await hashes(dataDir), before, 'the dataset files are byte-identical');
    assert.equal(await exists(campaignPath(workspaceRoot, campaign, 'potentials', 'generation_001')), false, 'no generation folder');
  } finally {
    await w.stop();
  }
});

test('a missing, empty or unreadable pool fails as non-retryable BadInput naming pool.path before anything is trained (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const campaign = 'sel-nopool';
  const taskQueue = `q-${campaign}`;
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'workspace'), toolchain });
  try {
    const results = join(stack.dir, `${campaign}.jsonl`);
    await labelEmt({ out: results, count: 3, elements: ['Cu', 'Ni'], seed: 3, python: toolchain.python });
    const empty = join(stack.dir, `${campaign}-empty.jsonl`);
    await writeFile(empty, '');
    const broken = join(stack.dir, `${campaign}-broken.pckl.gzip`);
    await writeFile(broken, 'not a pickle');
    const missing = join(stack.dir, `${campaign}-missing.jsonl`);
    const cases = [
      [missing, `pool.path: file not found (got "${missing}")`],
      [empty, `pool.path: ${empty} holds no structures`],
      [broken, `pool.path: ${broken} is not a gzip-pickled pandas DataFrame`],
    ] as const;
    for (const [generation, [path, expected]] of cases.entries()) {
      const handle = await startTraining(stack.client, { campaign, generation, config: config(5), results: [results], pool: { path, n: 2 } }, taskQueue);
      await assert.rejects(handle.result(), assertBadPool(expected));
      assert.deepEqual((await stagesAndActivities(handle.workflowId)).activities, ['inspectPool'], path);
    }
  } finally {
    await w.stop();
  }
});

test('with a real pacemaker: the .asi from pace_activeset appears in the artifact and the pool selection runs with pyace', async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  const a = await runGeneration({ campaign: 'sel-real', toolchain, structures: 6, functions: 5, pool: { count: 12, n: 3 } });
  await assertActiveSetBesideYace(a);
  assert.equal(a.simulated, false);
  assert.equal(a.selection?.indices.length, 3);
  assert.equal(a.selection?.simulated, false);
});

test('with a real pacemaker: one small structure for a 20-function basis is under-determined, the generation still finishes and selects without an .asi', async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  const a = await runGeneration({ campaign: 'sel-under-real', toolchain, structures: 1, functions: 20, pool: { count: 12, n: 3 } });
  assert.equal(a.activeSet, null);
  assert.match(a.activeSetWarning ?? '', /under-determined/);
  assert.equal(a.selection?.potential, a.potentialYaml);
  assert.equal(a.selection?.activeSet, null);
  assert.equal(a.selection?.indices.length, 3);
  console.log(`real pacemaker under-determined warning: ${a.activeSetWarning}`);
});
