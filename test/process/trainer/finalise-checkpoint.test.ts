// PacemakerTrainer.finaliseCheckpoint (the stopTraining path) against the pacemaker simulator: the stopped
// potential is evaluated with `pacemaker --no-fit` in a folder of its own, for test metrics and
// train metrics of the potential itself; a failed evaluation costs only the test metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelEmt } from '../../../src/dataset/emt.js';
import { PacemakerTrainerConfig, type PacemakerTrainerConfigInput } from '../../../src/domain/schemas.js';
import { parseMetricsTable } from '../../../src/domain/pacemaker-log.js';
import { simulatorToolchain, type Toolchain } from '../../../src/pacemaker/toolchain.js';
import { PacemakerTrainer } from '../../../src/trainer/pacemaker-trainer.js';
import { STOP_EVALUATION_DIR, type EarlyStoppedArtifact } from '../../../src/trainer/finalise-checkpoint.js';
import { withFitCycles } from '../../../src/trainer/fit-position.js';
import { parseCurve } from '../../../src/trainer/learning-curve.js';
import { sha256File } from '../../../src/util/files.js';
import type { TrainingData } from '../../../src/dataset/store.js';
import { SMALL } from './helpers.js';

const sim = simulatorToolchain();
const owner = { workflowId: 'train-t-generation_000', activityId: '2', attempt: 1 };

/**
 * A generation whose pacemaker crashed at iteration `crashAt` (as a stop leaves it: interim
 * files, metrics.txt, no output), on 8 EMT structures split with `testSize`. With `resumeCrashAt`,
 * a retry then resumed from the checkpoint and its run crashed at that iteration of its own; with
 * `resumeEnv`, the retry's run failed with that fault (`resumeRejects` its error).
 */
async function interruptedGeneration(o: {
  testSize: number;
  crashAt?: number;
  resumeCrashAt?: number;
  resumeEnv?: Record<string, string>;
  resumeRejects?: RegExp;
  config?: Partial<PacemakerTrainerConfigInput>;
}) {
  const dir = await mkdtemp(join(tmpdir(), 'mlip-trainer-'));
  const results = join(dir, 'results.jsonl');
  await labelEmt({ out: results, count: 8, elements: ['Cu', 'Ni'], seed: 5, python: sim.python });
  const config = PacemakerTrainerConfig.parse({ ...SMALL, max_epochs: 50, test_size: o.testSize, ...(o.config ?? {}) });
  const campaignDir = join(dir, 'campaign');
  const trainerWith = (env: Record<string, string>) => new PacemakerTrainer({ config, campaignDir, toolchain: sim, generation: 0, env });
  const trainerCrashingAt = (iteration: number) => trainerWith({ PACEMAKER_SIM_CRASH_AT_ITER: String(iteration) });
  const trainer = trainerCrashingAt(o.crashAt ?? 6);
  const summary = await trainer.updateDataset([results]);
  const data: TrainingData = { trainPath: summary.trainPath, testPath: summary.testPath, sha256: summary.sha256 };
  await assert.rejects(trainer.train(data, null, { owner }), /simulated crash/);
  if (o.resumeCrashAt !== undefined) {
    await assert.rejects(trainerCrashingAt(o.resumeCrashAt).train(data, null, { owner: { ...owner, attempt: 2 } }), /simulated crash/);
  }
  if (o.resumeEnv !== undefined) {
    await assert.rejects(trainerWith(o.resumeEnv).train(data, null, { owner: { ...owner, attempt: 2 } }), o.resumeRejects ?? /simulated crash/);
  }
  const gen = trainer.generationDir;
  const finalise = (toolchain: Toolchain = sim, env?: Record<string, string>) =>
    new PacemakerTrainer({ config, campaignDir, toolchain, generation: 0, parentVersion: null, ...(env ? { env } : {}) }).finaliseCheckpoint(data);
  return { gen, data, finalise };
}

