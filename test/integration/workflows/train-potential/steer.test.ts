// trainPotentialWorkflow on a real Temporal dev server, watched and steered while it runs:
// progress, search attributes and memo, early stop, cancellation, idempotent starts, and the
// `temporal workflow start` trigger. The simulator stands in for pacemaker (slowed down by
// PACEMAKER_SIM_ITER_SECONDS so there is time to steer).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { execa } from 'execa';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { simulatorToolchain } from '../../../../src/pacemaker/toolchain.js';
import { labelEmt } from '../../../../src/dataset/emt.js';
import { readProgress, startTraining, type LiveProgress } from '../../../../src/client/train.js';
import { describeGeneration, listGenerations, stopTrainingEarly } from '../../../../src/client/generations.js';
import { findTemporalCli } from '../../../../src/temporal/dev-server.js';
import { groupAlive } from '../../../../src/process/run-program.js';
import { exists, sha256File } from '../../../../src/util/files.js';
import { PotentialArtifact } from '../../../../src/domain/schemas.js';
import { progressQuery } from '../../../../src/domain/messages.js';
import type { GenerationArtifact } from '../../../../workflows/train-potential.js';
import { realPacemakerOrSkip } from '../../../helpers/real-pacemaker.js';
import { until, alive, smallConfig } from '../../../helpers/wait.js';
import { withFitCycles } from '../../../../src/trainer/fit-position.js';
import { STOP_EVALUATION_DIR } from '../../../../src/trainer/finalise-checkpoint.js';

let stack: TestStack;
let results: string;

before(async () => {
  stack = await startTestStack();
  results = join(stack.dir, 'emt.jsonl');
  await labelEmt({ out: results, count: 6, seed: 3 });
});
after(async () => {
  await stack?.stop();
});

const config = smallConfig;
/** smallConfig with a test set, for the stops: their artifacts carry test metrics too. */
const withTestSet = (maxEpochs: number) => {
  const c = smallConfig(maxEpochs);
  return { ...c, pacemaker: { ...c.pacemaker, test_size: 0.4 } };
};

/**
 * A stopped generation's metrics: train and test errors of the stopped potential, from pacemaker
 * `--no-fit` in its own folder, for the iteration `stoppedEarly` names; output_potential.yaml is
 * the checkpoint without `_fit_cycles`.
 */
async function assertStoppedWithTestMetrics(artifact: GenerationArtifact): Promise<void> {
  const stopped = artifact.stoppedEarly;
  assert.ok(stopped);
  assert.deepEqual(stopped.warnings, []);
  assert.equal(stopped.trainMetricsFrom, 'evaluation');
  const { train, test } = artifact.metrics;
  assert.ok(test, 'test metrics present');
  for (const m of [train, test]) {
    for (const v of [m.energy_rmse_mev_per_atom, m.force_rmse_mev_per_a, m.energy_mae_mev_per_atom, m.force_mae_mev_per_a]) {
      assert.ok(typeof v === 'number' && Number.isFinite(v) && v > 0, `finite error ${v}`);
    }
  }
  assert.equal(train.iterations, stopped.iterations);
  assert.equal(test.iterations, stopped.iterations);
  assert.ok(train.loss !== null && Number.isFinite(train.loss), 'the loss of its metrics.txt row');
  assert.ok(artifact.files[`${STOP_EVALUATION_DIR}/test_pred.pckl.gzip`], 'the evaluation is in the artifact');
  assert.equal(await readFile(artifact.potentialYaml, 'utf8'), withFitCycles(await readFile(stopped.checkpoint, 'utf8'), 0));
}

async function countIterations(log: string): Promise<number> {
  return (await exists(log)) ? (await readFile(log, 'utf8')).trim().split('\n').filter(Boolean).length : 0;
}

