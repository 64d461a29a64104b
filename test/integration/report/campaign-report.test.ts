// A 3-generation simulator campaign run by the loop workflow on a real Temporal dev server, then:
// the Temporal UI's story read back through the client (static summary and details, current
// details, activity summaries in the history, progress signals), and the campaign's report
// (HTML page and SVG figures) holding the artifacts' numbers and opening in headless Chromium.
// With MLIP_RECORD_HISTORIES=1 the story-telling generation's history is written for replay.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
const { temporal } = proto;
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { findChromium, openInChromium } from '../../helpers/chromium.js';
import { simulatorToolchain } from '../../../src/pacemaker/toolchain.js';
import { labelEmt } from '../../../src/dataset/emt.js';
import { buildReport, type BuiltReport } from '../../../src/report/build-report.js';
import { readStageJournal, stageJournalPath } from '../../../src/campaign/stage-journal.js';
import { PROJECT_ROOT } from '../../../src/paths.js';
import type { TrainerConfigInput } from '../../../src/domain/schemas.js';
import type {
  ActiveLearningLoopInputRaw,
  ActiveLearningLoopResult,
} from '../../../src/domain/workflow-input.js';
import type { GenerationArtifact } from '../../../workflows/train-potential.js';

const CAMPAIGN = 'story';
let stack: TestStack;
let workspace: string;
let report: BuiltReport;
const artifacts: GenerationArtifact[] = [];

const config: TrainerConfigInput = {
  engine: 'pacemaker',
  pacemaker: {
    elements: ['Cu', 'Ni'],
    cutoff: 5.0,
    order: 2,
    functions_per_element: 5,
    max_epochs: 5,
    evaluator: 'pyace',
    test_size: 0.25,
  },
};

/** The metadata the UI shows for a workflow: its current details (the SDK's built-in query). */
async function currentDetails(workflowId: string): Promise<string> {
  const meta = await stack.client.workflow
    .getHandle(workflowId)
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return meta.currentDetails ?? '';
}

before(async () => {
  stack = await startTestStack();
  const labelledDir = join(stack.dir, 'labelled');
  for (let g = 0; g < 3; g++) {
    const dir = join(labelledDir, `generation_00${g}`);
    await mkdir(dir, { recursive: true });
    await labelEmt({ out: join(dir, 'dft.jsonl'), count: 8, seed: 60 + g });
  }
  const pool = join(stack.dir, 'pool.jsonl');
  await labelEmt({ out: pool, count: 12, seed: 99 });
  workspace = join(stack.dir, 'ws');
  const taskQueue = 'q-story';
  const w = await stack.startWorker({
    taskQueue,
    workspaceRoot: workspace,
    toolchain: simulatorToolchain(),
  });
  try {
    const input: ActiveLearningLoopInputRaw = {
      campaign: CAMPAIGN,
      config,
      maxGenerations: 3,
      labelledDir,
      pool: { path: pool, n: 2, memoryLimit: '2GB' },
    };
    const result = (await stack.client.workflow.execute('activeLearningLoopWorkflow', {
      taskQueue,
      workflowId: `loop-${CAMPAIGN}`,
      args: [input],
    })) as ActiveLearningLoopResult;
    assert.equal(result.generations.length, 3);
    for (let g = 0; g < 3; g++)
      artifacts.push(
        (await stack.client.workflow
          .getHandle(`train-${CAMPAIGN}-generation_00${g}`)
          .result()) as GenerationArtifact,
      );
    // Queries on closed workflows replay them on a worker: read the current details while it runs.
    await readStory();
    if (process.env.MLIP_RECORD_HISTORIES === '1') {
      const history = await stack.client.workflow
        .getHandle(`train-${CAMPAIGN}-generation_001`)
        .fetchHistory();
      const dir = join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
      await writeFile(
        join(dir, 'train-potential-story.pb'),
        temporal.api.history.v1.History.encode(history).finish(),
      );
      console.log('recorded train-potential-story.pb');
    }
  } finally {
    await w.stop();
  }
  report = await buildReport({
    campaignDir: join(workspace, CAMPAIGN),
    python: simulatorToolchain().python,
  });
});
after(async () => {
  await stack?.stop();
});

