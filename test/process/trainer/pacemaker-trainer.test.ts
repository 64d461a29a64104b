// PacemakerTrainer against the pacemaker simulator's fault injection: real processes, real
// files in temp folders, no Temporal (the retry through Temporal is in test/integration/workflows/train-potential/resume.test.ts).
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { simulatorToolchain } from '../../../src/pacemaker/toolchain.js';
import { OutOfMemoryError, ProgramFailedError, BadInputError } from '../../../src/errors.js';
import { groupAlive } from '../../../src/process/run-program.js';
import type { TrainingProgress } from '../../../src/domain/progress.js';
import { parseCurve } from '../../../src/trainer/learning-curve.js';
import { PID_FILE } from '../../../src/trainer/stale-process.js';
import type { FitCheckpoint } from '../../../src/trainer/checkpoint.js';
import { countFunctions } from '../../../src/trainer/fit-position.js';
import { sha256File } from '../../../src/util/files.js';
import { SMALL, iterationLog, makeCampaign, runsOf } from './helpers.js';
import { until } from '../../helpers/wait.js';

const sim = simulatorToolchain();
const owner = { workflowId: 'train-t-generation_000', activityId: '2', attempt: 1 };

test('a crash at iteration 7 of 20 resumes from the checkpoint copy and ends with 20 iterations plus at most one repeated', async () => {
  const c = await makeCampaign(sim);
  const iterLog = join(c.dir, 'iterations.log');
  const env = { PACEMAKER_SIM_CRASH_AT_ITER: '7', PACEMAKER_SIM_ITER_LOG: iterLog, PACEMAKER_SIM_FAULT_ONCE: join(c.dir, 'crashed') };
  const trainer = c.trainer({ env });
  let last: TrainingProgress | null = null;
  await assert.rejects(trainer.train(c.data, null, { owner, onProgress: (p) => (last = p) }), (err: unknown) => {
    assert.ok(err instanceof ProgramFailedError);
    assert.equal(err.retryable, true);
    assert.match(err.message, /simulated crash at iteration 7/);
    return true;
  });
  const checkpoint = (last as TrainingProgress | null)?.checkpoint;
  assert.ok(checkpoint, 'the last progress carries a checkpoint');
  assert.ok(checkpoint.iteration >= 5 && checkpoint.iteration <= 6, `checkpoint at iteration ${checkpoint.iteration}`);
  assert.equal(await sha256File(checkpoint.path), checkpoint.sha256);
  assert.match(checkpoint.path, /checkpoint_potential\.yaml$/);

  // The retried attempt (a new trainer, as on another worker) gets the heartbeated checkpoint.
  const artifact = await c.trainer({ env }).train(c.data, null, { owner: { ...owner, attempt: 2 }, resume: { checkpoint } });
  const iterations = await iterationLog(iterLog);
  // One extra iteration at most: a checkpoint may be labelled one behind its content, never ahead.
  assert.ok(iterations.length >= 20 && iterations.length <= 21, `${iterations.length} iterations executed: ${iterations.join(',')}`);
  // The simulator numbers iterations by the state they start from: the final state holds at least
  // the 20 iterations asked for (none lost). It holds 21 when the checkpoint was labelled one behind
  // its content; when the crash came before the last iteration was copied, that one runs twice.
  assert.ok(iterations.at(-1)! >= 20 && iterations.at(-1)! <= 21, `final state after ${iterations.at(-1)} iterations: ${iterations.join(',')}`);
  assert.equal(artifact.metrics.train.iterations, 20);

  const runs = await runsOf(trainer.generationDir);
  const starts = runs.filter((r) => r.event === 'start');
  assert.equal(starts.length, 2);
  const resumed = starts[1]!;
  assert.deepEqual((resumed.args as string[]).slice(-2), ['-p', 'resume_potential.yaml']);
  assert.equal(resumed.maxiter, 20 - checkpoint.iteration);
  for (const r of starts) assert.ok(!(r.args as string[]).some((a) => a.includes('best_cycle')), 'never the best-cycle file');
  const input = yaml.load(await readFile(join(trainer.generationDir, 'input.yaml'), 'utf8')) as { fit: Record<string, unknown> };
  assert.equal(input.fit.maxiter, 20 - checkpoint.iteration);

  const curve = parseCurve(await readFile(join(trainer.generationDir, 'learning_curve.tsv'), 'utf8'));
  assert.deepEqual(curve.map((p) => p.iteration), Array.from({ length: 21 }, (_, i) => i), 'one point per iteration 0..20');
  assert.deepEqual([...new Set(curve.map((p) => p.run))], [1, 2]);
  assert.ok(artifact.files['learning_curve.tsv']);
  assert.ok(artifact.files['report/train_E-dE-dist.png'], 'report pictures recorded');
});

