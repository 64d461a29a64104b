// The dataset stage inside the workflow on a real Temporal dev server: a re-sent batch adds
// nothing, the manifest records which workflow appended what, and training receives the stable
// train/test files (data.test_filename) with the dataset's version in the artifact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { simulatorToolchain } from '../../../../src/pacemaker/toolchain.js';
import { labelEmt } from '../../../../src/dataset/emt.js';
import { startTraining } from '../../../../src/client/train.js';
import { sha256File } from '../../../../src/util/files.js';
import type { PotentialArtifact, TrainerConfigInput } from '../../../../src/domain/schemas.js';
import type { DatasetManifest } from '../../../../src/dataset/store.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.stop();
});

const config: TrainerConfigInput = {
  engine: 'pacemaker',
  pacemaker: { elements: ['Cu', 'Ni'], cutoff: 5.0, order: 2, functions_per_element: 5, max_epochs: 3, evaluator: 'pyace', test_size: 0.3 },
};

test('generations that re-send a batch add nothing twice, and train on a test set that only grows', async () => {
  const taskQueue = 'q-dataset-wf';
  const workspaceRoot = join(stack.dir, 'workspace');
  const w = await stack.startWorker({ taskQueue, workspaceRoot, toolchain: simulatorToolchain() });
  try {
    const first = join(stack.dir, 'first.jsonl');
    const second = join(stack.dir, 'second.jsonl');
    await labelEmt({ out: first, count: 20, seed: 21 });
    await labelEmt({ out: second, count: 10, seed: 22 });
    const campaign = 'dataset-wf';
    const run = async (generation: number, results: string[]) =>
      (await (await startTraining(stack.client, { campaign, generation, config, results }, taskQueue)).result()) as PotentialArtifact;

    const g0 = await run(0, [first]);
    const g1 = await run(1, [first]); // the same batch again: nothing new
    const g2 = await run(2, [first, second]);

    const data = join(workspaceRoot, campaign, 'data');
    const manifest = JSON.parse(await readFile(join(data, 'manifest.json'), 'utf8')) as DatasetManifest;
    assert.deepEqual(
      manifest.history.map((h) => [h.workflowId, h.generation, h.added, h.duplicates]),
      [
        [`train-${campaign}-generation_000`, 0, 20, 0],
        [`train-${campaign}-generation_001`, 1, 0, 20],
        [`train-${campaign}-generation_002`, 2, 10, 20],
      ],
    );
    assert.equal(manifest.total, 30);
    assert.equal(g0.datasetSha256, g1.datasetSha256, 'a re-sent batch leaves the dataset version unchanged');
    assert.notEqual(g1.datasetSha256, g2.datasetSha256);
    assert.equal(g2.datasetSha256, await sha256File(join(data, 'accumulated.pckl.gzip')));

    const tests: number[] = [];
    for (const a of [g0, g2]) {
      const input = yaml.load(await readFile(join(a.potentialYaml, '..', 'input.yaml'), 'utf8')) as { data: Record<string, unknown> };
      assert.equal(input.data.filename, join(data, 'train.pckl.gzip'));
      assert.equal(input.data.test_filename, join(data, 'test.pckl.gzip'));
      assert.equal(input.data.test_size, undefined, 'no random split on top of the stable one');
    }
    for (const h of manifest.history) tests.push(h.addedTest);
    assert.ok(manifest.structures.test > 0 && manifest.structures.test === tests.reduce((x, y) => x + y, 0));
  } finally {
    await w.stop();
  }
});