test('a generation runs update dataset -> train, reports live progress, and is listed by its search attributes and memo', async () => {
  const taskQueue = 'q-happy';
  const workspaceRoot = join(stack.dir, 'ws-happy');
  const w = await stack.startWorker({ taskQueue, workspaceRoot, toolchain: simulatorToolchain(), env: { PACEMAKER_SIM_ITER_SECONDS: '0.3' } });
  try {
    const handle = await startTraining(stack.client, { campaign: 'happy', generation: 0, config: config(12), results: [results] }, taskQueue);
    const seen: LiveProgress[] = [];
    const mid = await until('an iteration in the progress', async () => {
      const p = await readProgress(handle);
      if (p) seen.push(p);
      return p && p.stage === 'training' && p.iteration !== null && p.iteration >= 2 ? p : null;
    });
    assert.equal(mid.maxiter, 12);
    assert.ok(mid.loss !== null && mid.forceRmse !== null && mid.etaSeconds !== null, JSON.stringify(mid));
    const artifact = (await handle.result()) as GenerationArtifact;
    PotentialArtifact.parse(artifact);
    assert.equal(artifact.stoppedEarly, undefined);
    assert.equal(artifact.metrics.train.iterations, 12);
    assert.ok(artifact.timings.datasetSeconds !== undefined);

    const done = await describeGeneration(handle);
    assert.equal(done.status, 'COMPLETED');
    assert.equal(done.campaign, 'happy');
    assert.equal(done.generation, 0);
    assert.equal(done.stage, 'done');
    assert.equal(done.testForceRmse, artifact.metrics.train.force_rmse_mev_per_a);
    const desc = await handle.describe();
    assert.match(String(desc.memo?.config), /Cu-Ni cutoff 5 Å, order 2, 5 functions\/element, max_epochs 12/);
    const q: LiveProgress = await handle.query(progressQuery);
    assert.equal(q.stage, 'done');
    assert.equal(q.iteration, 12);

    const listed = await until('the visibility store to list it', async () => {
      const l = await listGenerations(stack.client, { campaign: 'happy' });
      return l.length === 1 && l[0]!.stage === 'done' ? l : null;
    });
    assert.equal(listed[0]!.workflowId, 'train-happy-generation_000');
    assert.equal(listed[0]!.generation, 0);
    // The same filter from the temporal CLI, as a user at a terminal would type it.
    const cli = await findTemporalCli();
    const { stdout } = await execa(cli, ['workflow', 'list', '--address', stack.server.address, '--query', "MlipCampaign = 'happy' AND MlipStage = 'done'", '-o', 'json']);
    assert.match(stdout, /train-happy-generation_000/);
  } finally {
    await w.stop();
  }
});

/** A simulator worker whose pacemaker takes 0.5 s per iteration and writes its pid, to act on mid-fit. */
async function startSlowSimulatorWorker(name: string) {
  const taskQueue = `q-${name}`;
  const pidfile = join(stack.dir, `${name}.pid`);
  const workspaceRoot = join(stack.dir, `ws-${name}`);
  const w = await stack.startWorker({
    taskQueue,
    workspaceRoot,
    toolchain: simulatorToolchain(),
    env: { PACEMAKER_SIM_ITER_SECONDS: '0.5', PACEMAKER_SIM_PIDFILE: pidfile },
  });
  return { taskQueue, workspaceRoot, pidfile, w };
}

test('stopTraining ends pacemaker early and keeps the newest checkpoint as a complete potential', async () => {
  const { taskQueue, pidfile, w } = await startSlowSimulatorWorker('stop');
  try {
    const handle = await startTraining(stack.client, { campaign: 'stop', generation: 0, config: withTestSet(200), results: [results] }, taskQueue);
    await until('iteration 3', async () => ((await readProgress(handle))?.iteration ?? 0) >= 3);
    const pid = Number(await readFile(pidfile, 'utf8'));
    await stopTrainingEarly(handle, 'good enough');
    const artifact = (await handle.result()) as GenerationArtifact;
    assert.ok(artifact.stoppedEarly, 'artifact says it stopped early');
    assert.equal(artifact.stoppedEarly.reason, 'good enough');
    assert.match(artifact.stoppedEarly.checkpoint, /interim_potential_0\.yaml$/);
    assert.ok(artifact.metrics.train.iterations >= 3 && artifact.metrics.train.iterations < 200, `iterations ${artifact.metrics.train.iterations}`);
    await assertStoppedWithTestMetrics(artifact);
    assert.ok((await stat(artifact.path)).size > 0, '.yace written from the checkpoint');
    for (const [name, ref] of Object.entries(artifact.files)) assert.equal(await sha256File(ref.path), ref.sha256, name);
    assert.equal(alive(pid), false, 'pacemaker is gone');
    const described = await describeGeneration(handle);
    assert.equal(described.stage, 'done');
    assert.equal(described.testForceRmse, artifact.metrics.test?.force_rmse_mev_per_a, 'the search attribute has the test RMSE');
  } finally {
    await w.stop();
  }
});