test('a resume never uses interim_potential_best_cycle.yaml, even when it is the newest file', async () => {
  const c = await makeCampaign(sim);
  const env = { PACEMAKER_SIM_CRASH_AT_ITER: '4', PACEMAKER_SIM_FAULT_ONCE: join(c.dir, 'crashed') };
  const trainer = c.trainer({ env, config: { max_epochs: 8 } });
  await assert.rejects(trainer.train(c.data, null, { owner }));
  // A best-cycle file with _fit_cycles lying around (as after a finished cycle) must be ignored.
  await writeFile(join(trainer.generationDir, 'interim_potential_best_cycle.yaml'), 'metadata: {_fit_cycles: 1}\nelements: [Cu, Ni]\n');
  const artifact = await c.trainer({ env, config: { max_epochs: 8 } }).train(c.data, null, { owner: { ...owner, attempt: 2 } });
  const starts = (await runsOf(trainer.generationDir)).filter((r) => r.event === 'start');
  assert.match(String(starts[1]!.resumedFrom), /checkpoint_potential\.yaml/);
  assert.equal(artifact.metrics.train.iterations, 8);
  const log = await readFile(join(trainer.generationDir, 'log.txt'), 'utf8');
  assert.doesNotMatch(log, /Number of finished fit cycles/);
});

/**
 * The simulated optimizer continues exactly from any state, so a resumed fit ends where the
 * uninterrupted one did; when its checkpoint held one iteration more than its label (`extra`),
 * the final state has one more iteration in it, which only lowers the loss.
 */
function sameEndAsUninterrupted(loss: number, control: number, extra: number): void {
  if (extra === 0) assert.ok(Math.abs(loss - control) <= 1e-6 * control, `final loss ${loss}, uninterrupted ${control}`);
  else assert.ok(extra === 1 && loss < control, `final loss ${loss} after ${extra} extra iteration(s), uninterrupted ${control}`);
}