const story: { details: Record<string, string>; loop: string } = { details: {}, loop: '' };
async function readStory(): Promise<void> {
  for (let g = 0; g < 3; g++)
    story.details[g] = await currentDetails(`train-${CAMPAIGN}-generation_00${g}`);
  story.loop = await currentDetails(`loop-${CAMPAIGN}`);
}

test('each generation of the loop is listed with a static summary and described in Markdown', async () => {
  const d1 = await stack.client.workflow.getHandle(`train-${CAMPAIGN}-generation_001`).describe();
  assert.equal(
    await d1.staticSummary(),
    'Cu-Ni gen 1: fine-tune (continue) of generation_000 on 1 new result file; select 2 from pool.jsonl',
  );
  const details = (await d1.staticDetails()) ?? '';
  assert.match(details, /\*\*Cu-Ni generation 1\*\* \(`generation_001`\) of campaign `story`/);
  assert.match(
    details,
    /- \*\*Config:\*\* elements Cu, Ni; cutoff 5 Å; order 2; 5 functions\/element; max_epochs 5; evaluator pyace; batch_size 10; kappa 0\.3; test_size 0\.25/,
  );
  assert.match(details, /- \*\*Files:\*\* `<workspace>\/story\/potentials\/generation_001\/`/);
  const d0 = await stack.client.workflow.getHandle(`train-${CAMPAIGN}-generation_000`).describe();
  assert.match((await d0.staticSummary()) ?? '', /^Cu-Ni gen 0: from scratch/);
});

test("the current details end with the generation's dataset, potential, active set and selection; the loop's list each generation", () => {
  const md = story.details[2]!;
  assert.match(md, /^\*\*Stage:\*\* done/);
  assert.match(
    md,
    /- \*\*Dataset:\*\* 24 structures \(train \d+, test \d+\), 8 new; version `[0-9a-f]{12}`/,
  );
  const a = artifacts[2]!;
  assert.ok(
    md.includes(
      `- **Potential:** \`${a.path}\` · test RMSE E ${a.metrics.test!.energy_rmse_mev_per_atom.toFixed(2)} meV/atom, F ${a.metrics.test!.force_rmse_mev_per_a.toFixed(2)} meV/Å`,
    ),
    md,
  );
  assert.match(
    md,
    /- \*\*Selection:\*\* 2 of 12 to label \(\d by pace_select, \d by largest gamma\)/,
  );
  assert.match(story.loop, /\*\*Loop story:\*\* between generations of at most 3; no target/);
  for (let g = 0; g < 3; g++)
    assert.ok(
      story.loop.includes(
        `- generation_00${g}: F ${artifacts[g]!.metrics.test!.force_rmse_mev_per_a.toFixed(2)} meV/Å`,
      ),
      story.loop,
    );
});

test('activities carry summaries in the history, and training progress reached the workflow as signals', async () => {
  const history = await stack.client.workflow
    .getHandle(`train-${CAMPAIGN}-generation_001`)
    .fetchHistory();
  const summaries = (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    const payload = e.userMetadata?.summary;
    return name
      ? [`${name}: ${payload ? defaultPayloadConverter.fromPayload<string>(payload) : '(none)'}`]
      : [];
  });
  assert.deepEqual(summaries, [
    'inspectPool: check pool pool.jsonl: structures, elements Cu, Ni',
    "updateDataset: append 1 result file(s) to story's dataset",
    'trainPotential: pacemaker: fine-tune (continue) of generation_000 on 16 structures, max_epochs 5',
    "computeActiveSet: pace_activeset: active set of generation_001's potential",
    "selectActiveSet: select 2 from pool.jsonl with generation_001's new potential",
  ]);
  const signals = (history.events ?? []).filter(
    (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'trainingProgress',
  );
  assert.ok(signals.length >= 1, 'the first iteration is always signalled');
  // The loop's own activity says which generation's results it collects.
  const loopHistory = await stack.client.workflow.getHandle(`loop-${CAMPAIGN}`).fetchHistory();
  const collect = (loopHistory.events ?? []).find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'collectLabelledResults',
  );
  assert.equal(
    defaultPayloadConverter.fromPayload<string>(collect!.userMetadata!.summary!),
    'collect labelled results of generation_000',
  );
});

