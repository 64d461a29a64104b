// The walking skeleton end to end: a real Temporal dev server, a worker with the real
// activities, the dataset bridge writing real pickles, and pacemaker (or its simulator).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { simulatorToolchain, type Toolchain } from '../../../../src/pacemaker/toolchain.js';
import { labelEmt } from '../../../../src/dataset/emt.js';
import { startTraining } from '../../../../src/client/train.js';
import { sha256File } from '../../../../src/util/files.js';
import { PotentialArtifact, type TrainerConfigInput } from '../../../../src/domain/schemas.js';
import { realPacemakerOrSkip } from '../../../helpers/real-pacemaker.js';

let stack: TestStack;

before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.stop();
});

const config = (maxEpochs = 10): TrainerConfigInput => ({
  engine: 'pacemaker',
  pacemaker: { elements: ['Cu', 'Ni'], cutoff: 5.0, order: 2, functions_per_element: 5, max_epochs: maxEpochs, evaluator: 'pyace', test_size: 0 },
});

async function assertValidArtifact(a: PotentialArtifact, toolchain: Toolchain): Promise<void> {
  PotentialArtifact.parse(a);
  assert.ok((await stat(a.path)).size > 0, '.yace file exists and is not empty');
  assert.match(a.path, /generation_000\/output_potential\.yace$/);
  assert.ok((await stat(a.potentialYaml)).size > 0);
  for (const [name, ref] of Object.entries(a.files)) {
    assert.equal(await sha256File(ref.path), ref.sha256, `sha256 of ${name}`);
  }
  assert.equal(a.version, 'generation_000');
  assert.equal(a.simulated, toolchain.kind === 'simulator');
  assert.ok(a.metrics.train.force_rmse_mev_per_a >= 0);
}

async function trainTwoStructures(toolchain: Toolchain, campaign: string): Promise<PotentialArtifact> {
  const taskQueue = `q-${campaign}`;
  const workspaceRoot = join(stack.dir, 'workspace');
  const w = await stack.startWorker({ taskQueue, workspaceRoot, toolchain });
  try {
    const results = join(stack.dir, `${campaign}.jsonl`);
    await labelEmt({ out: results, count: 2, elements: ['Cu', 'Ni'], seed: 1, python: toolchain.python });
    const handle = await startTraining(stack.client, { campaign, generation: 0, config: config(), results: [results] }, taskQueue);
    return (await handle.result()) as PotentialArtifact;
  } finally {
    await w.stop();
  }
}

test('training on 2 structures through the workflow gives a .yace and an artifact with valid paths (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const artifact = await trainTwoStructures(toolchain, 'skeleton-sim');
  await assertValidArtifact(artifact, toolchain);
  assert.match(await readFile(artifact.path, 'utf8'), /SIMULATED/);
  const input = await readFile(join(artifact.path, '..', 'input.yaml'), 'utf8');
  assert.match(input, /^cutoff: 5$/m);
  assert.match(input, /maxiter: 10/);
});

test('the same training against the real pacemaker, when one is installed', async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  const artifact = await trainTwoStructures(toolchain, 'skeleton-real');
  await assertValidArtifact(artifact, toolchain);
});

test('a results file with NaN forces fails the workflow as non-retryable BadInput and leaves the dataset byte-identical', async () => {
  const toolchain = simulatorToolchain();
  const taskQueue = 'q-bad-input';
  const workspaceRoot = join(stack.dir, 'workspace');
  const w = await stack.startWorker({ taskQueue, workspaceRoot, toolchain });
  try {
    const good = join(stack.dir, 'good.jsonl');
    await labelEmt({ out: good, count: 3, seed: 2 });
    const campaign = 'bad-input';
    const first = await startTraining(stack.client, { campaign, generation: 0, config: config(3), results: [good] }, taskQueue);
    const artifact = (await first.result()) as PotentialArtifact;
    const dataset = join(workspaceRoot, campaign, 'data', 'accumulated.pckl.gzip');
    const before = await readFile(dataset);
    assert.equal(artifact.datasetSha256, await sha256File(dataset));

    const lines = (await readFile(good, 'utf8')).trim().split('\n');
    const rec = JSON.parse(lines[1]!) as { forces: number[][] };
    const bad = join(stack.dir, 'bad', 'bad.jsonl');
    await mkdir(join(stack.dir, 'bad'), { recursive: true });
    await writeFile(bad, `${lines[0]}\n${JSON.stringify(rec).replace(/^(.*"forces":\[\[)[^,]+/, '$1NaN')}\n`);

    const second = await startTraining(stack.client, { campaign, generation: 1, config: config(3), results: [bad] }, taskQueue);
    await assert.rejects(second.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      const cause = err.cause as { type?: string; message?: string; cause?: { type?: string; message?: string } };
      const failure = cause.cause ?? cause;
      assert.equal(failure.type, 'BadInput');
      assert.match(failure.message ?? '', /bad\.jsonl: results\[1\]\.forces\.0\.0: .*\(got NaN\)/);
      return true;
    });
    const desc = await second.describe();
    assert.equal(desc.status.name, 'FAILED');
    assert.deepEqual(await readFile(dataset), before, 'dataset changed');
  } finally {
    await w.stop();
  }
});