test('a fit with fit_cycles: 3 killed in cycle 1 resumes that cycle with its remaining iterations, then runs cycle 2', async () => {
  const c = await makeCampaign(sim);
  const config = { max_epochs: 6, input: { fit: { fit_cycles: 3 } } };
  const control = await c.trainer({ generation: 2, config }).train(c.data, null, { owner });
  assert.equal(control.metrics.train.iterations, 18, 'uninterrupted: 3 cycles of 6 iterations');

  const iterLog = join(c.dir, 'iterations.log');
  // Iterations 1-6 are cycle 0; the crash comes after iteration 2 of cycle 1.
  const env = { PACEMAKER_SIM_CRASH_AT_ITER: '9', PACEMAKER_SIM_ITER_LOG: iterLog, PACEMAKER_SIM_FAULT_ONCE: join(c.dir, 'crashed') };
  let last: TrainingProgress | null = null;
  const trainer = c.trainer({ env, config });
  await assert.rejects(trainer.train(c.data, null, { owner, onProgress: (p) => (last = p) }), /simulated crash at iteration 9/);
  const checkpoint = (last as TrainingProgress | null)?.checkpoint as FitCheckpoint | undefined;
  assert.ok(checkpoint?.position, 'the checkpoint says where in the fit it is');
  assert.equal(checkpoint.position.cycle, 1, 'the checkpoint follows cycle 1 (its interim file carries _fit_cycles: 1)');
  assert.ok(checkpoint.iteration >= 7 && checkpoint.iteration <= 8, `checkpoint at iteration ${checkpoint.iteration}`);
  assert.equal(checkpoint.position.cycleIteration, checkpoint.iteration - 6);

  const artifact = await c.trainer({ env, config }).train(c.data, null, { owner: { ...owner, attempt: 2 }, resume: { checkpoint } });
  const starts = (await runsOf(trainer.generationDir)).filter((r) => r.event === 'start');
  assert.deepEqual(starts.map((r) => r.kind), ['fresh', 'finish-cycle', 'next-cycles']);
  const [, finish, next] = starts as [unknown, Record<string, unknown>, Record<string, unknown>];
  assert.deepEqual((finish.args as string[]).slice(-2), ['-p', 'resume_potential.yaml']);
  assert.equal(finish.maxiter, 6 - checkpoint.position.cycleIteration, 'the rest of cycle 1');
  assert.equal(next.maxiter, 6, 'cycle 2 in full');
  for (const r of starts) assert.ok(!(r.args as string[]).some((a) => a.includes('best_cycle')), 'never the best-cycle file');
  const retried = (await readFile(join(trainer.generationDir, 'log.txt'), 'utf8')).split('Potential settings is overwritten from arguments')[1] ?? '';
  assert.match(retried, /Number of fit attempts: 1\/2/, 'the first resumed run is cycle 1 (fit_cycles 2, _fit_cycles 1)');
  assert.doesNotMatch(retried, /Number of fit attempts: 0\//, 'cycle 0 is not fitted again');
  assert.doesNotMatch(retried, /Number of finished fit cycles/);
  const input = yaml.load(await readFile(join(trainer.generationDir, 'input.yaml'), 'utf8')) as { fit: Record<string, unknown> };
  assert.deepEqual([input.fit.fit_cycles, input.fit.maxiter], [3, 6]);
  assert.match(await readFile(join(trainer.generationDir, 'resume_potential.yaml'), 'utf8'), /^ {2}_fit_cycles: 2$/m);

  const iterations = await iterationLog(iterLog);
  assert.ok(iterations.length >= 18 && iterations.length <= 19, `${iterations.length} iterations executed: ${iterations.join(',')}`);
  assert.ok(iterations.at(-1)! >= 18 && iterations.at(-1)! <= 19, `final state after ${iterations.at(-1)} iterations`);
  assert.equal(artifact.metrics.train.iterations, 18);
  const curve = parseCurve(await readFile(join(trainer.generationDir, 'learning_curve.tsv'), 'utf8'));
  assert.deepEqual(curve.map((p) => p.iteration), Array.from({ length: 19 }, (_, i) => i), 'one point per iteration 0..18, across cycles and runs');
  sameEndAsUninterrupted(artifact.metrics.train.loss!, control.metrics.train.loss!, iterations.at(-1)! - 18);
});

test('a stop in fit cycle 1 keeps the newest interim file, without its _fit_cycles, so the potential can be fine-tuned', async () => {
  const c = await makeCampaign(sim);
  const config = { max_epochs: 4, input: { fit: { fit_cycles: 2 } } };
  const trainer = c.trainer({ env: { PACEMAKER_SIM_CRASH_AT_ITER: '7' }, config });
  await assert.rejects(trainer.train(c.data, null, { owner }), /simulated crash/);
  const dir = trainer.generationDir;
  // A higher-numbered interim file left from an earlier run must not win over the current one.
  await writeFile(join(dir, 'interim_potential_5.yaml'), await readFile(join(dir, 'interim_potential_0.yaml')));
  await utimes(join(dir, 'interim_potential_5.yaml'), new Date(2020, 0, 1), new Date(2020, 0, 1));
  const stopped = await c.trainer({ config }).finaliseCheckpoint(c.data);
  assert.match(stopped.stoppedEarly.checkpoint, /interim_potential_1\.yaml$/);
  const out = yaml.load(await readFile(stopped.potentialYaml, 'utf8')) as { metadata: Record<string, unknown>; sim_state: { iterations_done: number } };
  assert.equal(out.metadata._fit_cycles, undefined, 'no _fit_cycles: a fine-tune from it fits');
  assert.equal(out.sim_state.iterations_done, 6, 'the state after 4 + 2 iterations');
  await c.trainer({ generation: 1, config: { max_epochs: 2 } }).train(c.data, { path: stopped.potentialYaml, mode: 'continue' }, { owner });
});

test('an extend fit killed in ladder step 1 finishes that step from its checkpoint, then grows the remaining steps', async () => {
  const c = await makeCampaign(sim);
  const parent = await c.trainer({ config: { max_epochs: 4 } }).train(c.data, null, { owner });
  const config = { max_epochs: 5, functions_per_element: 10, input: { fit: { ladder_step: 1 } } };
  const controlTrainer = c.trainer({ generation: 2, config, parentVersion: parent.version });
  const control = await controlTrainer.train(c.data, { path: parent.potentialYaml, mode: 'extend' }, { owner });
  const controlLog = await readFile(join(controlTrainer.generationDir, 'log.txt'), 'utf8');
  const steps = (controlLog.match(/Save current ladder step potential/g) ?? []).length;
  assert.equal(steps, 3, 'uninterrupted: 3 ladder steps');
  assert.equal(control.metrics.train.iterations, 15);
  const functions = (text: string) => countFunctions(yaml.load(text));

  const iterLog = join(c.dir, 'iterations.log');
  // Step 0 is iterations 1-5; the crash comes after iteration 2 of step 1.
  const env = { PACEMAKER_SIM_CRASH_AT_ITER: '8', PACEMAKER_SIM_ITER_LOG: iterLog, PACEMAKER_SIM_FAULT_ONCE: join(c.dir, 'crashed') };
  let last: TrainingProgress | null = null;
  const trainer = c.trainer({ generation: 1, env, config, parentVersion: parent.version });
  await assert.rejects(trainer.train(c.data, { path: parent.potentialYaml, mode: 'extend' }, { owner, onProgress: (p) => (last = p) }), /simulated crash at iteration 8/);
  const checkpoint = (last as TrainingProgress | null)?.checkpoint as FitCheckpoint | undefined;
  assert.equal(checkpoint?.position?.ladderStep, 1, 'the checkpoint is in ladder step 1');
  assert.ok(checkpoint.iteration >= 6 && checkpoint.iteration <= 7, `checkpoint at iteration ${checkpoint.iteration}`);
  assert.equal(functions(await readFile(checkpoint.path, 'utf8')), checkpoint.position.basisFunctions, "the copy has step 1's basis");

  const artifact = await c.trainer({ generation: 1, env, config, parentVersion: parent.version }).train(c.data, { path: parent.potentialYaml, mode: 'extend' }, {
    owner: { ...owner, attempt: 2 },
    resume: { checkpoint },
  });
  const starts = (await runsOf(trainer.generationDir)).filter((r) => r.event === 'start');
  assert.deepEqual(starts.map((r) => r.kind), ['fine-tune', 'finish-cycle', 'next-steps']);
  const [, finish, grow] = starts as [unknown, Record<string, unknown>, Record<string, unknown>];
  assert.deepEqual((finish.args as string[]).slice(-2), ['-p', 'resume_potential.yaml'], 'step 1 is finished with -p, without the ladder');
  assert.equal(finish.maxiter, 5 - checkpoint.position.cycleIteration);
  assert.ok(!(grow.args as string[]).includes('-p') && !(grow.args as string[]).includes('-ip'));
  const input = yaml.load(await readFile(join(trainer.generationDir, 'input.yaml'), 'utf8')) as { fit: Record<string, unknown>; potential: Record<string, unknown> };
  assert.equal(input.potential.initial_potential, 'resume_potential.yaml', 'the ladder continues from the finished step');
  assert.deepEqual([input.fit.ladder_step, input.fit.maxiter], [1, 5]);

  const iterations = await iterationLog(iterLog);
  assert.ok(iterations.length >= 15 && iterations.length <= 16, `${iterations.length} iterations executed: ${iterations.join(',')}`);
  // The simulator numbers on from the parent's 4 iterations.
  assert.ok(iterations.at(-1)! >= 4 + 15 && iterations.at(-1)! <= 4 + 16, `final state after ${iterations.at(-1)} iterations`);
  assert.equal(artifact.metrics.train.iterations, 15);
  assert.equal(functions(await readFile(artifact.potentialYaml, 'utf8')), functions(await readFile(control.potentialYaml, 'utf8')), 'the full target basis');
  const curve = parseCurve(await readFile(join(trainer.generationDir, 'learning_curve.tsv'), 'utf8'));
  assert.deepEqual(curve.map((p) => p.iteration), Array.from({ length: 16 }, (_, i) => i));
  sameEndAsUninterrupted(artifact.metrics.train.loss!, control.metrics.train.loss!, iterations.at(-1)! - 4 - 15);
});

test('an out-of-memory exit retries with half the batch size until it fits, and fails clearly at the floor', async () => {
  const c = await makeCampaign(sim);
  const trainer = c.trainer({ env: { PACEMAKER_SIM_OOM_ABOVE_BATCH: '3' }, config: { max_epochs: 5, batch_size: 10 } });
  const artifact = await trainer.train(c.data, null, { owner });
  const starts = (await runsOf(trainer.generationDir)).filter((r) => r.event === 'start');
  assert.deepEqual(starts.map((r) => r.batchSize), [10, 5, 2]);
  const input = yaml.load(await readFile(join(trainer.generationDir, 'input.yaml'), 'utf8')) as { backend: Record<string, unknown> };
  assert.equal(input.backend.batch_size, 2);
  assert.equal(artifact.metrics.train.iterations, 5);

  const gen1 = c.trainer({ generation: 1, env: { PACEMAKER_SIM_OOM_ABOVE_BATCH: '0' }, config: { max_epochs: 5, batch_size: 4 } });
  await assert.rejects(gen1.train(c.data, null, { owner }), (err: unknown) => {
    assert.ok(err instanceof OutOfMemoryError);
    assert.equal(err.retryable, false);
    assert.match(err.message, /backend\.batch_size 4 -> 2 -> 1 \(floor 1\)/);
    return true;
  });
});

test('a batch size cut after running out of memory survives a crash before any checkpoint: the retry starts with the reduced size', async () => {
  const c = await makeCampaign(sim);
  // The node has memory for 3 structures per batch; the config asks for 10. The run at the
  // reduced size then crashes before its first iteration (no checkpoint written).
  const env = { PACEMAKER_SIM_OOM_ABOVE_BATCH: '3', PACEMAKER_SIM_CRASH_AT_ITER: '1', PACEMAKER_SIM_FAULT_ONCE: join(c.dir, 'crashed') };
  const config = { max_epochs: 4, batch_size: 10 };
  const first = c.trainer({ env, config });
  await assert.rejects(first.train(c.data, null, { owner }), (err: unknown) => {
    assert.ok(err instanceof ProgramFailedError && !(err instanceof OutOfMemoryError));
    assert.match(err.message, /simulated crash at iteration 1/);
    return true;
  });
  assert.equal(await stat(join(first.generationDir, 'checkpoint.json')).catch(() => null), null, 'no checkpoint was written');
  const before = (await runsOf(first.generationDir)).filter((r) => r.event === 'start');
  assert.deepEqual(before.map((r) => r.batchSize), [10, 5, 2]);

  // The retry (a new trainer, as on another worker; nothing heartbeated) starts at 2, not at 10.
  const artifact = await c.trainer({ env, config }).train(c.data, null, { owner: { ...owner, attempt: 2 } });
  const runs = await runsOf(first.generationDir);
  const starts = runs.filter((r) => r.event === 'start');
  assert.deepEqual(starts.map((r) => [r.attempt, r.batchSize]), [[1, 10], [1, 5], [1, 2], [2, 2]], 'the retry ran once, at the reduced size');
  assert.ok(!runs.some((r) => r.attempt === 2 && /out of memory|OOM/i.test(String(r.failure))), 'the retry did not run out of memory again');
  const input = yaml.load(await readFile(join(first.generationDir, 'input.yaml'), 'utf8')) as { backend: Record<string, unknown> };
  assert.equal(input.backend.batch_size, 2);
  assert.equal(artifact.metrics.train.iterations, 4);
});

test('the batch size of the previous attempt\'s heartbeat is used when the folder has no record of it', async () => {
  const { heartbeatedBatchSize } = await import('../../../activities/training.js');
  assert.equal(heartbeatedBatchSize({ stage: 'training', batchSize: 2 }), 2);
  assert.equal(heartbeatedBatchSize({ stage: 'training', batchSize: null }), null);
  assert.equal(heartbeatedBatchSize(undefined), null);
  const c = await makeCampaign(sim);
  const trainer = c.trainer({ env: { PACEMAKER_SIM_OOM_ABOVE_BATCH: '3' }, config: { max_epochs: 3, batch_size: 10 } });
  await trainer.train(c.data, null, { owner, resume: { batchSize: heartbeatedBatchSize({ stage: 'training', batchSize: 2 }) } });
  assert.deepEqual((await runsOf(trainer.generationDir)).filter((r) => r.event === 'start').map((r) => r.batchSize), [2]);
});

test('a stale pacemaker of a killed attempt is stopped before the retry starts', async () => {
  const c = await makeCampaign(sim);
  const pidFile = join(c.dir, 'first.pid');
  const iterLog = join(c.dir, 'iterations.log');
  const slow = { PACEMAKER_SIM_ITER_SECONDS: '0.3', PACEMAKER_SIM_PIDFILE: pidFile, PACEMAKER_SIM_ITER_LOG: iterLog };
  const first = c.trainer({ env: slow, config: { max_epochs: 30 } });
  let last: TrainingProgress | null = null;
  let threeIn: (p: TrainingProgress) => void = () => undefined;
  const reachedThree = new Promise<TrainingProgress>((resolve) => (threeIn = resolve));
  // Attempt 1 is abandoned, as by a SIGKILLed worker: nobody awaits or cancels it.
  const abandoned = first
    .train(c.data, null, {
      owner,
      onProgress: (p) => {
        last = p;
        if ((p.checkpoint?.iteration ?? 0) >= 3) threeIn(p);
      },
    })
    .catch((e: unknown) => e);
  // Its progress reports a checkpoint of iteration 3 (or the attempt ends, which fails below).
  await Promise.race([reachedThree, abandoned]);
  const stalePid = Number(await readFile(pidFile, 'utf8'));
  assert.ok(groupAlive(stalePid), 'the first pacemaker runs');
  const recorded = JSON.parse(await readFile(join(first.generationDir, PID_FILE), 'utf8')) as { pid: number; workflowId: string; activityId: string };
  assert.equal(recorded.workflowId, owner.workflowId);
  assert.equal(recorded.activityId, owner.activityId);

  const retried = c.trainer({ env: { PACEMAKER_SIM_ITER_LOG: iterLog }, config: { max_epochs: 30 } });
  const artifact = await retried.train(c.data, null, { owner: { ...owner, attempt: 2 }, resume: { checkpoint: (last as TrainingProgress | null)?.checkpoint ?? null } });
  assert.ok(await abandoned instanceof ProgramFailedError, 'the abandoned attempt saw its pacemaker killed');
  assert.equal(groupAlive(stalePid), false, 'the stale pacemaker is gone');
  const runs = await runsOf(retried.generationDir);
  assert.ok(runs.some((r) => /stale pacemaker \(process group \d+\)/.test(String(r.failure))), 'the stop is recorded');
  assert.equal(artifact.metrics.train.iterations, 30);
  const iterations = await iterationLog(iterLog);
  // The stale run's iterations after its last copied checkpoint are salvaged from pacemaker's own
  // log.txt and interim file: at most one iteration is repeated.
  assert.ok(iterations.length <= 31, `${iterations.length} iterations executed: ${iterations.join(',')}`);
  assert.ok(iterations.at(-1)! >= 30 && iterations.at(-1)! <= 31, `last iteration ${iterations.at(-1)}`);
  await assert.rejects(stat(join(retried.generationDir, PID_FILE)), 'the pid file is removed after a clean finish');
});

test('a pacemaker left running by a SIGKILLed worker process is found and stopped by the next attempt', async () => {
  const c = await makeCampaign(sim);
  const iterLog = join(c.dir, 'iterations.log');
  const config = { ...SMALL, max_epochs: 40 };
  const genDir = c.trainer().generationDir;
  // The first attempt runs in a worker process of its own (slow iterations, so it is mid-fit when killed).
  const workerArgs = {
    campaignDir: join(c.dir, 'campaign'),
    config,
    data: c.data,
    owner,
    env: { PACEMAKER_SIM_ITER_SECONDS: '0.3', PACEMAKER_SIM_ITER_LOG: iterLog },
  };
  const worker = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'worker-process.ts'), JSON.stringify(workerArgs)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let workerOut = '';
  worker.stdout.on('data', (b: Buffer) => (workerOut += b.toString()));
  worker.stderr.on('data', (b: Buffer) => (workerOut += b.toString()));
  const workerExit = new Promise<NodeJS.Signals | number | null>((r) => worker.once('exit', (code, signal) => r(signal ?? code)));
  let stalePid = -1;
  try {
    // Wait until the worker's pacemaker is a few iterations in (its own checkpoint record says so).
    const state = await until('the worker to be 3 iterations in', async () => {
      if (worker.exitCode !== null || worker.signalCode !== null) return 'ended';
      const cp = JSON.parse(await readFile(join(genDir, 'checkpoint.json'), 'utf8')) as { iteration: number };
      return cp.iteration >= 3 ? 'running' : null;
    });
    assert.equal(state, 'running', `the worker process ended early: ${workerOut}`);
    stalePid = (JSON.parse(await readFile(join(genDir, PID_FILE), 'utf8')) as { pid: number }).pid;
    assert.notEqual(stalePid, worker.pid, 'pacemaker is a child of the worker, not the worker');
    worker.kill('SIGKILL');
    assert.equal(await workerExit, 'SIGKILL');
    assert.ok(groupAlive(stalePid), 'the pacemaker of the killed worker survives it (own process group)');

    // The retry (attempt 2 of the same activity) runs in this process, as on another worker.
    const retried = c.trainer({ env: { PACEMAKER_SIM_ITER_LOG: iterLog }, config: { max_epochs: 40 } });
    const artifact = await retried.train(c.data, null, { owner: { ...owner, attempt: 2 } });
    assert.equal(groupAlive(stalePid), false, 'the stale pacemaker is gone');
    const runs = await runsOf(genDir);
    const stop = runs.find((r) => /stale pacemaker/.test(String(r.failure)));
    assert.ok(stop, 'the stop is recorded in runs.jsonl');
    assert.match(String(stop.failure), new RegExp(`process group ${stalePid}\\)`));
    assert.equal(artifact.metrics.train.iterations, 40);
    // The killed attempt's progress after its last checkpoint copy is salvaged from log.txt: at most one iteration repeated.
    const iterations = await iterationLog(iterLog);
    assert.ok(iterations.length <= 41, `${iterations.length} iterations executed`);
    assert.ok(iterations.at(-1)! >= 40, `the final state holds ${iterations.at(-1)} iterations`);
  } finally {
    if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    if (stalePid > 0 && groupAlive(stalePid)) process.kill(-stalePid, 'SIGKILL');
  }
});