test('each generation keeps a stage journal: every activity start and end, training with how it started', async () => {
  const events = await readStageJournal(stageJournalPath(join(workspace, CAMPAIGN), 1));
  const stages = events
    .filter((e) => e.event === 'end' && e.outcome === 'completed')
    .map((e) => e.stage);
  assert.deepEqual(stages, [
    'checking-pool',
    'updating-dataset',
    'training',
    'active-set',
    'selecting',
  ]);
  const training = events.find((e) => e.stage === 'training' && e.event === 'start');
  assert.deepEqual(training?.start, {
    mode: 'continue',
    parentVersion: 'generation_000',
    initialPotential: artifacts[0]!.potentialYaml,
  });
});

test('the report of the 3-generation campaign has every figure as an SVG file beside one HTML page', async () => {
  assert.equal(report.generations, 3);
  assert.deepEqual(report.notes, []);
  const files = (await readdir(join(workspace, CAMPAIGN, 'report', 'figures')))
    .filter((f) => f.endsWith('.svg'))
    .sort();
  assert.deepEqual(files, [
    'dataset-growth.svg',
    'errors-energy.svg',
    'errors-force.svg',
    'learning-curves.svg',
    'parity-energy.svg',
    'parity-force-by-element.svg',
    'parity-force.svg',
    'rmse.svg',
    'selection-counts.svg',
    'selection-gamma.svg',
    'stage-times.svg',
  ]);
  const html = await readFile(report.html, 'utf8');
  assert.equal((html.match(/<figure id=/g) ?? []).length, 11);
  assert.match(html, /id="simulated">Simulated: generation_000, generation_001, generation_002/);
});

test("the figures hold the artifacts' numbers: the test RMSE the RMSE figure and the table show is the artifact's", async () => {
  const svg = await readFile(join(workspace, CAMPAIGN, 'report', 'figures', 'rmse.svg'), 'utf8');
  const html = await readFile(report.html, 'utf8');
  for (const a of artifacts) {
    for (const [quantity, value, unit] of [
      ['force', a.metrics.test!.force_rmse_mev_per_a, 'meV/Å'],
      ['energy', a.metrics.test!.energy_rmse_mev_per_atom, 'meV/atom'],
    ] as const) {
      const label = new RegExp(
        `aria-label="${a.version} test ${quantity} RMSE ([-0-9.e+]+) ${unit} \\(simulated\\)"`,
      ).exec(svg);
      assert.ok(label, `the RMSE figure has ${a.version}'s test ${quantity} RMSE`);
      assert.equal(Number(label[1]), value);
    }
    const row = new RegExp(`<tr id="row-${a.version}"[^>]*>(.*?)</tr>`).exec(html)![1]!;
    const cells = [...row.matchAll(/data-value="([^"]+)"/g)].map((m) => Number(m[1]));
    assert.deepEqual(cells, [
      a.metrics.train.energy_rmse_mev_per_atom,
      a.metrics.train.force_rmse_mev_per_a,
      a.metrics.test!.energy_rmse_mev_per_atom,
      a.metrics.test!.force_rmse_mev_per_a,
    ]);
  }
  // The parity plots are the newest potential's test set; their errors are the artifact's, recomputed from all rows.
  const data = JSON.parse(
    /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!,
  ) as {
    newest: {
      version: string;
      set: string;
      errors: { force_rmse_mev_per_a: number; energy_rmse_mev_per_atom: number };
    };
  };
  assert.equal(data.newest.version, 'generation_002');
  assert.equal(data.newest.set, 'test');
  const newest = artifacts[2]!.metrics.test!;
  assert.ok(
    Math.abs(data.newest.errors.force_rmse_mev_per_a - newest.force_rmse_mev_per_a) <
      1e-6 * newest.force_rmse_mev_per_a,
    `${data.newest.errors.force_rmse_mev_per_a} vs ${newest.force_rmse_mev_per_a}`,
  );
});

test('the report opens in headless Chromium without console errors and loads nothing from the network', async (t) => {
  const chromium = await findChromium();
  if (chromium === null) {
    t.skip('skipped: no chromium (apt-get install chromium, or set MLIP_CHROMIUM)');
    console.log('skipped: no chromium');
    return;
  }
  const page = await openInChromium(chromium, report.html);
  assert.deepEqual(page.problems, []);
  assert.deepEqual(page.network, []);
  assert.equal(page.title, 'story: campaign report');
  assert.equal(page.figuresShown, 11);
});