/** sha256 of every file directly in the generation folder. */
async function hashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { withFileTypes: true })) if (e.isFile()) out.set(e.name, await sha256File(join(dir, e.name)));
  return out;
}

const finite = (v: number | null | undefined) => typeof v === 'number' && Number.isFinite(v);

test('a stopped generation gets test metrics and the train metrics of its potential from pacemaker --no-fit, without touching the run', async () => {
  const g = await interruptedGeneration({ testSize: 0.4 });
  assert.ok(g.data.testPath, 'the data has a test set');
  const before = await hashes(g.gen);
  const stopped: EarlyStoppedArtifact = await g.finalise();

  // Test metrics, as the end of a fit computes them, for the same iteration as the train metrics.
  const t = stopped.metrics.test;
  assert.ok(t, 'test metrics present');
  for (const v of [t.energy_rmse_mev_per_atom, t.force_rmse_mev_per_a, t.energy_mae_mev_per_atom, t.force_mae_mev_per_a]) assert.ok(finite(v), String(v));
  assert.ok(t.force_rmse_mev_per_a > 0);
  assert.deepEqual(stopped.stoppedEarly.warnings, []);
  assert.equal(stopped.stoppedEarly.trainMetricsFrom, 'evaluation');
  assert.equal(stopped.stoppedEarly.evaluationDir, STOP_EVALUATION_DIR);

  // The train errors of the stopped potential are those pacemaker logged for its iteration (5 done before the crash at 6).
  const rows = parseMetricsTable(await readFile(join(g.gen, 'metrics.txt'), 'utf8'));
  const last = rows.at(-1)!;
  assert.equal(stopped.metrics.train.iterations, 5);
  assert.equal(stopped.stoppedEarly.iterations, 5);
  assert.equal(t.iterations, 5);
  assert.ok(Math.abs(stopped.metrics.train.energy_rmse_mev_per_atom - last.rmse_epa! * 1000) < 1e-6 * last.rmse_epa! * 1000);
  assert.ok(Math.abs(stopped.metrics.train.force_rmse_mev_per_a - last.rmse_f_comp! * 1000) < 1e-6 * last.rmse_f_comp! * 1000);
  assert.equal(stopped.metrics.train.loss, last.loss);
  assert.ok(finite(stopped.metrics.train.energy_mae_mev_per_atom), 'energy MAE from the predictions (metrics.txt has none)');

  // The evaluation ran in its own folder: the run's files are as it left them (the learning curve
  // gains the stopped run's rows), output_potential.yaml is the checkpoint.
  const after = await hashes(g.gen);
  for (const [name, sha] of before) if (name !== 'learning_curve.tsv') assert.equal(after.get(name), sha, `${name} unchanged`);
  const curve = parseCurve(await readFile(join(g.gen, 'learning_curve.tsv'), 'utf8'));
  assert.deepEqual(curve.map((p) => p.iteration), [0, 1, 2, 3, 4, 5], 'the curve ends at the stopped potential');
  assert.deepEqual([...after.keys()].filter((n) => !before.has(n)).sort(), ['artifact.json', 'output_potential.yace', 'output_potential.yaml', 'pace_yaml2yace.out']);
  assert.equal(await readFile(stopped.potentialYaml, 'utf8'), withFitCycles(await readFile(stopped.stoppedEarly.checkpoint, 'utf8'), 0));
  const evalDir = join(g.gen, STOP_EVALUATION_DIR);
  assert.equal(await readFile(join(evalDir, 'stopped_potential.yaml'), 'utf8'), await readFile(stopped.potentialYaml, 'utf8'));
  const evalLog = await readFile(join(evalDir, 'log.txt'), 'utf8');
  assert.match(evalLog, /Potential settings is overwritten from arguments: stopped_potential\.yaml/);
  assert.doesNotMatch(evalLog, /Iteration|Fitting done/, 'nothing fitted');
  for (const name of ['test_pred.pckl.gzip', 'train_pred.pckl.gzip', 'log.txt', 'input.yaml']) {
    const ref = stopped.files[`${STOP_EVALUATION_DIR}/${name}`];
    assert.ok(ref, `${name} listed`);
    assert.equal(await sha256File(ref.path), ref.sha256);
  }
  assert.ok(stopped.timings.pacemakerSeconds > 0 && stopped.timings.metricsSeconds > 0);
  assert.deepEqual(JSON.parse(await readFile(join(g.gen, 'artifact.json'), 'utf8')), JSON.parse(JSON.stringify(stopped)));

  // A retried finalise gives the same metrics from a fresh evaluation.
  const again = await g.finalise();
  assert.deepEqual(again.metrics, stopped.metrics);
});