test('fine-tuning passes -p and no ladder; extend uses initial_potential with a ladder; reset refits the shape', async () => {
  const c = await makeCampaign(sim);
  const parent = await c.trainer({ config: { max_epochs: 5 } }).train(c.data, null, { owner });
  const ladderCfg = { max_epochs: 5, input: { fit: { ladder_step: 2 } } };

  const cont = c.trainer({ generation: 1, config: ladderCfg, parentVersion: 'generation_000' });
  const a1 = await cont.train(c.data, { path: parent.potentialYaml, mode: 'continue' }, { owner });
  const start1 = (await runsOf(cont.generationDir)).find((r) => r.event === 'start')!;
  assert.deepEqual((start1.args as string[]).slice(-2), ['-p', 'initial_potential.yaml']);
  assert.ok(!(start1.args as string[]).includes('-ip'));
  const in1 = yaml.load(await readFile(join(cont.generationDir, 'input.yaml'), 'utf8')) as { fit: Record<string, unknown>; potential: Record<string, unknown> };
  assert.equal(in1.fit.ladder_step, undefined, 'no ladder_step with -p (upstream issue #39)');
  assert.ok(in1.potential, 'potential section still present');
  assert.equal(a1.parentVersion, 'generation_000');
  // The fine-tune starts where the parent ended: its first loss is the parent's final loss.
  const rows = (await readFile(join(cont.generationDir, 'metrics.txt'), 'utf8')).trim().split('\n');
  const loss0 = Number(rows[1]!.trim().split(/\s+/)[3]);
  assert.ok(Math.abs(loss0 - parent.metrics.train.loss!) <= 1e-9 * Math.abs(parent.metrics.train.loss!), `${loss0} vs ${parent.metrics.train.loss}`);

  const ext = c.trainer({ generation: 2, config: { max_epochs: 5, functions_per_element: 8 }, parentVersion: 'generation_000' });
  await ext.train(c.data, { path: parent.potentialYaml, mode: 'extend' }, { owner });
  const start2 = (await runsOf(ext.generationDir)).find((r) => r.event === 'start')!;
  assert.ok(!(start2.args as string[]).includes('-p') && !(start2.args as string[]).includes('-ip'));
  const in2 = yaml.load(await readFile(join(ext.generationDir, 'input.yaml'), 'utf8')) as { fit: Record<string, unknown>; potential: Record<string, unknown> };
  assert.equal(in2.potential.initial_potential, 'initial_potential.yaml');
  assert.deepEqual(in2.fit.ladder_step, [10, 0.02]);
  assert.match(await readFile(join(ext.generationDir, 'log.txt'), 'utf8'), /Ladder-scheme fitting is ON/);

  const reset = c.trainer({ generation: 3, config: { max_epochs: 5 }, parentVersion: 'generation_000' });
  await reset.train(c.data, { path: parent.potentialYaml, mode: 'reset' }, { owner });
  const in3 = yaml.load(await readFile(join(reset.generationDir, 'input.yaml'), 'utf8')) as { potential: Record<string, unknown> };
  assert.deepEqual(in3.potential, { filename: 'initial_potential.yaml', reset: true });
  assert.match(await readFile(join(reset.generationDir, 'log.txt'), 'utf8'), /Reset target potential/);
});

