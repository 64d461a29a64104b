// The terminal side of a running generation, through the real `mlip-trainer` binary against a
// real dev server: train --wait, status, list, stop, cancel, --json, train --pool; and the worker
// routing a cluster relies on (per-capability queues, host pinning).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { WorkflowNotFoundError } from '@temporalio/client';
import { startTestStack, type TestStack } from '../../helpers/stack.js';
import { simulatorToolchain } from '../../../src/pacemaker/toolchain.js';
import { labelEmt } from '../../../src/dataset/emt.js';
import { readProgress, startTraining } from '../../../src/client/train.js';
import { PROJECT_ROOT } from '../../../src/paths.js';
import { freePort, startDevServer } from '../../../src/temporal/dev-server.js';
import { PotentialArtifact } from '../../../src/domain/schemas.js';
import { isSelectionOnly, type GenerationResult } from '../../../src/domain/generation-result.js';
import { until } from '../../helpers/wait.js';

const BIN = join(PROJECT_ROOT, 'bin', 'mlip-trainer.js');
let stack: TestStack;
let results: string;
let configFile: string;

before(async () => {
  stack = await startTestStack();
  results = join(stack.dir, 'emt.jsonl');
  await labelEmt({ out: results, count: 5, seed: 9 });
  configFile = join(stack.dir, 'cfg.yml');
  await writeFile(configFile, 'elements: [Cu, Ni]\ncutoff: 5\norder: 2\nfunctions_per_element: 5\nmax_epochs: 6\nevaluator: pyace\ntest_size: 0\n');
});
after(async () => {
  await stack?.stop();
});

function cli(...args: string[]) {
  return execa('node', [BIN, ...args], { reject: false, env: { TEMPORAL_ADDRESS: stack.server.address } });
}

test('train --wait --json prints the artifact; status, list and watch --json describe the finished generation', async () => {
  const taskQueue = 'q-cli-train';
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'ws-a'), toolchain: simulatorToolchain() });
  try {
    const r = await cli('train', '--config', configFile, '--results', results, '--campaign', 'clia', '--generation', '0', '--task-queue', taskQueue, '--wait', '--json');
    assert.equal(r.exitCode, 0, r.stderr);
    const artifact = PotentialArtifact.parse(JSON.parse(r.stdout));
    assert.equal(artifact.version, 'generation_000');

    const s = await cli('status', '--campaign', 'clia', '--generation', '0', '--json');
    assert.equal(s.exitCode, 0, s.stderr);
    const status = JSON.parse(s.stdout) as { status: string; stage: string; campaign: string; result: { path: string } };
    assert.equal(status.status, 'COMPLETED');
    assert.equal(status.stage, 'done');
    assert.equal(status.result.path, artifact.path);

    const human = await cli('status', '--campaign', 'clia', '--generation', '0');
    assert.match(human.stdout, /^train-clia-generation_000: COMPLETED \(stage done\) · F \d+\.\d\d meV\/Å\n {2}Cu-Ni gen 0: from scratch on 5 new structures\n/);

    const l = await until('list to show it', async () => {
      const out = await cli('list', '--campaign', 'clia', '--json');
      const rows = JSON.parse(out.stdout) as { workflowId: string; stage: string }[];
      return rows.length === 1 && rows[0]!.stage === 'done' ? rows : null;
    });
    assert.equal(l[0]!.workflowId, 'train-clia-generation_000');

    const listed = await cli('list', '--campaign', 'clia');
    assert.match(listed.stdout, /train-clia-generation_000 {2}COMPLETED {2}done {2}\S+ {2}F \d+\.\d\d meV\/Å {2}Cu-Ni gen 0: from scratch on 5 new structures/);

    // The campaign's report, from its folder: the page and one SVG per figure.
    const out = join(stack.dir, 'report-a');
    const rep = await cli('report', '--campaign', 'clia', '--workspace', join(stack.dir, 'ws-a'), '--out', out, '--json');
    assert.equal(rep.exitCode, 0, rep.stderr);
    const built = JSON.parse(rep.stdout) as { html: string; figures: string[]; generations: number };
    assert.equal(built.html, join(out, 'index.html'));
    assert.equal(built.generations, 1);
    assert.ok(built.figures.includes(join(out, 'figures', 'rmse.svg')));
    const none = await cli('report', '--campaign', 'nosuch', '--workspace', join(stack.dir, 'ws-a'));
    assert.equal(none.exitCode, 2);
    assert.match(none.stderr, /no campaign at \S+\/ws-a\/nosuch: it has no potentials\/, selections\/ or data\/manifest\.json/);

    const watch = await cli('watch', '--workflow-id', 'train-clia-generation_000', '--json');
    assert.equal(watch.exitCode, 0, watch.stderr);
    assert.equal((JSON.parse(watch.stdout.trim().split('\n').at(-1)!) as { artifact: { path: string } }).artifact.path, artifact.path);
  } finally {
    await w.stop();
  }
});

