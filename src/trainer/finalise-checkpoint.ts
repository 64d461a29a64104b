/**
 * "Stop training now and keep the best potential so far": after the training activity was
 * cancelled (pacemaker's process group killed), turn the newest checkpoint pacemaker wrote into
 * a complete generation: output_potential.yaml, its .yace, metrics and artifact.json.
 *
 * The metrics come the way the end of a fit makes them: pacemaker evaluates the stopped
 * potential without fitting (`--no-fit`, in a folder of its own, so nothing of the interrupted
 * run is overwritten) and writes train_pred/test_pred.pckl.gzip, from which the bridge's
 * `pred-metrics` computes the errors. If that evaluation fails, the stop still completes, with
 * the train errors of metrics.txt and a warning saying why test errors are missing.
 *
 * It relies on pacemaker's file contract (interim_potential_<cycle>.yaml is rewritten after
 * every iteration, metrics.txt gains one row per iteration, for its run only) and, to count
 * iterations across the runs of a resumed generation, on the run journal (runs.jsonl,
 * learning_curve.tsv), so a stop counts as the end of a fit does; the conversion, the errors of
 * prediction pickles and the artifact are the outputs module's, as for a finished fit.
 *
 * A stop can land in a resumed run that has completed no iteration of its own: metrics.txt then
 * holds no row of it (pacemaker restarted it, or only its initial-state row), or still the rows of
 * the run before (pacemaker had not restarted it yet), and no interim file is that run's. The
 * stop then finishes from the checkpoint the run resumed from (checkpoint.json), counted as
 * checkpoint.json counts it, as the trainer does (it caps what it takes of a run at its
 * checkpoint), with a warning; see lastRunIterated.
 */
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { OutputMissingError } from '../errors.js';
import type { EarlyStopInfo } from '../domain/generation-result.js';
import { parseMetricsTable } from '../domain/pacemaker-log.js';
import type { ErrorMetrics } from '../domain/schemas.js';
import { oneLineSummary, runOrFail } from '../process/run-program.js';
import { defaultStallWatch } from '../process/stall.js';
import { exists, writeFileAtomic } from '../util/files.js';
import { findCheckpoint } from './checkpoint.js';
import { FitTracker, START_POSITION, withFitCycles, type FitCheckpoint } from './fit-position.js';
import { parseCurve, type CurvePoint } from './learning-curve.js';
import {
  acrossRuns,
  assembleArtifact,
  convertPotential,
  predictionErrors,
  readFinalMetrics,
  writeArtifact,
  type ArtifactIdentity,
  type Metrics,
  type OutputContext,
  type PredErrors,
} from './outputs.js';
import { CURVE_FILE, RunJournal, type StartedRun } from './run-journal.js';
import type { EarlyStoppedArtifact } from './trainer.js';

// One definition of `stoppedEarly` for this activity's result and the workflow's (GenerationArtifact).
export type { EarlyStopInfo, EarlyStoppedArtifact };

/** Where pacemaker evaluates a stopped potential: it writes its data, metrics and picture files into its working folder. */
export const STOP_EVALUATION_DIR = 'stop-evaluation';
/** The copy of output_potential.yaml the evaluation reads (`-p`). */
const EVALUATED_POTENTIAL = 'stopped_potential.yaml';
/**
 * Longest the evaluation may take: well inside the finalising activity's 30 minutes, so a slow
 * evaluation ends in a warning instead of a timed-out (and retried) stop.
 */
export const STOP_EVALUATION_TIMEOUT_MS = 15 * 60_000;
/** Evaluation files recorded in the artifact, when present. */
const EVALUATION_FILES = ['input.yaml', 'log.txt', 'pacemaker.out', 'train_pred.pckl.gzip', 'test_pred.pckl.gzip'] as const;

interface Evaluation {
  train: PredErrors;
  /** null when the data has no test set. */
  test: PredErrors | null;
  pacemakerSeconds: number;
  bridgeSeconds: number;
}