test('a parent potential whose elements or cutoff differ from the config is a non-retryable BadInput', async () => {
  const c = await makeCampaign(sim);
  const parent = await c.trainer({ config: { max_epochs: 3 } }).train(c.data, null, { owner });
  const wrongCutoff = c.trainer({ generation: 1, config: { max_epochs: 3, cutoff: 6.0 } });
  await assert.rejects(wrongCutoff.train(c.data, { path: parent.potentialYaml, mode: 'continue' }, { owner }), (err: unknown) => {
    assert.ok(err instanceof BadInputError);
    assert.match(err.message, /cutoff 5 Å but the config has cutoff 6 Å/);
    return true;
  });
  const wrongElements = c.trainer({ generation: 1, config: { max_epochs: 3, elements: ['Cu', 'Al'] } });
  await assert.rejects(wrongElements.train(c.data, { path: parent.potentialYaml, mode: 'continue' }, { owner }), /elements \[Cu, Ni\] but the config has \[Cu, Al\]/);
});

test('re-running a complete generation returns its artifact without running pacemaker again', async () => {
  const c = await makeCampaign(sim);
  const iterLog = join(c.dir, 'iterations.log');
  const first = await c.trainer({ env: { PACEMAKER_SIM_ITER_LOG: iterLog }, config: { max_epochs: 4 } }).train(c.data, null, { owner });
  const again = await c.trainer({ env: { PACEMAKER_SIM_ITER_LOG: iterLog }, config: { max_epochs: 4 } }).train(c.data, null, { owner });
  assert.deepEqual(again, first);
  assert.equal((await iterationLog(iterLog)).length, 4, 'no iteration ran the second time');
});