test('a checkpoint one metrics.txt row behind (killed between the row and the interim file) reports the iteration it holds', async () => {
  const g = await interruptedGeneration({ testSize: 0.4 });
  const file = join(g.gen, 'metrics.txt');
  const text = await readFile(file, 'utf8');
  const header = text.split('\n')[0]!.trim().split(/\s+/);
  const last = parseMetricsTable(text).at(-1)!;
  // The row of an iteration 6 whose potential never reached the interim file.
  const next: Record<string, number> = { ...last, iter_num: last.iter_num! + 1, loss: last.loss! * 0.9, rmse_epa: last.rmse_epa! * 0.9, rmse_f_comp: last.rmse_f_comp! * 0.9 };
  await writeFile(file, text.replace(/\n*$/, '\n') + header.map((c) => String(next[c] ?? 0)).join(' ') + '\n');

  const stopped = await g.finalise();
  assert.equal(stopped.stoppedEarly.iterations, 5, 'the checkpoint holds iteration 5, not the 6 rows of metrics.txt');
  assert.equal(stopped.metrics.train.iterations, 5);
  assert.equal(stopped.metrics.test?.iterations, 5);
  assert.equal(stopped.metrics.train.loss, last.loss, "iteration 5's loss");
  assert.deepEqual(stopped.stoppedEarly.warnings, []);
});