test('stop and cancel from the CLI; bad arguments exit 2 naming the flag and value', async () => {
  const taskQueue = 'q-cli-steer';
  // Simulated iterations of 0.4 s: the fits are still running when the CLI stops and cancels them.
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'ws-b'), toolchain: simulatorToolchain(), trainingSlots: 2, env: { PACEMAKER_SIM_ITER_SECONDS: '0.4' } });
  try {
    const cfg = (campaign: string) => ({ campaign, generation: 0, config: { engine: 'pacemaker' as const, pacemaker: { elements: ['Cu', 'Ni'], cutoff: 5, order: 2, functions_per_element: 5, max_epochs: 300, evaluator: 'pyace' as const, test_size: 0 } }, results: [results] });
    const a = await startTraining(stack.client, cfg('clistop'), taskQueue);
    const b = await startTraining(stack.client, cfg('clicancel'), taskQueue);
    await until('both training', async () => ((await readProgress(a))?.iteration ?? 0) >= 2 && ((await readProgress(b))?.iteration ?? 0) >= 2);

    const running = await cli('status', '--campaign', 'clistop', '--generation', '0');
    assert.match(running.stdout, /^train-clistop-generation_000: RUNNING \(stage training\) · training: iteration \d+\/300 loss \S+ E \S+ meV\/at F \S+ meV\/Å ETA \d+ s\n/);

    const stop = await cli('stop', '--campaign', 'clistop', '--generation', '0', '--reason', 'from the CLI', '--json');
    assert.equal(stop.exitCode, 0, stop.stderr);
    const stopped = JSON.parse(stop.stdout) as { stoppedEarly: { reason: string }; metrics: { train: { iterations: number } } };
    assert.equal(stopped.stoppedEarly.reason, 'from the CLI');
    assert.ok(stopped.metrics.train.iterations < 300);

    const cancel = await cli('cancel', '--campaign', 'clicancel', '--generation', '0', '--json');
    assert.equal(cancel.exitCode, 0, cancel.stderr);
    assert.deepEqual(JSON.parse(cancel.stdout), { workflowId: 'train-clicancel-generation_000', status: 'CANCELLED' });
    const again = await cli('cancel', '--campaign', 'clicancel', '--generation', '0');
    assert.equal(again.exitCode, 0, again.stderr);
    assert.match(again.stdout, /already CANCELLED, nothing to cancel/);
    const stopDone = await cli('stop', '--campaign', 'clistop', '--generation', '0');
    assert.equal(stopDone.exitCode, 2);
    assert.match(stopDone.stderr, /train-clistop-generation_000 is COMPLETED, not running: nothing to stop/);

    // The human form of train --wait: progress lines on stderr (no TTY here), the artifact on stdout.
    const slowConfig = join(stack.dir, 'slow.yml');
    await writeFile(slowConfig, 'elements: [Cu, Ni]\ncutoff: 5\norder: 2\nfunctions_per_element: 5\nmax_epochs: 15\nevaluator: pyace\ntest_size: 0\n');
    const reportOut = join(stack.dir, 'report-wait');
    const waited = await cli('train', '--config', slowConfig, '--results', results, '--campaign', 'cliwait', '--task-queue', taskQueue, '--wait', '--report', '--report-out', reportOut);
    assert.equal(waited.exitCode, 0, waited.stderr);
    assert.match(waited.stderr, new RegExp(`report: ${reportOut}/index\\.html \\(\\d+ figures as SVG in ${reportOut}/figures/\\)`));
    assert.match(waited.stderr, /training: iteration \d+\/15 loss \S+ E \S+ meV\/at F \S+ meV\/Å ETA \d+ s/);
    assert.equal((JSON.parse(waited.stdout) as { version: string }).version, 'generation_000');

    const noTarget = await cli('status', '--campaign', 'clistop');
    assert.equal(noTarget.exitCode, 2);
    assert.match(noTarget.stderr, /--campaign <name> --generation <n>, or --workflow-id <id>/);
    const unknown = await cli('status', '--campaign', 'nosuch', '--generation', '4');
    assert.equal(unknown.exitCode, 2);
    assert.match(unknown.stderr, /no generation train-nosuch-generation_004 in namespace default/);
    const badStatus = await cli('list', '--status', 'Done');
    assert.equal(badStatus.exitCode, 2);
    assert.match(badStatus.stderr, /--status must be one of Running, .* got "Done"/);
  } finally {
    await w.stop();
  }
});