test("cancelling a generation stops pacemaker's whole process group within seconds and keeps its checkpoint", async () => {
  const { taskQueue, workspaceRoot, pidfile, w } = await startSlowSimulatorWorker('cancel');
  try {
    const handle = await startTraining(stack.client, { campaign: 'cancel', generation: 0, config: config(500), results: [results] }, taskQueue);
    await until('iteration 2', async () => ((await readProgress(handle))?.iteration ?? 0) >= 2);
    const pid = Number(await readFile(pidfile, 'utf8'));
    assert.ok(alive(pid), 'pacemaker runs before the cancel');
    const t0 = Date.now();
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError && /cancel/i.test(String(err.cause?.message ?? err.cause)));
    await until('pacemaker to be gone', () => Promise.resolve(!alive(pid) && !groupAlive(pid)), 10_000);
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(seconds < 10, `stopped after ${seconds} s`);
    const desc = await handle.describe();
    assert.equal(desc.status.name, 'CANCELLED');
    assert.equal(desc.raw.pendingActivities?.length ?? 0, 0, 'no activity left pending (it would be retried)');
    const gen = join(workspaceRoot, 'cancel', 'potentials', 'generation_000');
    assert.ok(await exists(join(gen, 'interim_potential_0.yaml')), 'checkpoint kept');
    // Nothing restarts it: once the worker holds no activity of it any more (the workflow is
    // closed, so none can be scheduled again), no potential has been written.
    await until('the worker to hold no activity', () => Promise.resolve(w.workers.every((x) => x.getStatus().numInFlightActivities === 0)), 30_000);
    assert.equal(await exists(join(gen, 'output_potential.yace')), false);
  } finally {
    await w.stop();
  }
});

test('starting the same generation twice while it runs attaches to the first run, and again after it finished trains nothing', async () => {
  const taskQueue = 'q-twice';
  const workspaceRoot = join(stack.dir, 'ws-twice');
  const iterLog = join(stack.dir, 'twice.iters');
  const w = await stack.startWorker({
    taskQueue,
    workspaceRoot,
    toolchain: simulatorToolchain(),
    env: { PACEMAKER_SIM_ITER_SECONDS: '0.1', PACEMAKER_SIM_ITER_LOG: iterLog },
  });
  try {
    const input = { campaign: 'twice', generation: 0, config: config(8), results: [results] };
    const [a, b] = await Promise.all([startTraining(stack.client, input, taskQueue), startTraining(stack.client, input, taskQueue)]);
    const c = await startTraining(stack.client, input, taskQueue);
    assert.equal(a.workflowId, 'train-twice-generation_000');
    const runIds = new Set([(await a.describe()).runId, (await b.describe()).runId, (await c.describe()).runId]);
    assert.equal(runIds.size, 1, 'one run');
    const first = (await a.result()) as PotentialArtifact;
    assert.equal(await countIterations(iterLog), 8);

    const again = await startTraining(stack.client, input, taskQueue);
    const second = (await again.result()) as PotentialArtifact;
    assert.equal(await countIterations(iterLog), 8, 'no iteration ran for the second start');
    assert.equal(second.files['output_potential.yace']?.sha256, first.files['output_potential.yace']?.sha256);
  } finally {
    await w.stop();
  }
});

