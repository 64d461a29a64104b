// The trainer under a hung fit, a kernel out-of-memory kill and a worker's training slot: the
// pacemaker simulator hangs, kills itself or reports the environment it saw; no Temporal here
// (the retry through Temporal is in test/integration/workflows/train-potential/stall.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simulatorToolchain } from '../../../src/pacemaker/toolchain.js';
import { StalledError } from '../../../src/errors.js';
import type { TrainingProgress } from '../../../src/domain/progress.js';
import { planSlots } from '../../../src/process/slots.js';
import { iterationLog, makeCampaign, runsOf } from './helpers.js';

const sim = simulatorToolchain();
const owner = { workflowId: 'train-t-generation_000', activityId: '2', attempt: 1 };

// 5 s of silence: far longer than the simulator's start-up, even on a loaded machine.
test('a fit that hangs at iteration 6 is stopped by the stall watchdog as a retryable Stalled failure, reported as "no progress" first, and the retry resumes from its checkpoint', async () => {
  const c = await makeCampaign(sim);
  const iterLog = join(c.dir, 'iterations.log');
  const pidfile = join(c.dir, 'pacemaker.pid');
  const env = { PACEMAKER_SIM_HANG_AT_ITER: '6', PACEMAKER_SIM_ITER_LOG: iterLog, PACEMAKER_SIM_PIDFILE: pidfile, PACEMAKER_SIM_FAULT_ONCE: join(c.dir, 'hung') };
  const seen: TrainingProgress[] = [];
  const trainer = c.trainer({ env, config: { max_epochs: 15 } });
  await assert.rejects(trainer.train(c.data, null, { owner, stallTimeoutSeconds: 5, onProgress: (p) => seen.push(p) }), (err: unknown) => {
    assert.ok(err instanceof StalledError, String(err));
    assert.equal(err.retryable, true);
    assert.match(err.message, /^pacemaker stalled: no output for [\d.]+ s \(limit 5 s\), so its process group was killed; last line: ".+"/);
    assert.ok(err.details.silentSeconds > 5);
    return true;
  });
  const hungPid = Number(await readFile(pidfile, 'utf8'));
  assert.throws(() => process.kill(hungPid, 0), /ESRCH/, 'the hung pacemaker is gone');
  const silent = seen.filter((p) => p.silentSeconds !== null && p.silentSeconds !== undefined);
  assert.ok(silent.length > 0, 'the silence was reported before the stop');
  assert.equal(silent.at(-1)!.stallLimitSeconds, 5);
  const checkpoint = seen.at(-1)!.checkpoint;
  assert.ok(checkpoint, 'the last progress carries a checkpoint');
  const runs = await runsOf(trainer.generationDir);
  assert.match(String(runs.at(-1)!.failure), /^pacemaker stalled/);

  const artifact = await c.trainer({ env, config: { max_epochs: 15 } }).train(c.data, null, { owner: { ...owner, attempt: 2 }, resume: { checkpoint } });
  assert.equal(artifact.metrics.train.iterations, 15);
  const iterations = await iterationLog(iterLog);
  assert.ok(iterations.length >= 15 && iterations.length <= 16, `${iterations.length} iterations executed for 15 (at most one repeated): ${iterations.join(',')}`);
});

test('a fit killed by the kernel (SIGKILL it did not get from the worker) is named so and retried with a smaller batch from its checkpoint', async () => {
  const c = await makeCampaign(sim);
  const trainer = c.trainer({ env: { PACEMAKER_SIM_KILLED_ABOVE_BATCH: '5' }, config: { max_epochs: 6, batch_size: 10 } });
  const artifact = await trainer.train(c.data, null, { owner });
  assert.equal(artifact.metrics.train.iterations, 6);
  const runs = await runsOf(trainer.generationDir);
  const ends = runs.filter((r) => r.event === 'end');
  assert.match(String(ends[0]!.failure), /exited with SIGKILL \[OutOfMemory: killed by the kernel/);
  assert.equal(ends[0]!.nextBatchSize, 5);
  const starts = runs.filter((r) => r.event === 'start');
  assert.deepEqual(starts.map((r) => r.batchSize), [10, 5]);
  // Killed at iteration 3: the checkpoint is iteration 2's, or 1's when the interim file was
  // written before its log line was read (a checkpoint may be one behind, never ahead).
  assert.match(String(starts[1]!.resumedFrom), /iteration [12]\)$/, 'resumed from the checkpoint of iteration 1 or 2');
});

test("a training slot's GPU and threads reach every pacemaker run of the fit and are recorded in runs.jsonl and the artifact", async () => {
  const c = await makeCampaign(sim);
  const envLog = join(c.dir, 'env.jsonl');
  const slot = planSlots({ slots: 2, gpus: ['6', '7'], cores: 8 })[1]!;
  const trainer = c.trainer({ env: { PACEMAKER_SIM_ENV_LOG: envLog, PACEMAKER_SIM_OOM_ABOVE_BATCH: '5' }, config: { max_epochs: 3, batch_size: 10 } });
  const artifact = await trainer.train(c.data, null, { owner, resources: slot });
  const seen = (await readFile(envLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { env: Record<string, string | null> });
  assert.equal(seen.length, 2, 'two runs: the out-of-memory one and its retry');
  for (const s of seen) {
    assert.deepEqual(s.env, {
      CUDA_VISIBLE_DEVICES: '7',
      TF_FORCE_GPU_ALLOW_GROWTH: 'true',
      TF_NUM_INTRAOP_THREADS: '4',
      TF_NUM_INTEROP_THREADS: '2',
      OMP_NUM_THREADS: '4',
      OPENBLAS_NUM_THREADS: '4',
      MKL_NUM_THREADS: '4',
    });
  }
  const starts = (await runsOf(trainer.generationDir)).filter((r) => r.event === 'start');
  for (const r of starts) {
    assert.equal(r.gpu, '7');
    assert.equal(r.threads, 4);
    assert.equal(typeof r.host, 'string');
  }
  assert.deepEqual({ gpu: artifact.resources?.gpu, threads: artifact.resources?.threads }, { gpu: '7', threads: 4 });
});
