// A generation outlives its worker and its server: a worker process SIGKILLed mid-fit is
// replaced by another that resumes from the checkpoint, and a dev server stopped and started
// again on the same SQLite file finishes the generation it had.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { simulatorToolchain } from '../../../../src/pacemaker/toolchain.js';
import { labelEmt } from '../../../../src/dataset/emt.js';
import { readProgress, startTraining } from '../../../../src/client/train.js';
import { exists } from '../../../../src/util/files.js';
import type { GenerationArtifact } from '../../../../workflows/train-potential.js';
import { until, alive, smallConfig } from '../../../helpers/wait.js';

let stack: TestStack;
let results: string;

before(async () => {
  stack = await startTestStack();
  results = join(stack.dir, 'emt.jsonl');
  await labelEmt({ out: results, count: 6, seed: 5 });
});
after(async () => {
  await stack?.stop();
});

const config = smallConfig;

async function iterationsRun(log: string): Promise<number[]> {
  if (!(await exists(log))) return [];
  return (await readFile(log, 'utf8'))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.replace('iteration ', '')));
}

test('a worker SIGKILLed during training is replaced by a second worker that resumes from the checkpoint and finishes the generation', async () => {
  const taskQueue = 'q-kill';
  const workspaceRoot = join(stack.dir, 'ws-kill');
  const iterLog = join(stack.dir, 'kill.iters');
  const pidfile = join(stack.dir, 'kill.pid');
  // Slow simulated iterations (the simulator sleeps 0.4 s in each): the fit is still running when its worker dies.
  const env = { PACEMAKER_SIM_ITER_SECONDS: '0.4', PACEMAKER_SIM_ITER_LOG: iterLog, PACEMAKER_SIM_PIDFILE: pidfile };
  const first = await stack.spawnWorkerProcess({ taskQueue, workspaceRoot, env, logName: 'worker-1' });
  const handle = await startTraining(
    stack.client,
    { campaign: 'kill', generation: 0, config: config(30), results: [results], tuning: { heartbeatTimeoutSeconds: 4 } },
    taskQueue,
  );
  await until('iteration 6 with a checkpoint in the heartbeat', async () => {
    const p = await readProgress(handle);
    return p && (p.iteration ?? 0) >= 6 && (p as { checkpoint?: unknown }).checkpoint ? p : null;
  });
  const firstPacemaker = Number(await readFile(pidfile, 'utf8'));
  // The worker process alone, as when Node crashes: its pacemaker is left running, stale.
  process.kill(first.pid!, 'SIGKILL');
  await new Promise<void>((r) => (first.exitCode !== null || first.signalCode !== null ? r() : first.once('exit', () => r())));
  const beforeKill = await iterationsRun(iterLog);

  const second = await stack.spawnWorkerProcess({ taskQueue, workspaceRoot, env, logName: 'worker-2' });
  const artifact = (await handle.result()) as GenerationArtifact;
  assert.equal(artifact.metrics.train.iterations, 30);
  assert.ok(artifact.files['output_potential.yace'], 'a complete generation');
  const desc = await handle.describe();
  assert.equal(desc.status.name, 'COMPLETED');

  const all = await iterationsRun(iterLog);
  const resumedFrom = all.findIndex((n, i) => i > 0 && n <= all[i - 1]!);
  console.log(`iterations before the kill: ${beforeKill.length}; all executed: ${all.length} (${all.join(' ')})`);
  assert.ok(beforeKill.length >= 6);
  // Resumed, not restarted: the second attempt did not run the fit from iteration 1 again.
  assert.ok(all.length < 30 + beforeKill.length - 2, `executed ${all.length} iterations for a 30-iteration fit after ${beforeKill.length} before the kill`);
  assert.ok(resumedFrom === -1 || all[resumedFrom]! > 1, `second attempt started over at iteration ${all[resumedFrom]}`);
  assert.equal(alive(firstPacemaker), false, "the killed worker's pacemaker was stopped");
  process.kill(second.pid!, 'SIGTERM');
});

test('the dev server stopped during training and started again on the same SQLite file finishes the generation', async () => {
  const taskQueue = 'q-restart';
  const workspaceRoot = join(stack.dir, 'ws-restart');
  const iterLog = join(stack.dir, 'restart.iters');
  // Slow simulated iterations, so the fit outlasts the server's outage.
  const w = await stack.startWorker({ taskQueue, workspaceRoot, toolchain: simulatorToolchain(), env: { PACEMAKER_SIM_ITER_SECONDS: '0.4', PACEMAKER_SIM_ITER_LOG: iterLog } });
  try {
    const input = { campaign: 'restart', generation: 0, config: config(25), results: [results], tuning: { heartbeatTimeoutSeconds: 20 } };
    const handle = await startTraining(stack.client, input, taskQueue);
    await until('iteration 3', async () => ((await readProgress(handle))?.iteration ?? 0) >= 3);
    const address = stack.server.address;
    await stack.restartServer(2000);
    assert.equal(stack.server.address, address, 'same port');
    const artifact = (await until('the result after the restart', async () => (await handle.result()) as GenerationArtifact, 120_000));
    assert.equal(artifact.metrics.train.iterations, 25);
    const desc = await handle.describe();
    assert.equal(desc.status.name, 'COMPLETED');
    // The same run, not a new one: the server kept its state in SQLite.
    assert.equal(desc.runId, (handle as { firstExecutionRunId?: string }).firstExecutionRunId);
    const all = await iterationsRun(iterLog);
    console.log(`iterations executed across the restart: ${all.length}`);
    assert.ok(all.length >= 25);
  } finally {
    await w.stop();
  }
});
