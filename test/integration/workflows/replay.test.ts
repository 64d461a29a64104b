// Replays recorded histories (test/fixtures/histories, recorded by active-learning-loop.test.ts and
// report/campaign-report.test.ts with MLIP_RECORD_HISTORIES=1) against the current workflow bundle: a change that would make a
// running generation or loop non-deterministic fails here, before it reaches a cluster.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DefaultLogger, Runtime, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import proto from '@temporalio/proto';
const { temporal } = proto;
import { bundleWorkflowSources } from '../../../app/worker.js';
import { PROJECT_ROOT } from '../../../src/paths.js';

const DIR = join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
let bundle: WorkflowBundleOption;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  bundle = await bundleWorkflowSources();
});

test('every recorded history (loop, closed loop with the oracle, generation 0, fine-tune, generation with a pool, one with activity summaries and training-progress signals, and the pool generations recorded with older code) replays against the current workflow code', async () => {
  const files = (await readdir(DIR)).filter((f) => f.endsWith('.pb')).sort();
  assert.deepEqual(files, [
    'active-learning-loop-closed-oracle.pb',
    'active-learning-loop-first-run.pb',
    'train-potential-fine-tune.pb',
    'train-potential-generation-0.pb',
    'train-potential-pool-no-labelled-data.pb',
    'train-potential-pool-selection-before-training.pb',
    'train-potential-pool-unchecked-selection-only.pb',
    'train-potential-pool-unchecked-trained.pb',
    'train-potential-story.pb',
    'train-potential-with-pool.pb',
  ]);
  for (const f of files) {
    const history = temporal.api.history.v1.History.decode(await readFile(join(DIR, f)));
    assert.ok((history.events?.length ?? 0) > 10, `${f} holds a real history`);
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, f);
  }
});

test('the replay test notices a non-deterministic change (a history edited to expect another activity)', async () => {
  const history = temporal.api.history.v1.History.decode(await readFile(join(DIR, 'train-potential-generation-0.pb')));
  const scheduled = history.events?.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'updateDataset');
  assert.ok(scheduled?.activityTaskScheduledEventAttributes?.activityType, 'the fixture schedules updateDataset');
  scheduled.activityTaskScheduledEventAttributes.activityType.name = 'somethingElse';
  await assert.rejects(Worker.runReplayHistory({ workflowBundle: bundle }, history, 'tampered'), /[Nn]ondetermin|somethingElse/);
});

/** The activity types a history scheduled, in order. */
function scheduledActivities(history: proto.temporal.api.history.v1.IHistory): string[] {
  return (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}

// The train-potential-pool-*.pb were recorded once with older workflow code and are never
// re-recorded: selection-before-training and no-labelled-data with commit f9f2fcd (selection
// before training; a pool without labelled data failed), the two unchecked-* with commit c1234fe
// (before the pool check).
test('a generation recorded when selection ran before training still replays (patched select-after-training)', async () => {
  const history = temporal.api.history.v1.History.decode(await readFile(join(DIR, 'train-potential-pool-selection-before-training.pb')));
  const scheduled = (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
  assert.deepEqual(scheduled, ['updateDataset', 'selectActiveSet', 'trainPotential', 'computeActiveSet'], 'the fixture holds the old order');
  await Worker.runReplayHistory({ workflowBundle: bundle }, history, 'pool-selection-before-training');
});

test('a generation recorded when a pool without labelled data failed as BadInput still replays (patched selection-only-without-data)', async () => {
  const history = temporal.api.history.v1.History.decode(await readFile(join(DIR, 'train-potential-pool-no-labelled-data.pb')));
  const events = history.events ?? [];
  const scheduled = events.flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
  assert.deepEqual(scheduled, ['updateDataset'], 'the fixture failed right after the dataset step');
  assert.match(events.at(-1)?.workflowExecutionFailedEventAttributes?.failure?.message ?? '', /has no labelled structures/);
  await Worker.runReplayHistory({ workflowBundle: bundle }, history, 'pool-no-labelled-data');
});

test('generations recorded before the pool check (a trained one and a selection-only one) still replay (patched pool-check-before-training)', async () => {
  for (const [file, expected] of [
    ['train-potential-pool-unchecked-trained.pb', ['updateDataset', 'trainPotential', 'computeActiveSet', 'selectActiveSet']],
    ['train-potential-pool-unchecked-selection-only.pb', ['updateDataset', 'selectActiveSet']],
  ] as const) {
    const history = temporal.api.history.v1.History.decode(await readFile(join(DIR, file)));
    assert.deepEqual(scheduledActivities(history), expected, `${file} holds the order without the check`);
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, file);
  }
  // And the one recorded with the current code checks the pool first.
  const current = temporal.api.history.v1.History.decode(await readFile(join(DIR, 'train-potential-with-pool.pb')));
  assert.deepEqual(scheduledActivities(current), ['inspectPool', 'updateDataset', 'trainPotential', 'computeActiveSet', 'selectActiveSet']);
});

test('the closed loop recorded with the oracle replays: generation 1 labels generation 0\'s selection before collecting its results', async () => {
  const history = temporal.api.history.v1.History.decode(await readFile(join(DIR, 'active-learning-loop-closed-oracle.pb')));
  assert.deepEqual(scheduledActivities(history), ['collectLabelledResults', 'labelSelection', 'collectLabelledResults']);
  await Worker.runReplayHistory({ workflowBundle: bundle }, history, 'closed-oracle');
  // The loop without a labeller, recorded before the oracle existed, schedules no labelling.
  const open = temporal.api.history.v1.History.decode(await readFile(join(DIR, 'active-learning-loop-first-run.pb')));
  assert.ok(!scheduledActivities(open).includes('labelSelection'));
});