test('train --pool FILE -n N: generation 0 without results only selects, the next trains and selects; --wait prints the selection summary; a pool with a foreign element exits 2 before training', async () => {
  const taskQueue = 'q-cli-pool';
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'ws-pool'), toolchain: simulatorToolchain() });
  try {
    const pool = join(stack.dir, 'cli-pool.jsonl');
    await labelEmt({ out: pool, count: 12, seed: 21 });
    const base = ['train', '--config', configFile, '--campaign', 'clipool', '--task-queue', taskQueue, '--wait'];

    // Nothing labelled yet: generation 0 only selects, with the unfitted shape of the config.
    const only = await cli(...base, '--generation', '0', '--pool', pool, '-n', '3', '--pool-memory-limit', '2GB');
    assert.equal(only.exitCode, 0, only.stderr);
    const r0 = JSON.parse(only.stdout) as GenerationResult;
    assert.ok(isSelectionOnly(r0), `a selection-only result on stdout (got kind ${String(r0.kind)})`);
    assert.equal(r0.selection.pool, pool);
    assert.equal(r0.selection.indices.length, 3);
    assert.equal(r0.selection.memoryLimit, '2GB');
    assert.match(only.stderr, /generation_000: campaign clipool has no labelled structures yet: only the selection ran \(3 structures to label\); no potential was trained/);
    assert.match(only.stderr, /selected 3 of 12 structures \(n = 3\)/);
    const counts = /by pace_select \(D-optimality\): (\d+) [^\n]*\n\s+by largest extrapolation grade: (\d+) /.exec(only.stderr);
    assert.deepEqual([Number(counts?.[1]), Number(counts?.[2])], [r0.selection.counts.pace_select, r0.selection.counts.gamma]);
    assert.ok(only.stderr.includes(`selected   ${r0.selection.selected.path}\n`), 'where the selected pickle is');
    assert.match(only.stderr, /unfitted shape from pacemaker --dry-run/);

    // Labelled results and the pool: trained, then selected with the new potential.
    const trained = await cli(...base, '--generation', '1', '--results', results, '--pool', pool, '-n', '2');
    assert.equal(trained.exitCode, 0, trained.stderr);
    const a = PotentialArtifact.parse(JSON.parse(trained.stdout));
    assert.equal(a.selection?.indices.length, 2);
    assert.equal(a.selection?.potential, a.potentialYaml);
    assert.equal(a.selection?.memoryLimit, '8GB', 'the default limit');
    assert.match(trained.stderr, /generation_001: trained \S+output_potential\.yace; structures to label next, selected with it:\nselected 2 of 12 structures \(n = 2\)/);
    assert.ok(trained.stderr.includes(`selected   ${a.selection?.selected.path}\n`));

    // A pool with an element the config lacks: the CLI checks the pool before it connects, exit 2,
    // and no workflow starts.
    const alPool = join(stack.dir, 'cli-pool-al.jsonl');
    await labelEmt({ out: alPool, count: 4, elements: ['Cu', 'Al'], seed: 5 });
    const bad = await cli(...base, '--generation', '2', '--results', results, '--pool', alPool, '-n', '2');
    assert.equal(bad.exitCode, 2, bad.stderr);
    assert.ok(bad.stderr.includes(`--pool: ${alPool} has element(s) Al that the config lacks (its elements: Cu, Ni)`), bad.stderr);
    await assert.rejects(stack.client.workflow.getHandle('train-clipool-generation_002').describe(), WorkflowNotFoundError, 'nothing started');
  } finally {
    await w.stop();
  }
});