/**
 * The most recently written `interim_potential_<cycle>.yaml` (the last iteration of the cycle
 * pacemaker was in; a higher-numbered file may be left from an earlier run), else the trainer's
 * own checkpoint copy. Never interim_potential_best_cycle.yaml (upstream issue #77).
 */
export async function newestCheckpoint(dir: string): Promise<string | null> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const cycles = await Promise.all(
    names
      .filter((n) => /^interim_potential_\d+\.yaml$/.test(n))
      .map(async (name) => ({ name, mtime: (await stat(join(dir, name)).catch(() => null))?.mtimeMs ?? -1 })),
  );
  cycles.sort((a, b) => b.mtime - a.mtime);
  if (cycles[0]) return join(dir, cycles[0].name);
  return names.includes('checkpoint_potential.yaml') ? join(dir, 'checkpoint_potential.yaml') : null;
}

/** The stop of the generation in `o.dir` (see the top of this file), as `identity`'s artifact. */
export async function finaliseFromCheckpoint(o: OutputContext, identity: ArtifactIdentity): Promise<EarlyStoppedArtifact> {
  const dir = o.dir;
  const journal = new RunJournal(dir);
  const last = await journal.lastStarted();
  // A resumed run stopped before its first iteration: the potential is the checkpoint it resumed from.
  const resumedFrom = last?.runKey !== undefined && !(await lastRunIterated(dir, last)) ? await findCheckpoint(dir, last.runKey, null) : null;
  const checkpoint = resumedFrom?.path ?? (await newestCheckpoint(dir));
  if (checkpoint === null) {
    throw new OutputMissingError(
      `stop requested but ${dir} holds no checkpoint (interim_potential_*.yaml): pacemaker had not finished its first iteration`,
    );
  }
  // pacemaker's checkpoints are complete potential YAMLs. Those of fit cycle 1 on carry
  // `_fit_cycles`, which would make a fine-tune from this potential fit nothing: it goes.
  await writeFileAtomic(join(dir, 'output_potential.yaml'), withFitCycles(await readFile(checkpoint, 'utf8'), 0));
  const conversionMs = await convertPotential(o, `converting ${checkpoint}`);
  const stop = { o, identity, conversionMs, checkpoint };
  if (resumedFrom && last) {
    const warnings = [
      `run ${last.run} (resumed from iteration ${last.offset}) had not completed an iteration yet: the potential is its checkpoint ${resumedFrom.path} (iteration ${resumedFrom.iteration})`,
    ];
    return writeStopArtifact(stop, await stoppedAtCheckpoint(o, resumedFrom, warnings));
  }
  const lastRow = await readFinalMetrics(join(dir, 'metrics.txt'));
  if (!lastRow) throw new OutputMissingError(`${join(dir, 'metrics.txt')} has no rows: pacemaker stopped before its first iteration`);
  // metrics.txt holds the stopped run's rows only: a resumed generation's earlier runs add their iterations.
  const offset = last?.offset ?? 0;

  const warnings: string[] = [];
  let train: ErrorMetrics = lastRow;
  let test: ErrorMetrics | null = null;
  let trainMetricsFrom: EarlyStopInfo['trainMetricsFrom'] = 'metrics.txt';
  const evaluation = await tryEvaluation(o, warnings, "metrics.txt's last row");
  if (evaluation) {
    trainMetricsFrom = 'evaluation';
    const rows = parseMetricsTable(await readFile(join(dir, 'metrics.txt'), 'utf8'));
    const row = matchingRow(rows, evaluation.train);
    if (!row) {
      warnings.push(
        `the stopped potential's train errors (${evaluation.train.energy_rmse_mev_per_atom} meV/atom, ${evaluation.train.force_rmse_mev_per_a} meV/Å) match no row of metrics.txt: iterations counts up to its last row, loss unknown`,
      );
    }
    const at = row ?? { iterations: lastRow.iterations, loss: null };
    train = { ...evaluation.train, ...at };
    if (evaluation.test) test = { ...evaluation.test, iterations: at.iterations, loss: null };
    else warnings.push('no test metrics: the data has no test set (input.yaml has no data.test_filename or test_size)');
  }

  const metrics = acrossRuns({ train, test }, offset);
  // The stopped run's rows join the learning curve, up to the stopped potential's iteration.
  await journal.absorbLastRun(metrics.train.iterations);
  return writeStopArtifact(stop, { metrics, evaluation, trainMetricsFrom, warnings });
}