test('`temporal workflow start --type trainPotentialWorkflow --input-file` produces the same artifact as the client', async () => {
  const taskQueue = 'q-cli';
  const workspaceRoot = join(stack.dir, 'ws-cli');
  const w = await stack.startWorker({ taskQueue, workspaceRoot, toolchain: simulatorToolchain() });
  try {
    const viaClient = (await (await startTraining(stack.client, { campaign: 'via-client', generation: 0, config: config(6), results: [results] }, taskQueue)).result()) as PotentialArtifact;

    const inputFile = join(stack.dir, 'generation0.json');
    await writeFile(inputFile, JSON.stringify({ campaign: 'via-cli', generation: 0, config: config(6), results: [results], initialPotential: null, parentVersion: null }));
    const cli = await findTemporalCli();
    await execa(cli, [
      'workflow', 'start', '--address', stack.server.address, '--type', 'trainPotentialWorkflow', '--task-queue', taskQueue,
      '--workflow-id', 'train-via-cli-generation_000', '--input-file', inputFile,
    ]);
    const viaCli = (await stack.client.workflow.getHandle('train-via-cli-generation_000').result()) as PotentialArtifact;
    PotentialArtifact.parse(viaCli);
    assert.equal(viaCli.version, viaClient.version);
    assert.equal(viaCli.datasetSha256, viaClient.datasetSha256);
    assert.equal(viaCli.configSha256, viaClient.configSha256);
    assert.deepEqual(viaCli.metrics, viaClient.metrics);
    assert.equal(viaCli.files['output_potential.yace']?.sha256 !== undefined, true);

    // Bad input through the same door: a clear, non-retryable failure naming the field and value.
    const bad = join(stack.dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ campaign: 'via-cli', generation: -1, config: config(6) }));
    await execa(cli, ['workflow', 'start', '--address', stack.server.address, '--type', 'trainPotentialWorkflow', '--task-queue', taskQueue, '--workflow-id', 'bad-cli', '--input-file', bad]);
    await assert.rejects(stack.client.workflow.getHandle('bad-cli').result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      const cause = err.cause as { type?: string; message?: string };
      assert.equal(cause.type, 'BadInput');
      assert.match(cause.message ?? '', /input\.generation: .*\(got -1\)/);
      return true;
    });
  } finally {
    await w.stop();
  }
});

test('stopTraining against the real pacemaker keeps its newest checkpoint as a converted potential, when one is installed', async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  const taskQueue = 'q-stop-real';
  const workspaceRoot = join(stack.dir, 'ws-stop-real');
  const w = await stack.startWorker({ taskQueue, workspaceRoot, toolchain });
  try {
    const realResults = join(stack.dir, 'emt-real.jsonl');
    await labelEmt({ out: realResults, count: 10, seed: 4, python: toolchain.python });
    const handle = await startTraining(stack.client, { campaign: 'stop-real', generation: 0, config: withTestSet(2000), results: [realResults] }, taskQueue);
    await until('iteration 5 of the real fit', async () => ((await readProgress(handle))?.iteration ?? 0) >= 5, 180_000);
    await stopTrainingEarly(handle, 'enough');
    const artifact = (await handle.result()) as GenerationArtifact;
    assert.ok(artifact.stoppedEarly);
    const { train, test } = artifact.metrics;
    console.log(
      `real pacemaker stopped after ${train.iterations} iterations, checkpoint ${artifact.stoppedEarly.checkpoint}; ` +
        `train ${train.energy_rmse_mev_per_atom.toFixed(2)} meV/atom ${train.force_rmse_mev_per_a.toFixed(2)} meV/Å, ` +
        `test ${test?.energy_rmse_mev_per_atom.toFixed(2)} meV/atom ${test?.force_rmse_mev_per_a.toFixed(2)} meV/Å, evaluation ${artifact.timings.pacemakerSeconds} s`,
    );
    assert.ok(artifact.metrics.train.iterations >= 5 && artifact.metrics.train.iterations < 2000);
    await assertStoppedWithTestMetrics(artifact);
    const evalLog = await readFile(join(dirname(artifact.path), STOP_EVALUATION_DIR, 'log.txt'), 'utf8');
    assert.match(evalLog, /Target potential loaded from file 'stopped_potential\.yaml'/);
    assert.match(evalLog, /Predictions are saved into test_pred\.pckl\.gzip/);
    assert.doesNotMatch(evalLog, /Iteration +#|Fitting done/, 'nothing fitted');
    assert.equal(artifact.simulated, false);
    assert.doesNotMatch(await readFile(artifact.path, 'utf8'), /SIMULATED/);
    assert.ok((await stat(artifact.path)).size > 0);
  } finally {
    await w.stop();
  }
});