test('an early-stopping crash is reported by name and not retried', async () => {
  const c = await makeCampaign(sim);
  const trainer = c.trainer({
    env: { PACEMAKER_SIM_EARLY_STOP_CRASH: '1' },
    config: { max_epochs: 5, input: { fit: { min_relative_train_loss_per_iter: 5e-2, early_stopping_patience: 1 } } },
  });
  await assert.rejects(trainer.train(c.data, null, { owner }), (err: unknown) => {
    assert.ok(err instanceof ProgramFailedError);
    assert.equal(err.details.known, 'EarlyStoppingCrash');
    assert.equal(err.retryable, false);
    assert.match(err.message, /\[EarlyStoppingCrash: early stopping crashed pacemaker/);
    return true;
  });
});

test("a fine-tune on grown data keeps the parent's reference energies, so it starts at the parent's energy scale", async () => {
  const c = await makeCampaign(sim);
  const parent = await c.trainer({ config: { max_epochs: 4 } }).train(c.data, null, { owner });
  const more = join(c.dir, 'more.jsonl');
  const { labelEmt } = await import('../../../src/dataset/emt.js');
  await labelEmt({ out: more, count: 2, elements: ['Cu', 'Ni'], seed: 99, python: sim.python });
  const grown = await c.trainer({ generation: 1 }).updateDataset([more]);
  const child = c.trainer({ generation: 1, config: { max_epochs: 2 }, parentVersion: parent.version });
  await child.train({ trainPath: grown.trainPath, testPath: grown.testPath, sha256: grown.sha256 }, { path: parent.potentialYaml, mode: 'continue' }, { owner });
  const input = yaml.load(await readFile(join(child.generationDir, 'input.yaml'), 'utf8')) as { data: { reference_energy: unknown } };
  const parentDoc = yaml.load(await readFile(parent.potentialYaml, 'utf8')) as { metadata: { reference_energy: string } };
  assert.deepEqual(input.data.reference_energy, JSON.parse(parentDoc.metadata.reference_energy));
});

test("a run that went on after its worker died is salvaged from pacemaker's own log.txt and interim file, never ahead of them", async () => {
  const { salvageCheckpoint, CHECKPOINT_FILE } = await import('../../../src/trainer/checkpoint.js');
  const c = await makeCampaign(sim);
  const trainer = c.trainer({ config: { max_epochs: 6 } });
  await trainer.train(c.data, null, { owner });
  const dir = trainer.generationDir;
  const older = { path: join(dir, CHECKPOINT_FILE), sha256: 'x'.repeat(64), iteration: 2, runKey: 'k', batchSize: 10 };
  // log.txt of that run shows iterations 1..6 and the end of its fit cycle: the interim file is final and holds exactly 6.
  const ended = await salvageCheckpoint(dir, { runKey: 'k', offset: 10, logStart: 0, batchSize: 10, current: older });
  assert.equal(ended?.iteration, 16);
  assert.deepEqual([ended.position?.stage, ended.position?.cycleIteration], ['cycle-done', 6]);
  assert.equal(ended.sha256, await sha256File(join(dir, 'interim_potential_0.yaml')));
  // Killed before its cycle ended (the log stops after iteration 6): the interim file holds at least 5.
  const log = await readFile(join(dir, 'log.txt'), 'utf8');
  await writeFile(join(dir, 'log.txt'), log.slice(0, log.indexOf('Fitting cycle finished')));
  const ref = await salvageCheckpoint(dir, { runKey: 'k', offset: 10, logStart: 0, batchSize: 10, current: older });
  assert.equal(ref?.iteration, 15);
  assert.deepEqual([ref.position?.stage, ref.position?.cycleIteration], ['running', 5]);
  assert.equal(await sha256File(ref.path), ref.sha256);
  assert.equal(ref.sha256, await sha256File(join(dir, 'interim_potential_0.yaml')));
  // Nothing newer than the current checkpoint, or no log lines after logStart: keep the current one.
  assert.equal(await salvageCheckpoint(dir, { runKey: 'k', offset: 0, logStart: 0, batchSize: 10, current: { ...older, iteration: 9 } }).then((r) => r?.iteration), 9);
  const size = (await stat(join(dir, 'log.txt'))).size;
  assert.equal(await salvageCheckpoint(dir, { runKey: 'k', offset: 0, logStart: size, batchSize: 10, current: null }), null);
  // A torn interim file (killed mid-write) is not used.
  await writeFile(join(dir, 'interim_potential_0.yaml'), 'species:\n  - speciesblock: Cu\n    nbody: [{type: ');
  assert.equal(await salvageCheckpoint(dir, { runKey: 'k', offset: 0, logStart: 0, batchSize: 10, current: null }), null);
});