/** What a stop found: metrics counted across runs, the evaluation (when it ran), and why anything is missing. */
interface Stopped {
  metrics: Metrics;
  evaluation: Evaluation | null;
  trainMetricsFrom: EarlyStopInfo['trainMetricsFrom'];
  warnings: string[];
}

/** The evaluation of the stopped potential, or null with a warning saying why (`trainFrom`: where the train metrics come from instead). */
async function tryEvaluation(o: OutputContext, warnings: string[], trainFrom: string): Promise<Evaluation | null> {
  try {
    return await evaluateStopped(o);
  } catch (err) {
    // A cancelled activity ends as cancelled; any other failure only costs the test metrics.
    if (o.signal?.aborted) throw err;
    warnings.push(`no test metrics: evaluating the stopped potential failed (${oneLineSummary(err)}); train metrics are ${trainFrom}`);
    return null;
  }
}

/**
 * Whether the last started run has completed an iteration. Its own lines of log.txt (from the
 * `logStart` its runs.jsonl record gives, as salvageCheckpoint reads them) say so: pacemaker
 * restarts metrics.txt before it fits and logs each iteration before it writes that iteration's
 * interim file, so a run that logged none has no row past its initial state and no interim file of
 * its own, whatever metrics.txt holds (its header, its initial-state row, or the rows of the run
 * before when pacemaker had not restarted it yet). This needs no clock and no row count (a count
 * cannot tell two runs' tables apart). Without a recorded `logStart` or a log.txt, metrics.txt
 * is the run's when it is not older than the run's input.yaml (the trainer writes it just before
 * the run starts; pacemaker only reads it; both times from the same file system clock) and then
 * the run iterated when it has a row past iteration 0.
 */
async function lastRunIterated(dir: string, last: StartedRun): Promise<boolean> {
  if (last.logStart !== undefined) {
    const log = await readFile(join(dir, 'log.txt')).catch(() => null);
    if (log !== null) {
      const t = new FitTracker(last.start ?? START_POSITION, last.ladder ?? false);
      for (const line of log.subarray(Math.min(last.logStart, log.length)).toString('utf8').split(/\r\n|\r|\n/)) t.feed(line);
      return t.runIterations > 0 || t.lastStepSaved !== null || t.lastCycleEnd !== null;
    }
  }
  const [metrics, input] = await Promise.all(['metrics.txt', 'input.yaml'].map((f) => stat(join(dir, f)).catch(() => null)));
  if (!metrics) return false;
  if (input && metrics.mtimeMs < input.mtimeMs) return false;
  return parseMetricsTable(await readFile(join(dir, 'metrics.txt'), 'utf8')).some((r, i) => (Number.isFinite(r.iter_num) ? r.iter_num! > 0 : i > 0));
}

/**
 * Metrics of a stop at checkpoint `cp` (the checkpoint a run resumed from before it iterated):
 * `iterations` is the checkpoint's, counted across runs; the train errors are the evaluation's,
 * with the loss of learning_curve.tsv's point of that iteration when the errors match it, or
 * that point's when the evaluation failed. The learning curve already ends at the checkpoint
 * (the trainer folds every run into it up to where the next one resumes).
 */