test('training is routed to <queue>-training and a pinned campaign runs every step on its host queue', async () => {
  const taskQueue = 'q-route';
  const workspaceRoot = join(stack.dir, 'ws-route');
  const dataOnly = await stack.startWorker({ taskQueue, workspaceRoot, toolchain: simulatorToolchain(), roles: ['data'] });
  const gpu = await stack.startWorker({ taskQueue, workspaceRoot, toolchain: simulatorToolchain(), roles: ['training'] });
  const hostOnly = await stack.startWorker({ taskQueue: 'unused', workspaceRoot: join(stack.dir, 'ws-host'), toolchain: simulatorToolchain(), roles: [], hostQueue: 'host-b' });
  try {
    const scheduledOn = async (workflowId: string) => {
      const h = await stack.client.workflow.getHandle(workflowId).fetchHistory();
      return Object.fromEntries(
        (h.events ?? [])
          .map((e) => e.activityTaskScheduledEventAttributes)
          .filter((a) => a !== null && a !== undefined)
          .map((a) => [a.activityType?.name, a.taskQueue?.name]),
      ) as Record<string, string>;
    };
    const shared = await startTraining(stack.client, { campaign: 'route', generation: 0, config: { engine: 'pacemaker', pacemaker: { elements: ['Cu', 'Ni'], cutoff: 5, max_epochs: 3, order: 2, functions_per_element: 5, evaluator: 'pyace', test_size: 0 } }, results: [results] }, taskQueue);
    await shared.result();
    const q1 = await scheduledOn(shared.workflowId);
    assert.equal(q1.updateDataset, 'q-route');
    assert.equal(q1.trainPotential, 'q-route-training');

    const r = await cli('train', '--config', configFile, '--results', results, '--campaign', 'pinned', '--task-queue', taskQueue, '--pin-queue', 'host-b', '--wait', '--json');
    assert.equal(r.exitCode, 0, r.stderr);
    const q2 = await scheduledOn('train-pinned-generation_000');
    assert.equal(q2.updateDataset, 'host-b');
    assert.equal(q2.trainPotential, 'host-b');
    assert.match((JSON.parse(r.stdout) as { path: string }).path, /ws-host\/pinned\//);
  } finally {
    await hostOnly.stop();
    await gpu.stop();
    await dataOnly.stop();
  }
});

test('a workflow worker refuses to start on a server that lacks the search attributes, and says how to register them', async () => {
  const bare = await startDevServer({ port: await freePort(), headless: true, logFile: join(stack.dir, 'bare.log'), searchAttributes: {} });
  try {
    const r = await execa('node', [BIN, 'worker', '--address', bare.address, '--workspace', join(stack.dir, 'ws-bare'), '--pacemaker', 'simulator'], { reject: false, timeout: 60_000 });
    // The server's set-up, not the user's input: exit 1 like an unreachable server.
    assert.equal(r.exitCode, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /namespace default lacks the search attributes MlipCampaign, MlipGeneration, MlipStage, MlipElements, MlipTestForceRmse/);
    assert.match(r.stderr, /temporal operator search-attribute create --namespace default --name MlipTestForceRmse --type Double/);
  } finally {
    await bare.stop();
  }
});
