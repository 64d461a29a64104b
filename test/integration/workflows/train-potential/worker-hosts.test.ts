// Worker hosts as clusters run them, against a real dev server: a hung fit is stopped by the
// stall watchdog and retried; a training worker SIGTERMed mid-fit (a batch scheduler at
// walltime) hands the fit to another worker well before the heartbeat timeout; and a worker with
// two training slots gives each concurrent fit its own GPU (the simulator reports what it saw).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { simulatorToolchain } from '../../../../src/pacemaker/toolchain.js';
import { labelEmt } from '../../../../src/dataset/emt.js';
import { readProgress, startTraining } from '../../../../src/client/train.js';
import { formatProgress } from '../../../../src/cli/progress.js';
import type { GenerationArtifact } from '../../../../workflows/train-potential.js';
import { until, smallConfig } from '../../../helpers/wait.js';

let stack: TestStack;
let results: string;

before(async () => {
  stack = await startTestStack();
  results = join(stack.dir, 'emt.jsonl');
  await labelEmt({ out: results, count: 6, seed: 7 });
});
after(async () => {
  await stack?.stop();
});

async function iterationsRun(log: string): Promise<number[]> {
  const text = await readFile(log, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.replace('iteration ', '')));
}

/** The failure the server recorded for the attempt before the one that completed trainPotential. */
async function lastFailureBeforeSuccess(handle: WorkflowHandle): Promise<{ attempt: number; message: string; timeout: boolean; type: string | null }> {
  const history = await handle.fetchHistory();
  const scheduled = new Set<string>();
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === 'trainPotential') scheduled.add(String(e.eventId));
  }
  for (const e of history.events ?? []) {
    const started = e.activityTaskStartedEventAttributes;
    if (!started || !scheduled.has(String(started.scheduledEventId))) continue;
    // The server wraps a failure above its size limit ("Failure exceeds size limit."): the activity's own is its cause.
    let f = started.lastFailure;
    while (f?.cause && !f.applicationFailureInfo?.type && !f.timeoutFailureInfo) f = f.cause;
    return {
      attempt: started.attempt ?? 0,
      message: f?.message ?? '',
      timeout: Boolean(f?.timeoutFailureInfo),
      type: f?.applicationFailureInfo?.type ?? null,
    };
  }
  throw new Error('no trainPotential attempt in the history');
}

test('a fit that hangs is reported as "no progress", stopped by the stall watchdog, retried from its checkpoint and completed with at most one iteration repeated', async () => {
  const taskQueue = 'q-hang';
  const iterLog = join(stack.dir, 'hang.iters');
  // Hangs once, at iteration 10 of 30, as a wedged GPU driver or NFS mount leaves pacemaker.
  const env = { PACEMAKER_SIM_HANG_AT_ITER: '10', PACEMAKER_SIM_FAULT_ONCE: join(stack.dir, 'hang.fired'), PACEMAKER_SIM_ITER_LOG: iterLog, PACEMAKER_SIM_ITER_SECONDS: '0.1' };
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'ws-hang'), toolchain: simulatorToolchain(), env });
  try {
    // 5 s of silence: far beyond the simulator's start-up; a heartbeat timeout far beyond that.
    const handle = await startTraining(
      stack.client,
      { campaign: 'hang', generation: 0, config: smallConfig(30), results: [results], tuning: { stallTimeoutSeconds: 5, heartbeatTimeoutSeconds: 600 } },
      taskQueue,
    );
    const quiet = await until('the hung fit reported as silent', async () => {
      const p = await readProgress(handle);
      return p?.silentSeconds ? p : null;
    });
    const shown = formatProgress(quiet);
    console.log(`status while hung: ${shown}`);
    assert.match(shown, /no progress for \d+ s \(stalled after 5 s\)/);
    assert.doesNotMatch(shown, /ETA/);

    const artifact = (await handle.result()) as GenerationArtifact;
    assert.equal(artifact.metrics.train.iterations, 30);
    const all = await iterationsRun(iterLog);
    console.log(`iterations executed: ${all.length} for 30 (${all.join(' ')})`);
    assert.ok(all.length >= 30 && all.length <= 31, `${all.length} iterations executed for a 30-iteration fit: at most one repeated`);
    const failure = await lastFailureBeforeSuccess(handle);
    assert.equal(failure.attempt, 2);
    assert.equal(failure.type, 'Stalled');
    assert.match(failure.message, /^pacemaker stalled: no output for [\d.]+ s \(limit 5 s\)/);
  } finally {
    await w.stop();
  }
});