async function stoppedAtCheckpoint(o: OutputContext, cp: FitCheckpoint, warnings: string[]): Promise<Stopped> {
  const curveFile = join(o.dir, CURVE_FILE);
  const curve: CurvePoint[] = (await exists(curveFile)) ? parseCurve(await readFile(curveFile, 'utf8')) : [];
  const point = curve.filter((p) => p.iteration === cp.iteration).at(-1) ?? null;
  const iterations = cp.iteration;
  const evaluation = await tryEvaluation(o, warnings, `learning_curve.tsv's point of iteration ${iterations}`);
  if (!evaluation) {
    if (!point || !Number.isFinite(point.energyRmse) || !Number.isFinite(point.forceRmse)) {
      throw new OutputMissingError(`stop at checkpoint ${cp.path}: its evaluation failed and ${curveFile} has no point of iteration ${iterations}`);
    }
    const train: ErrorMetrics = {
      energy_rmse_mev_per_atom: point.energyRmse,
      force_rmse_mev_per_a: point.forceRmse,
      energy_mae_mev_per_atom: null,
      force_mae_mev_per_a: null,
      iterations,
      loss: Number.isFinite(point.loss) ? point.loss : null,
    };
    return { metrics: { train, test: null }, evaluation: null, trainMetricsFrom: 'learning_curve.tsv', warnings };
  }
  const matches = point !== null && close(point.energyRmse / 1000, evaluation.train.energy_rmse_mev_per_atom) && close(point.forceRmse / 1000, evaluation.train.force_rmse_mev_per_a);
  if (!matches) {
    warnings.push(
      `the stopped potential's train errors (${evaluation.train.energy_rmse_mev_per_atom} meV/atom, ${evaluation.train.force_rmse_mev_per_a} meV/Å) match no point of learning_curve.tsv at iteration ${iterations}: loss unknown`,
    );
  }
  const loss = matches && Number.isFinite(point.loss) ? point.loss : null;
  const train: ErrorMetrics = { ...evaluation.train, iterations, loss };
  const test: ErrorMetrics | null = evaluation.test ? { ...evaluation.test, iterations, loss: null } : null;
  if (!evaluation.test) warnings.push('no test metrics: the data has no test set (input.yaml has no data.test_filename or test_size)');
  return { metrics: { train, test }, evaluation, trainMetricsFrom: 'evaluation', warnings };
}

/** Files of a stopped generation recorded in its artifact (when present), besides the evaluation's. */
const STOP_FILES = ['input.yaml', 'output_potential.yaml', 'output_potential.yace', 'log.txt', 'metrics.txt', 'learning_curve.tsv', 'runs.jsonl'] as const;

/** The artifact of a stop, written to artifact.json. */
async function writeStopArtifact(
  s: { o: OutputContext; identity: ArtifactIdentity; conversionMs: number; checkpoint: string },
  { metrics, evaluation, trainMetricsFrom, warnings }: Stopped,
): Promise<EarlyStoppedArtifact> {
  const files: string[] = [...STOP_FILES];
  if (evaluation) files.push(...EVALUATION_FILES.map((f) => `${STOP_EVALUATION_DIR}/${f}`));
  const artifact = await assembleArtifact(s.o, {
    identity: s.identity,
    metrics,
    files,
    timings: {
      pacemakerSeconds: evaluation?.pacemakerSeconds ?? 0,
      conversionSeconds: s.conversionMs / 1000,
      metricsSeconds: evaluation?.bridgeSeconds ?? 0,
    },
  });
  return writeArtifact(s.o.dir, {
    ...artifact,
    stoppedEarly: { checkpoint: s.checkpoint, iterations: metrics.train.iterations, trainMetricsFrom, evaluationDir: STOP_EVALUATION_DIR, warnings },
  });
}

/**
 * `pacemaker input.yaml -p stopped_potential.yaml --no-fit` in STOP_EVALUATION_DIR: the
 * interrupted run's input (same data, test set and reference energies) with the stopped
 * potential, evaluated without fitting; then the bridge's errors of its predictions. The
 * generation folder's own files are only read.
 */