test('without pacemaker, or when pacemaker --no-fit fails, the stop still completes with train metrics and a warning', async () => {
  const g = await interruptedGeneration({ testSize: 0.4 });
  const rows = parseMetricsTable(await readFile(join(g.gen, 'metrics.txt'), 'utf8'));
  const missing: Toolchain = { ...sim, command: (p) => (p === 'pacemaker' ? [join(g.gen, 'no-such-dir', 'pacemaker')] : sim.command(p)) };

  const noPacemaker = await g.finalise(missing);
  assert.equal(noPacemaker.metrics.test, null);
  assert.equal(noPacemaker.stoppedEarly.trainMetricsFrom, 'metrics.txt');
  assert.equal(noPacemaker.stoppedEarly.warnings.length, 1);
  assert.match(noPacemaker.stoppedEarly.warnings[0]!, /^no test metrics: evaluating the stopped potential failed \(pacemaker --no-fit could not be started \(.*no-such-dir\/pacemaker\)/);
  assert.equal(noPacemaker.metrics.train.energy_rmse_mev_per_atom, rows.at(-1)!.rmse_epa! * 1000, "metrics.txt's last row, as before");
  assert.equal(noPacemaker.stoppedEarly.iterations, 5);
  assert.ok((await readFile(noPacemaker.path, 'utf8')).length > 0, 'the .yace is there');
  assert.equal(Object.keys(noPacemaker.files).some((n) => n.startsWith(STOP_EVALUATION_DIR)), false);

  const failing = await g.finalise(sim, { PACEMAKER_SIM_EXIT_CODE: '3' });
  assert.equal(failing.metrics.test, null);
  assert.match(failing.stoppedEarly.warnings[0] ?? '', /pacemaker --no-fit exited with 3/);
  assert.match(failing.stoppedEarly.warnings[0] ?? '', new RegExp(`${STOP_EVALUATION_DIR}/pacemaker\\.out`));
  assert.equal(failing.stoppedEarly.iterations, 5);
});

test('without a test set the stop reports the evaluated train metrics and says why there are no test metrics', async () => {
  const g = await interruptedGeneration({ testSize: 0, crashAt: 4 });
  const stopped = await g.finalise();
  assert.equal(stopped.metrics.test, null);
  assert.equal(stopped.stoppedEarly.trainMetricsFrom, 'evaluation');
  assert.equal(stopped.stoppedEarly.iterations, 3);
  assert.deepEqual(stopped.stoppedEarly.warnings, ['no test metrics: the data has no test set (input.yaml has no data.test_filename or test_size)']);
});

test('a stop in fit cycle 1 is evaluated from the checkpoint without _fit_cycles, counting both cycles', async () => {
  const g = await interruptedGeneration({ testSize: 0.4, crashAt: 7, config: { max_epochs: 4, input: { fit: { fit_cycles: 2 } } } });
  const stopped = await g.finalise();
  assert.match(stopped.stoppedEarly.checkpoint, /interim_potential_1\.yaml$/);
  assert.equal(stopped.stoppedEarly.iterations, 6, '4 + 2 iterations');
  assert.ok(stopped.metrics.test && finite(stopped.metrics.test.force_rmse_mev_per_a));
  assert.deepEqual(stopped.stoppedEarly.warnings, []);
  assert.doesNotMatch(await readFile(join(g.gen, STOP_EVALUATION_DIR, 'stopped_potential.yaml'), 'utf8'), /_fit_cycles/);
});

test('a stop after a resume counts the iterations of every run, as the end of a fit does, and extends learning_curve.tsv to them', async () => {
  // Run 1 crashes at its iteration 6 (5 done); the retry resumes from the checkpoint and its run
  // crashes at its own iteration 4 (3 done) before the stop.
  const g = await interruptedGeneration({ testSize: 0.4, crashAt: 6, resumeCrashAt: 4 });
  const starts = (await readFile(join(g.gen, 'runs.jsonl'), 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { event: string; run: number; offset?: number })
    .filter((r) => r.event === 'start');
  assert.equal(starts.length, 2, 'two runs: the first and the resume');
  const offset = starts[1]!.offset!;
  // A checkpoint may be labelled one iteration behind its content, never ahead.
  assert.ok(offset >= 4 && offset <= 5, `resumed from iteration ${offset}`);

  const stopped = await g.finalise();
  assert.deepEqual(stopped.stoppedEarly.warnings, []);
  assert.equal(stopped.stoppedEarly.trainMetricsFrom, 'evaluation');
  assert.equal(stopped.metrics.train.iterations, offset + 3, "the earlier run's iterations plus the 3 of the stopped run");
  assert.equal(stopped.metrics.test?.iterations, offset + 3);
  assert.equal(stopped.stoppedEarly.iterations, offset + 3);
  const rows = parseMetricsTable(await readFile(join(g.gen, 'metrics.txt'), 'utf8'));
  assert.equal(stopped.metrics.train.loss, rows.at(-1)!.loss, "the stopped run's last row");

  // The curve has one point per iteration across both runs, up to the stopped potential's.
  const curve = parseCurve(await readFile(join(g.gen, 'learning_curve.tsv'), 'utf8'));
  assert.deepEqual(curve.map((p) => p.iteration), Array.from({ length: offset + 4 }, (_, i) => i));
  assert.deepEqual([...new Set(curve.map((p) => p.run))], [1, 2]);
  assert.equal(curve.at(-1)!.loss, rows.at(-1)!.loss);
  for (const name of ['learning_curve.tsv', 'runs.jsonl']) {
    const ref = stopped.files[name];
    assert.ok(ref, `${name} listed`);
    assert.equal(await sha256File(ref.path), ref.sha256);
  }

  // A retried finalise changes neither the count nor the curve.
  const again = await g.finalise();
  assert.deepEqual(again.metrics, stopped.metrics);
  assert.deepEqual(parseCurve(await readFile(join(g.gen, 'learning_curve.tsv'), 'utf8')), curve);
});

interface RunStart {
  event: string;
  run: number;
  offset?: number;
  logStart?: number;
  runKey?: string;
  at: string;
}

async function runStarts(gen: string): Promise<RunStart[]> {
  return (await readFile(join(gen, 'runs.jsonl'), 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RunStart)
    .filter((r) => r.event === 'start');
}

/** checkpoint.json of the generation: the trainer's newest checkpoint and its iteration. */
async function checkpointRecord(gen: string): Promise<{ path: string; iteration: number }> {
  return JSON.parse(await readFile(join(gen, 'checkpoint.json'), 'utf8')) as { path: string; iteration: number };
}

/**
 * As the trainer starts run `run + 1` from checkpoint.json (input.yaml written, then its
 * runs.jsonl start record), before its pacemaker has restarted metrics.txt or logged anything.
 */
async function startNextRunRecord(gen: string, o: { logStart: boolean }): Promise<RunStart> {
  const starts = await runStarts(gen);
  const prev = starts.at(-1)!;
  const cp = await checkpointRecord(gen);
  const input = join(gen, 'input.yaml');
  // The trainer rewrites input.yaml for the run: it is newer than the previous run's metrics.txt.
  const metricsTime = (await stat(join(gen, 'metrics.txt'))).mtime;
  await writeFile(input, await readFile(input, 'utf8'));
  await utimes(input, new Date(metricsTime.getTime() + 2000), new Date(metricsTime.getTime() + 2000));
  const record: RunStart = {
    event: 'start',
    runKey: prev.runKey!,
    run: prev.run + 1,
    offset: cp.iteration,
    ...(o.logStart ? { logStart: (await stat(join(gen, 'log.txt'))).size } : {}),
    at: new Date().toISOString(),
  };
  await appendFile(join(gen, 'runs.jsonl'), JSON.stringify(record) + '\n');
  return record;
}

test('a stop in a resumed run whose pacemaker restarted metrics.txt but wrote no row finishes from the checkpoint it resumed from', async () => {
  // Run 1 crashes at its iteration 6 (5 done); the retry resumes from the checkpoint and its
  // pacemaker runs out of memory before its first metrics row (batch size 1: no smaller one to try).
  const g = await interruptedGeneration({
    testSize: 0.4,
    crashAt: 6,
    resumeEnv: { PACEMAKER_SIM_OOM_ABOVE_BATCH: '0' },
    resumeRejects: /out of memory/i,
    config: { batch_size: 1 },
  });
  const starts = await runStarts(g.gen);
  assert.equal(starts.length, 2, 'two runs: the first and the resume');
  assert.deepEqual(parseMetricsTable(await readFile(join(g.gen, 'metrics.txt'), 'utf8')), [], 'metrics.txt restarted, no row');
  const cp = await checkpointRecord(g.gen);
  assert.equal(cp.iteration, starts[1]!.offset, 'the resume started from checkpoint.json');
  const curveBefore = await readFile(join(g.gen, 'learning_curve.tsv'), 'utf8');

  const stopped = await g.finalise();
  assert.equal(stopped.stoppedEarly.checkpoint, cp.path);
  assert.match(stopped.stoppedEarly.checkpoint, /checkpoint_potential\.yaml$/);
  assert.equal(stopped.stoppedEarly.iterations, cp.iteration, "the checkpoint's iterations, across runs");
  assert.equal(stopped.metrics.train.iterations, cp.iteration);
  assert.equal(stopped.metrics.test?.iterations, cp.iteration);
  assert.equal(stopped.stoppedEarly.trainMetricsFrom, 'evaluation');
  assert.match(stopped.stoppedEarly.warnings[0] ?? '', /^run 2 \(resumed from iteration \d+\) had not completed an iteration yet/);
  assert.equal(await readFile(stopped.potentialYaml, 'utf8'), withFitCycles(await readFile(cp.path, 'utf8'), 0));
  // The learning curve already ends at the checkpoint; the loss is its point's when the errors match.
  assert.equal(await readFile(join(g.gen, 'learning_curve.tsv'), 'utf8'), curveBefore);
  const point = parseCurve(curveBefore).find((p) => p.iteration === cp.iteration)!;
  assert.ok(point, 'the curve has the checkpoint iteration');
  // (A checkpoint labelled one iteration behind its content matches no point: loss unknown, said so.)
  if (stopped.stoppedEarly.warnings.length === 1) assert.equal(stopped.metrics.train.loss, point.loss);
  else {
    assert.equal(stopped.stoppedEarly.warnings.length, 2, stopped.stoppedEarly.warnings.join('\n'));
    assert.match(stopped.stoppedEarly.warnings[1]!, /match no point of learning_curve\.tsv at iteration \d+: loss unknown/);
    assert.equal(stopped.metrics.train.loss, null);
  }

  // Without the evaluation, the train metrics are the curve's point of that iteration.
  const failing = await g.finalise(sim, { PACEMAKER_SIM_EXIT_CODE: '3' });
  assert.equal(failing.stoppedEarly.trainMetricsFrom, 'learning_curve.tsv');
  assert.equal(failing.metrics.test, null);
  assert.equal(failing.metrics.train.iterations, cp.iteration);
  assert.equal(failing.metrics.train.energy_rmse_mev_per_atom, point.energyRmse);
  assert.equal(failing.metrics.train.loss, point.loss);
  assert.match(failing.stoppedEarly.warnings[1] ?? '', /pacemaker --no-fit exited with 3.*learning_curve\.tsv's point of iteration/);
});

for (const logStart of [true, false]) {
  test(`a stop before a resumed run's pacemaker restarted metrics.txt never counts the previous run's rows as its own (${logStart ? 'told by its log.txt lines' : 'no logStart: told by mtimes'})`, async () => {
    // Runs 1 (crash at 6) and 2 (resumed, crash at its 4) as before; run 3 is recorded as started
    // from checkpoint.json, but its pacemaker has not yet restarted metrics.txt (run 2's rows).
    const g = await interruptedGeneration({ testSize: 0.4, crashAt: 6, resumeCrashAt: 4 });
    const run3 = await startNextRunRecord(g.gen, { logStart });
    const cp = await checkpointRecord(g.gen);
    assert.ok(parseMetricsTable(await readFile(join(g.gen, 'metrics.txt'), 'utf8')).length > 1, "run 2's rows");
    const curveBefore = await readFile(join(g.gen, 'learning_curve.tsv'), 'utf8');

    const stopped = await g.finalise();
    assert.equal(stopped.stoppedEarly.iterations, cp.iteration, `the checkpoint run 3 resumed from (iteration ${run3.offset}), not ${run3.offset} + run 2's rows`);
    assert.equal(stopped.metrics.train.iterations, cp.iteration);
    assert.equal(stopped.metrics.test?.iterations, cp.iteration);
    assert.equal(stopped.stoppedEarly.checkpoint, cp.path);
    assert.match(stopped.stoppedEarly.warnings[0] ?? '', /^run 3 \(resumed from iteration \d+\) had not completed an iteration yet/);
    // Run 2's rows are not folded into the curve again as run 3's.
    assert.equal(await readFile(join(g.gen, 'learning_curve.tsv'), 'utf8'), curveBefore);
    assert.ok(parseCurve(curveBefore).every((p) => p.run !== 3 && p.iteration <= cp.iteration));
  });
}
