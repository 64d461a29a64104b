// Users' own files through the workflows on a real Temporal dev server: a generation's `results`
// in every labelled format and its `pool` of unlabelled structures (extended XYZ, a LAMMPS dump
// with `typeMap`), a pacemaker pickle with only energy_corrected trained as such, and the loop's
// collector taking every format from nested folders, with a .traj pool.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { POOL_TYPE_MAP, writeInputFiles } from '../../helpers/input-files.js';
import { simulatorToolchain } from '../../../src/pacemaker/toolchain.js';
import { startTraining } from '../../../src/client/train.js';
import type { TrainerConfigInput } from '../../../src/domain/schemas.js';
import type { ActiveLearningLoopInputRaw, ActiveLearningLoopResult } from '../../../src/domain/workflow-input.js';
import type { GenerationArtifact } from '../../../src/domain/generation-result.js';
import type { DatasetManifest } from '../../../src/dataset/store.js';

let stack: TestStack;
let labelled: Record<string, number> = {};
const files = (folder: string, names: string[]) => names.map((n) => join(stack.dir, folder, n));
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

const config: TrainerConfigInput = {
  engine: 'pacemaker',
  pacemaker: { elements: ['Cu', 'Ni'], cutoff: 5.0, order: 2, functions_per_element: 5, max_epochs: 5, evaluator: 'pyace', test_size: 0 },
};

before(async () => {
  stack = await startTestStack();
  labelled = await writeInputFiles('labelled', join(stack.dir, 'labelled'));
  await writeInputFiles('pool', join(stack.dir, 'pool'));
  await writeInputFiles('corrected', join(stack.dir, 'corrected'));
});
after(async () => {
  await stack?.stop();
});

async function manifestOf(workspace: string, campaign: string): Promise<DatasetManifest> {
  return JSON.parse(await readFile(join(workspace, campaign, 'data', 'manifest.json'), 'utf8')) as DatasetManifest;
}

test('a generation takes results in every labelled format and selects exactly n from an unlabelled extxyz pool', async () => {
  const taskQueue = 'q-formats';
  const workspace = join(stack.dir, 'ws-formats');
  const w = await stack.startWorker({ taskQueue, workspaceRoot: workspace, toolchain: simulatorToolchain() });
  try {
    const results = files('labelled', Object.keys(labelled));
    const handle = await startTraining(stack.client, { campaign: 'formats', generation: 0, config, results, pool: { path: join(stack.dir, 'pool', 'md.extxyz'), n: 3 } }, taskQueue);
    const a = (await handle.result()) as GenerationArtifact;
    assert.equal(a.selection?.indices.length, 3);
    assert.equal(a.selection?.poolSize, 5);
    const m = await manifestOf(workspace, 'formats');
    assert.equal(m.total, sum(labelled));
    assert.deepEqual(m.history[0]!.sources, results);
  } finally {
    await w.stop();
  }
});

test('a pickle with only energy_corrected trains without data.reference_energy; a LAMMPS pool selects with its typeMap and is refused without one', async () => {
  const taskQueue = 'q-corrected';
  const workspace = join(stack.dir, 'ws-corrected');
  const w = await stack.startWorker({ taskQueue, workspaceRoot: workspace, toolchain: simulatorToolchain() });
  try {
    const results = files('corrected', ['old.pckl.gzip']);
    const dump = join(stack.dir, 'pool', 'dump.lammpstrj');
    const refused = await startTraining(stack.client, { campaign: 'corrected', generation: 0, config, results, pool: { path: dump, n: 2 } }, taskQueue);
    await assert.rejects(refused.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      const failure = (err.cause as { cause?: { type?: string; message?: string } }).cause;
      assert.equal(failure?.type, 'BadInput');
      assert.match(failure?.message ?? '', /^pool\.path: .*dump\.lammpstrj is a LAMMPS file .* pool\.typeMap/);
      return true;
    });
    const handle = await startTraining(stack.client, { campaign: 'corrected', generation: 1, config, results, pool: { path: dump, n: 2, typeMap: { ...POOL_TYPE_MAP } } }, taskQueue);
    const a = (await handle.result()) as GenerationArtifact;
    assert.equal(a.selection?.indices.length, 2);
    const inputYaml = await readFile(join(a.path, '..', 'input.yaml'), 'utf8');
    assert.doesNotMatch(inputYaml, /reference_energy/, 'energy_corrected is fitted as stored');
    const m = await manifestOf(workspace, 'corrected');
    assert.deepEqual([m.fittedEnergy, m.correctedOnly], ['energy_corrected', 12]);
  } finally {
    await w.stop();
  }
});

test("the loop's collector reads every labelled format from the generation's folder and its subfolders, and selects from a .traj pool", async () => {
  const taskQueue = 'q-loop-formats';
  const workspace = join(stack.dir, 'ws-loop-formats');
  const generation = join(stack.dir, 'labelled-loop', 'generation_000');
  // The usual DFT layout: one calculation per folder.
  for (const [i, name] of Object.keys(labelled).entries()) {
    const folder = join(generation, `calc_${i}`);
    await mkdir(folder, { recursive: true });
    await copyFile(join(stack.dir, 'labelled', name), join(folder, name));
  }
  const w = await stack.startWorker({ taskQueue, workspaceRoot: workspace, toolchain: simulatorToolchain() });
  try {
    const input: ActiveLearningLoopInputRaw = {
      campaign: 'loopformats',
      config,
      maxGenerations: 1,
      labelledDir: join(stack.dir, 'labelled-loop'),
      pool: { path: join(stack.dir, 'pool', 'md.traj'), n: 2 },
    };
    const handle = await stack.client.workflow.start('activeLearningLoopWorkflow', { taskQueue, workflowId: 'loop-formats', args: [input] });
    const result = (await handle.result()) as ActiveLearningLoopResult;
    assert.equal(result.generations.length, 1);
    assert.ok(result.generations[0]!.path, 'generation 0 trained');
    assert.ok(result.generations[0]!.selected, 'and selected from the pool');
    const m = await manifestOf(workspace, 'loopformats');
    assert.equal(m.total, sum(labelled));
    assert.equal(m.history[0]!.sources.length, Object.keys(labelled).length);
  } finally {
    await w.stop();
  }
});