async function evaluateStopped(o: OutputContext): Promise<Evaluation> {
  const dir = o.dir;
  const evalDir = join(dir, STOP_EVALUATION_DIR);
  // A retried finalise starts clean: nothing of an earlier evaluation is taken for this one's.
  await rm(evalDir, { recursive: true, force: true });
  await mkdir(evalDir, { recursive: true });
  const inputPath = join(dir, 'input.yaml');
  if (!(await exists(inputPath))) throw new OutputMissingError(`${inputPath} is missing`);
  const input = yaml.load(await readFile(inputPath, 'utf8'));
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new OutputMissingError(`${inputPath} is not a YAML mapping`);
  await copyFile(join(dir, 'output_potential.yaml'), join(evalDir, EVALUATED_POTENTIAL));
  const evalInput = { ...(input as Record<string, unknown>), potential: EVALUATED_POTENTIAL, data: absoluteData((input as { data?: unknown }).data, dir) };
  await writeFileAtomic(join(evalDir, 'input.yaml'), yaml.dump(evalInput, { noRefs: true, lineWidth: 120 }));

  const command = [...o.toolchain.command('pacemaker'), 'input.yaml', '-p', EVALUATED_POTENTIAL, '--no-fit', '-l', 'log.txt'];
  const run = await runOrFail({
    program: 'pacemaker',
    label: 'pacemaker --no-fit',
    command,
    cwd: evalDir,
    logFile: join(evalDir, 'pacemaker.out'),
    timeoutMs: STOP_EVALUATION_TIMEOUT_MS,
    stall: defaultStallWatch('pacemaker --no-fit'),
    ...(o.env ? { env: o.env } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const errorsOf = (file: string) => predictionErrors(o.toolchain, file, join(evalDir, 'bridge.log'), o.signal);
  const trainPred = join(evalDir, 'train_pred.pckl.gzip');
  if (!(await exists(trainPred))) throw new OutputMissingError(`pacemaker --no-fit exited 0 but wrote no ${trainPred}`);
  const train = await errorsOf(trainPred);
  const testPred = join(evalDir, 'test_pred.pckl.gzip');
  const data = (evalInput.data ?? {}) as { test_filename?: unknown; test_size?: unknown };
  const hasTestSet = data.test_filename !== undefined || Number(data.test_size) > 0;
  if (hasTestSet && !(await exists(testPred))) throw new OutputMissingError(`pacemaker --no-fit exited 0 but wrote no ${testPred}`);
  const test = hasTestSet ? await errorsOf(testPred) : null;
  return {
    train: train.errors,
    test: test?.errors ?? null,
    pacemakerSeconds: run.durationMs / 1000,
    bridgeSeconds: train.seconds + (test?.seconds ?? 0),
  };
}

/** The data section with relative file names resolved against the generation folder (the evaluation runs in a subfolder). */
function absoluteData(data: unknown, dir: string): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  const d = { ...(data as Record<string, unknown>) };
  if (d.datapath !== undefined) return d;
  const abs = (v: unknown): unknown =>
    typeof v === 'string' ? (isAbsolute(v) ? v : resolve(dir, v)) : Array.isArray(v) ? v.map(abs) : v;
  for (const key of ['filename', 'test_filename']) if (d[key] !== undefined) d[key] = abs(d[key]);
  return d;
}

/**
 * The metrics.txt row of the state whose train errors `e` are (the newest such row), as the
 * iterations done up to it (row 0 of every cycle and ladder step repeats the state it starts
 * from) and its loss. pacemaker writes an iteration's row just before its interim potential, so
 * a checkpoint can be one row behind; the errors, recomputed from predictions, agree with the
 * row's to about 1e-8 (relative).
 */
function matchingRow(rows: Record<string, number>[], e: PredErrors): { iterations: number; loss: number | null } | null {
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i]!;
    if (!close(r.rmse_epa, e.energy_rmse_mev_per_atom) || !close(r.rmse_f_comp, e.force_rmse_mev_per_a)) continue;
    const upTo = rows.slice(0, i + 1);
    const iterations = Number.isFinite(r.iter_num) ? upTo.filter((x) => x.iter_num! > 0).length : i;
    return { iterations, loss: Number.isFinite(r.loss) ? r.loss! : null };
  }
  return null;
}

/** Whether a metrics value in eV units (`row`) is the recomputed `mev` (meV), to about 1e-8 relative. */
function close(row: number | undefined, mev: number): boolean {
  return row !== undefined && Number.isFinite(row) && Math.abs(row * 1000 - mev) <= 1e-5 * Math.max(Math.abs(mev), 1e-9);
}