test('a training worker SIGTERMed mid-fit, as a batch scheduler does at walltime, hands the fit to another worker that finishes it with at most one iteration repeated, well before the heartbeat timeout', { timeout: 300_000 }, async () => {
  const taskQueue = 'q-walltime';
  const workspaceRoot = join(stack.dir, 'ws-walltime');
  const iterLog = join(stack.dir, 'walltime.iters');
  // 100 iterations of 0.3 s: the fit outlasts the 10 s a stopping worker gives running activities.
  const env = { PACEMAKER_SIM_ITER_SECONDS: '0.3', PACEMAKER_SIM_ITER_LOG: iterLog };
  // Workflows and dataset work here; the fits on two training-only worker processes.
  const data = await stack.startWorker({ taskQueue, workspaceRoot, toolchain: simulatorToolchain(), env, roles: ['data'] });
  const training = ['--role', 'training'];
  try {
    const first = await stack.spawnWorkerProcess({ taskQueue, workspaceRoot, env, logName: 'walltime-1', args: training });
    // A heartbeat timeout of 10 min: a hand-over through it would take that long, and is told apart below.
    const handle = await startTraining(
      stack.client,
      { campaign: 'walltime', generation: 0, config: smallConfig(100), results: [results], tuning: { heartbeatTimeoutSeconds: 600 } },
      taskQueue,
    );
    await until('the fit running on the first worker', async () => ((await readProgress(handle))?.iteration ?? 0) >= 1);
    const second = await stack.spawnWorkerProcess({ taskQueue, workspaceRoot, env, logName: 'walltime-2', args: training });
    await until('iteration 8 with a checkpoint in the heartbeat', async () => {
      const p = await readProgress(handle);
      return p && (p.iteration ?? 0) >= 8 && (p as { checkpoint?: unknown }).checkpoint ? p : null;
    });
    const exited = new Promise<number | null>((r) => first.once('exit', (code) => r(code)));
    process.kill(first.pid!, 'SIGTERM');
    assert.equal(await exited, 0, 'the SIGTERMed worker stops cleanly');
    const beforeTerm = await iterationsRun(iterLog);

    const artifact = (await handle.result()) as GenerationArtifact;
    assert.equal(artifact.metrics.train.iterations, 100);
    const all = await iterationsRun(iterLog);
    console.log(`iterations before SIGTERM: ${beforeTerm.length}; executed in all: ${all.length} (${all.join(' ')})`);
    assert.ok(all.length >= 100 && all.length <= 101, `${all.length} iterations executed for a 100-iteration fit: at most one repeated`);
    const failure = await lastFailureBeforeSuccess(handle);
    console.log(`attempt ${failure.attempt} followed: ${failure.message.split('\n')[0]}`);
    assert.equal(failure.attempt, 2);
    assert.equal(failure.timeout, false, 'handed over by a failure the worker reported, not by a missed heartbeat');
    process.kill(second.pid!, 'SIGTERM');
  } finally {
    await data.stop();
  }
});

test('a worker with two training slots and two GPUs gives each of two concurrent fits its own GPU and half the threads', async () => {
  const taskQueue = 'q-gpus';
  const envLog = join(stack.dir, 'gpus.env.jsonl');
  const env = { PACEMAKER_SIM_ITER_SECONDS: '0.25', PACEMAKER_SIM_ENV_LOG: envLog };
  const w = await stack.startWorker({ taskQueue, workspaceRoot: join(stack.dir, 'ws-gpus'), toolchain: simulatorToolchain(), env, trainingSlots: 2, gpus: ['0', '1'], cpusPerSlot: 3 });
  try {
    const handles = await Promise.all(
      [0, 1].map((g) => startTraining(stack.client, { campaign: `gpus-${g}`, generation: 0, config: smallConfig(60), results: [results] }, taskQueue)),
    );
    await until('both fits training at once', async () => {
      const p = await Promise.all(handles.map((h) => readProgress(h)));
      return p.every((x) => (x?.iteration ?? 0) >= 1);
    });
    const artifacts = (await Promise.all(handles.map((h) => h.result()))) as GenerationArtifact[];
    const gpus = artifacts.map((a) => a.resources?.gpu).sort();
    assert.deepEqual(gpus, ['0', '1'], 'each fit had a GPU of its own');
    assert.deepEqual(artifacts.map((a) => a.resources?.threads), [3, 3]);
    const seen = (await readFile(envLog, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argv: string[]; env: Record<string, string | null> });
    const fits = seen.filter((s) => !s.argv.includes('--version') && !s.argv.includes('-v'));
    console.log(`runs and the GPU each saw: ${fits.map((s) => s.env.CUDA_VISIBLE_DEVICES).join(', ')}`);
    assert.ok(fits.length >= 2);
    for (const s of fits) {
      assert.ok(s.env.CUDA_VISIBLE_DEVICES === '0' || s.env.CUDA_VISIBLE_DEVICES === '1', JSON.stringify(s.env));
      assert.equal(s.env.TF_FORCE_GPU_ALLOW_GROWTH, 'true');
      assert.equal(s.env.TF_NUM_INTRAOP_THREADS, '3');
      assert.equal(s.env.OMP_NUM_THREADS, '3');
    }
  } finally {
    await w.stop();
  }
});
