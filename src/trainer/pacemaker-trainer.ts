/**
 * The seed's PacemakerTrainer: update the dataset, select an active set, train or fine-tune
 * with pacemaker. Plain async code with no Temporal in it, so activities and any other caller
 * (CLI, scripts, tests) share it.
 */
import { copyFile, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { readPotentialShape } from '../pacemaker/potential-file.js';
import { basename, join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { BadInputError, OutOfMemoryError, OutputMissingError } from '../errors.js';
import { buildPacemakerInput, forContinuation, forFineTune, type FineTuneMode, type FineTunePlan, type PacemakerInput } from '../domain/input-yaml.js';
import { CAMPAIGN_LAYOUT, generationVersion } from '../domain/naming.js';
import { parseMetricsTable } from '../domain/pacemaker-log.js';
import { fittedReferenceEnergy, withoutAutoRepulsion } from '../domain/potential.js';
import { INITIAL_PROGRESS, advanceProgress, type TrainingProgress } from '../domain/progress.js';
import {
  PotentialArtifact,
  type CalculationResult,
  type ErrorMetrics,
  type FileRef,
  type PacemakerTrainerConfig,
} from '../domain/schemas.js';
import { DatasetStore, type DatasetSummary, type TrainingData } from '../dataset/store.js';
import { runBridge } from '../dataset/bridge.js';
import { runOrFail } from '../process/run-program.js';
import type { Toolchain, PacemakerProgram } from '../pacemaker/toolchain.js';
import { canonicalJson, exists, existingFileRefs, sha256File, sha256Text, writeFileAtomic } from '../util/files.js';
import type { Trainer, TrainerRunContext } from './trainer.js';
import { CheckpointKeeper, findCheckpoint, positionOf, salvageCheckpoint, type FitCheckpoint } from './checkpoint.js';
import { START_POSITION, compareProgress, ladderComplete, withFitCycles, type FitPosition } from './fit-position.js';
import { curveFromMetrics, formatCurve, mergeCurve, parseCurve } from './learning-curve.js';
import { LOCAL_OWNER, ownsFolder, removePidFile, stopStaleRun, writePidFile } from './stale-process.js';

/** The parent potential, copied into the generation folder (what `-p` or the ladder reads). */
const PARENT_FILE = 'initial_potential.yaml';
/** A copy of the checkpoint for `-p`: pacemaker overwrites its interim files while it runs. */
const RESUME_FILE = 'resume_potential.yaml';

async function readRuns(file: string): Promise<RunRecord[]> {
  if (!(await exists(file))) return [];
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as RunRecord);
}

/**
 * The last pacemaker run of a generation folder that runs.jsonl records as started: its number
 * and `offset`, the iterations of the generation done before it (metrics.txt holds that run's
 * rows only), and, when recorded, its inputs' `runKey`, where its lines of log.txt start
 * (`logStart`), where in the fit it started and whether it ladders. null when no run is recorded.
 */
export async function lastStartedRun(
  dir: string,
): Promise<{ run: number; offset: number; runKey?: string; logStart?: number; start?: FitPosition; ladder?: boolean } | null> {
  const last = (await readRuns(join(dir, 'runs.jsonl'))).filter((r) => r.event === 'start').at(-1);
  if (!last) return null;
  return {
    run: last.run,
    offset: last.offset ?? 0,
    ...(last.runKey !== undefined ? { runKey: last.runKey } : {}),
    ...(last.logStart !== undefined ? { logStart: last.logStart } : {}),
    ...(last.start !== undefined ? { start: last.start } : {}),
    ...(last.ladder !== undefined ? { ladder: last.ladder } : {}),
  };
}

/**
 * Metrics of one run (metrics.txt counts that run's iterations only) as the generation's:
 * `offset` (lastStartedRun) adds the iterations of the earlier runs of a resumed generation.
 */
export function acrossRuns(metrics: { train: ErrorMetrics; test: ErrorMetrics | null }, offset: number): { train: ErrorMetrics; test: ErrorMetrics | null } {
  const train = { ...metrics.train, iterations: metrics.train.iterations + offset };
  return { train, test: metrics.test ? { ...metrics.test, iterations: train.iterations } : null };
}

/**
 * Folds the rows of the last started run's metrics.txt, up to iteration `upTo` of the
 * generation, into learning_curve.tsv (see mergeCurve: folding the same rows again changes nothing).
 */
export async function absorbLastRun(dir: string, upTo: number): Promise<void> {
  const last = await lastStartedRun(dir);
  const metricsFile = join(dir, 'metrics.txt');
  if (!last || !(await exists(metricsFile))) return;
  const curveFile = join(dir, 'learning_curve.tsv');
  const rows = parseMetricsTable(await readFile(metricsFile, 'utf8'));
  const prev = (await exists(curveFile)) ? parseCurve(await readFile(curveFile, 'utf8')) : [];
  const merged = mergeCurve(prev, curveFromMetrics(rows, last.offset, last.run, upTo));
  await writeFileAtomic(curveFile, formatCurve(merged));
}

export interface PacemakerTrainerOptions {
  config: PacemakerTrainerConfig;
  /** Root of one campaign: holds `data/` and `potentials/`. */
  campaignDir: string;
  toolchain: Toolchain;
  generation: number;
  parentVersion?: string | null;
  /** Limit for one pacemaker run. */
  trainingTimeoutMs?: number;
  /** Extra environment for pacemaker's programs (the simulator's fault injection reads it). */
  env?: Record<string, string>;
}

/** Files of a generation folder recorded, with their hashes, in the artifact (when present). */
const ARTIFACT_FILES = [
  'input.yaml',
  'initial_potential.yaml',
  'output_potential.yaml',
  'output_potential.yace',
  'log.txt',
  'pacemaker.out',
  'metrics.txt',
  'test_metrics.txt',
  'cycle_metrics.txt',
  'test_cycle_metrics.txt',
  'learning_curve.tsv',
  'runs.jsonl',
  'train_pred.pckl.gzip',
  'test_pred.pckl.gzip',
  'train_ef-distributions.png',
  'test_ef-distributions.png',
] as const;

/**
 * Smallest `backend.batch_size` tried after out-of-memory exits (structures per chunk of the loss
 * evaluation); below it a generation fails with a clear OutOfMemory error instead.
 */
export const OOM_BATCH_FLOOR = 1;

/** See PacemakerTrainer.planRun. */
type RunKind = 'fresh' | 'fine-tune' | 'finish-cycle' | 'next-cycles' | 'next-steps' | 'outputs';

/** One pacemaker run: its input and arguments, and where it stands in the generation's fit. */
export interface RunPlan extends FineTunePlan {
  kind: RunKind;
  /** `fit.maxiter` of the run (pacemaker applies it to every fit cycle). */
  maxiter: number;
  /** Iterations of the generation done before the run. */
  offset: number;
  /** Where the run starts (its first cycle continues at `start.cycleIteration`). */
  start: FitPosition;
  /** The run ladders (its log names the target size and every step). */
  ladder: boolean;
  /** `_fit_cycles` written into the resume copy (0: none). */
  resumeFitCycles: number;
  /** The run ends the fit, so its outputs are the generation's; otherwise another run follows. */
  completes: boolean;
}

/** One pacemaker run of a generation, as recorded in `runs.jsonl`. */
interface RunRecord {
  event: 'start' | 'end';
  run: number;
  attempt: number;
  args?: string[];
  maxiter?: number;
  /** Iterations done before this run. */
  offset?: number;
  batchSize?: number;
  resumedFrom?: string | null;
  /** Inputs the run belongs to (see CheckpointRef.runKey). */
  runKey?: string;
  /** Size of log.txt when the run started: its own log lines follow. */
  logStart?: number;
  /** What the run does (see PacemakerTrainer.planRun), where in the fit it starts, and whether it ladders. */
  kind?: RunKind;
  start?: FitPosition;
  ladder?: boolean;
  exitCode?: number | null;
  failure?: string | null;
  /** After an out-of-memory exit: the `backend.batch_size` the next run uses. */
  nextBatchSize?: number;
  at: string;
}

/**
 * The smallest `backend.batch_size` that earlier runs of the same inputs used or were cut down to
 * after running out of memory, so a reduction survives a later crash, a killed worker or a retry
 * that starts over (no checkpoint yet).
 */
function reducedBatchSize(runs: readonly RunRecord[], runKey: string): number | null {
  const keyOfRun = new Map<number, string | undefined>();
  let smallest: number | null = null;
  for (const r of runs) {
    if (r.event === 'start') keyOfRun.set(r.run, r.runKey);
    if (keyOfRun.get(r.run) !== runKey) continue;
    for (const b of [r.event === 'start' ? r.batchSize : undefined, r.nextBatchSize]) {
      if (typeof b === 'number' && Number.isInteger(b) && b >= 1) smallest = Math.min(smallest ?? b, b);
    }
  }
  return smallest;
}

export class PacemakerTrainer implements Trainer {
  readonly dataset: DatasetStore;
  readonly version: string;
  readonly generationDir: string;

  constructor(private readonly opts: PacemakerTrainerOptions) {
    // New structures are split by the config's test_size, and energy_corrected is written when
    // the config gives reference energies (not `auto`): the same store the activities use.
    const reference = opts.config.reference_energy;
    this.dataset = new DatasetStore(
      join(opts.campaignDir, CAMPAIGN_LAYOUT.dataset),
      { python: opts.toolchain.python, logFile: join(opts.campaignDir, 'logs', 'dataset.log') },
      { testFraction: opts.config.test_size, ...(reference !== 'auto' ? { referenceEnergy: reference } : {}) },
    );
    this.version = generationVersion(opts.generation);
    this.generationDir = resolve(opts.campaignDir, CAMPAIGN_LAYOUT.generationDir(opts.generation));
  }

  get config(): PacemakerTrainerConfig {
    return this.opts.config;
  }

  /** The seed's train(): append `dataset`, then train on everything accumulated so far. */
  async train(dataset: readonly CalculationResult[], initialPotential?: string, ctx: TrainerRunContext = {}): Promise<PotentialArtifact> {
    const summary = await this.updateDataset(dataset);
    return this.runTraining(summary, initialPotential ?? null, ctx);
  }

  /** The seed's update_dataset(): appends new results to `data/accumulated.pckl.gzip`. */
  async updateDataset(newData: readonly CalculationResult[] | { files: readonly string[] }): Promise<DatasetSummary> {
    if ('files' in newData) return this.dataset.appendFiles(newData.files, this.opts.config.elements);
    return this.dataset.append(newData);
  }

  /** Contents of input.yaml for a fresh (not fine-tuned, not resumed) run. */
  buildInput(data: TrainingData, continuing = false, batchSize = this.opts.config.batch_size): PacemakerInput {
    const input = buildPacemakerInput(this.opts.config, {
      filename: resolve(data.trainPath),
      ...(data.testPath !== null ? { testFilename: resolve(data.testPath) } : {}),
    });
    const sized = { ...input, backend: { ...input.backend, batch_size: batchSize } };
    return continuing ? forContinuation(sized, this.opts.config.max_epochs) : sized;
  }

  /** `fit.fit_cycles` of the config (pacemaker's default 1). */
  get fitCycles(): number {
    const n = (this.opts.config.input as { fit?: { fit_cycles?: unknown } }).fit?.fit_cycles;
    return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : 1;
  }

  /**
   * Whether the fit ladders: `extend` grows the parent with pacemaker's ladder; a fit from scratch
   * ladders (from an empty potential) when the config sets `fit.ladder_step`. `continue` and
   * `reset` drop the ladder.
   */
  laddered(mode: FineTuneMode | null): boolean {
    if (mode === 'extend') return true;
    return mode === null && (this.opts.config.input as { fit?: { ladder_step?: unknown } }).fit?.ladder_step !== undefined;
  }

  /**
   * Input and arguments of the next run: from scratch or fine-tuned from the parent (the whole
   * fit), or resumed from a checkpoint at its place in the fit (see FitPosition). pacemaker keeps
   * no optimizer state and applies `fit.maxiter` to every fit cycle of a run and `fit.fit_cycles`
   * to every ladder step, so a resume is a chain of runs, each from the previous one's end:
   * - `finish-cycle`: `-p` on a copy of the checkpoint with `_fit_cycles: c` and
   *   `fit_cycles: c + 1`: pacemaker runs the rest of cycle c, `maxiter` minus its iterations done;
   * - `next-cycles`: `-p` on the finished cycle with `_fit_cycles: c + 1`: cycles c + 1 .. N - 1;
   * - `next-steps`: the ladder continued from the finished step (`potential.initial_potential`,
   *   `ladder_step`), which pacemaker grows by one step before fitting, as it would have;
   * - `outputs`: the fit had ended but wrote no output: one more iteration, for pacemaker's outputs.
   * `-p` runs drop the ladder (upstream issue #39); `-p` and `-ip` are never combined.
   */
  planRun(
    data: TrainingData,
    o: { mode: FineTuneMode | null; checkpoint: FitCheckpoint | null; batchSize: number; referenceEnergy?: Record<string, number> | null },
  ): RunPlan {
    const maxiter = this.opts.config.max_epochs;
    const cycles = this.fitCycles;
    const ladder = this.laddered(o.mode);
    let base = this.buildInput(data, false, o.batchSize);
    // Keep the energy scale of the potential we start from (see fittedReferenceEnergy); a reset refits from zero.
    const keepsEnergies = o.checkpoint !== null || o.mode === 'continue' || o.mode === 'extend';
    if (o.referenceEnergy && keepsEnergies && this.opts.config.reference_energy === 'auto') {
      base = { ...base, data: { ...base.data, reference_energy: o.referenceEnergy } };
    }
    if (!o.checkpoint) {
      const whole = { maxiter, offset: 0, start: START_POSITION, ladder, resumeFitCycles: 0, completes: true };
      if (o.mode !== null) return { ...forFineTune(base, o.mode, PARENT_FILE, maxiter), ...whole, kind: 'fine-tune' };
      return { input: base, args: [], ...whole, kind: 'fresh' };
    }
    const offset = o.checkpoint.iteration;
    const at = positionOf(o.checkpoint);
    const sized = { basisFunctions: at.basisFunctions, targetFunctions: at.targetFunctions };
    const cycleDone = at.stage !== 'running' || at.cycleIteration >= maxiter;
    const stepDone = at.stage === 'step-done' || (cycleDone && at.cycle >= cycles - 1);
    const stepsLeft = ladder && !ladderComplete(at);
    const withCycles = (plan: FineTunePlan, n: number): FineTunePlan =>
      cycles > 1 || n > 1 ? { ...plan, input: { ...plan.input, fit: { ...plan.input.fit, fit_cycles: n } } } : plan;
    if (!cycleDone) {
      const remaining = maxiter - at.cycleIteration;
      return {
        ...withCycles(forFineTune(base, 'continue', RESUME_FILE, remaining), at.cycle + 1),
        maxiter: remaining, offset, kind: 'finish-cycle', start: at, ladder: false, resumeFitCycles: at.cycle,
        completes: at.cycle + 1 >= cycles && !stepsLeft,
      };
    }
    if (!stepDone) {
      return {
        ...withCycles(forFineTune(base, 'continue', RESUME_FILE, maxiter), cycles),
        maxiter, offset, kind: 'next-cycles', start: { ...START_POSITION, ...sized, ladderStep: at.ladderStep, cycle: at.cycle + 1 },
        ladder: false, resumeFitCycles: at.cycle + 1, completes: !stepsLeft,
      };
    }
    if (stepsLeft) {
      return {
        ...withCycles(forFineTune(base, 'extend', RESUME_FILE, maxiter), cycles),
        maxiter, offset, kind: 'next-steps', start: { ...START_POSITION, ...sized, ladderStep: at.ladderStep + 1 },
        ladder: true, resumeFitCycles: 0, completes: true,
      };
    }
    // Everything was fitted but the run ended before its outputs: at least one iteration, since
    // pacemaker writes no output potential when it fits nothing.
    return {
      ...withCycles(forFineTune(base, 'continue', RESUME_FILE, 1), cycles),
      maxiter: 1, offset, kind: 'outputs', start: { ...at, cycle: cycles - 1, stage: 'running' },
      ladder: false, resumeFitCycles: cycles - 1, completes: true,
    };
  }

  /** The seed's _run_training(): writes input.yaml, runs pacemaker, converts, collects metrics. */
  async runTraining(data: TrainingData, initialPotential: string | null, ctx: TrainerRunContext = {}): Promise<PotentialArtifact> {
    const dir = this.generationDir;
    const cfg = this.opts.config;
    const datasetSha256 = data.sha256;
    const configSha256 = sha256Text(canonicalJson(cfg));
    if (ctx.fineTune !== undefined && initialPotential === null) {
      throw new BadInputError(`fineTune: ${JSON.stringify(ctx.fineTune)} needs an initialPotential to start from (got null)`);
    }
    const mode: FineTuneMode | null = initialPotential === null ? null : (ctx.fineTune ?? 'continue');

    const done = await this.completedArtifact(datasetSha256, configSha256);
    if (done) return done;

    await mkdir(dir, { recursive: true });
    let parentSha = '';
    if (initialPotential !== null) {
      await this.checkInitialPotential(initialPotential, mode);
      parentSha = await sha256File(initialPotential);
    }
    const runKey = sha256Text(canonicalJson({ datasetSha256, configSha256, parentSha, mode }));
    const owner = ctx.owner ?? LOCAL_OWNER;

    // A pacemaker of an earlier attempt (killed worker) would race this one in the same folder.
    const stale = await stopStaleRun(dir, owner);
    let checkpoint = await findCheckpoint(dir, runKey, ctx.resume ?? null);
    const runsFile = join(dir, 'runs.jsonl');
    const curveFile = join(dir, 'learning_curve.tsv');
    // The previous run may have gone on after its worker died: take its newest state from pacemaker's own files.
    const lastStart = (await readRuns(runsFile)).filter((r) => r.event === 'start').at(-1);
    if (lastStart && lastStart.runKey === runKey && lastStart.logStart !== undefined) {
      checkpoint = await salvageCheckpoint(dir, {
        runKey,
        offset: lastStart.offset ?? 0,
        logStart: lastStart.logStart,
        batchSize: lastStart.batchSize ?? cfg.batch_size,
        current: checkpoint,
        ...(lastStart.start ? { start: lastStart.start } : {}),
        ...(lastStart.ladder !== undefined ? { ladder: lastStart.ladder } : {}),
      });
    }
    let runs = await readRuns(runsFile);
    // An out-of-memory reduction of earlier attempts of these inputs, even without a checkpoint.
    const reduced = reducedBatchSize(runs, runKey);
    if (checkpoint === null) {
      // A fresh start: the curve starts over. Earlier runs of other inputs are not part of this
      // generation; failed runs of the same inputs stay listed.
      if (!runs.filter((r) => r.event === 'start').every((r) => r.runKey === runKey)) {
        runs = [];
        await writeFileAtomic(runsFile, '');
      }
      await writeFileAtomic(curveFile, formatCurve([]));
    }
    if (initialPotential !== null) await this.writeStartPotential(initialPotential, join(dir, PARENT_FILE), data);

    let batchSize = Math.min(cfg.batch_size, checkpoint?.batchSize ?? Infinity, reduced ?? Infinity, ctx.resumeBatchSize ?? Infinity);
    let run = runs.filter((r) => r.event === 'start').length;
    // Iterations of the whole fit: maxiter per fit cycle, every cycle once per ladder step (the
    // number of steps is estimated from the basis sizes pacemaker logs as it goes).
    let ladderSteps = checkpoint ? positionOf(checkpoint).ladderStep + 1 : 1;
    const plannedIterations = () => ladderSteps * this.fitCycles * cfg.max_epochs;
    let progress: TrainingProgress = { ...INITIAL_PROGRESS, stage: 'training', maxiter: plannedIterations(), checkpoint, batchSize };
    const report = (p: TrainingProgress) => {
      progress = p;
      ctx.onProgress?.(p);
    };
    report(progress);
    if (stale !== null) await this.appendRun(runsFile, { event: 'end', run, attempt: owner.attempt, failure: `stale pacemaker (process group ${stale}) of an earlier attempt stopped`, at: new Date().toISOString() });

    let pacemakerMs = 0;
    let final: { offset: number; run: number } | null = null;
    const batchesTried: number[] = [];
    while (final === null) {
      // Fold the previous run's rows (up to where this run resumes) into the learning curve.
      await absorbLastRun(dir, checkpoint?.iteration ?? 0);
      run += 1;
      batchesTried.push(batchSize);
      const startFrom = checkpoint?.path ?? (initialPotential !== null ? join(dir, PARENT_FILE) : null);
      const referenceEnergy = startFrom ? fittedReferenceEnergy(yaml.load(await readFile(startFrom, 'utf8'))) : null;
      const plan = this.planRun(data, { mode, checkpoint, batchSize, referenceEnergy });
      // The copy enters the fit cycle the run starts in (see planRun); the checkpoint stays as pacemaker wrote it.
      if (checkpoint) await writeFileAtomic(join(dir, RESUME_FILE), withFitCycles(await readFile(checkpoint.path, 'utf8'), plan.resumeFitCycles));
      await writeFileAtomic(join(dir, 'input.yaml'), yaml.dump(plan.input, { noRefs: true, lineWidth: 120 }));
      const args = ['input.yaml', '-o', 'output_potential.yaml', '-l', 'log.txt', ...plan.args];
      const logStart = (await stat(join(dir, 'log.txt')).catch(() => null))?.size ?? 0;
      await this.appendRun(runsFile, {
        event: 'start', run, attempt: owner.attempt, args, maxiter: plan.maxiter, offset: plan.offset, batchSize, runKey, logStart,
        kind: plan.kind, start: plan.start, ladder: plan.ladder,
        resumedFrom: checkpoint ? `${checkpoint.path} (iteration ${checkpoint.iteration})` : null, at: new Date().toISOString(),
      });
      report({ ...progress, stage: 'training', run, batchSize, checkpoint });

      let pid = -1;
      const keeper = new CheckpointKeeper(dir, {
        runKey,
        offset: plan.offset,
        batchSize,
        previous: checkpoint,
        start: plan.start,
        ladder: plan.ladder,
        owns: () => ownsFolder(dir, pid),
        onCheckpoint: (ref) => report({ ...progress, checkpoint: ref }),
      });
      keeper.start();
      const started = Date.now();
      try {
        pacemakerMs += await this.run('pacemaker', args, ctx, this.opts.trainingTimeoutMs, {
          onSpawn: async (p) => {
            pid = p;
            await writePidFile(dir, owner, p);
          },
          onLine: (line) => {
            const it = keeper.onLine(line);
            if (!it) return;
            ladderSteps = Math.max(ladderSteps, keeper.tracker.estimatedSteps());
            // Counted across the run's cycles and ladder steps (pacemaker numbers each cycle from 1).
            const runIteration = { ...it, iteration: keeper.tracker.runIterations };
            report({ ...advanceProgress(progress, runIteration, plannedIterations(), (Date.now() - started) / 1000, plan.offset), checkpoint: keeper.latest, run, batchSize });
          },
        });
        await this.appendRun(runsFile, { event: 'end', run, attempt: owner.attempt, exitCode: 0, at: new Date().toISOString() });
        if (plan.completes) final = { offset: plan.offset, run };
      } catch (err) {
        checkpoint = await keeper.finish();
        const oom = err instanceof OutOfMemoryError;
        const nextBatchSize = oom && batchSize > OOM_BATCH_FLOOR ? Math.max(OOM_BATCH_FLOOR, Math.floor(batchSize / 2)) : null;
        await this.appendRun(runsFile, {
          event: 'end', run, attempt: owner.attempt, failure: (err as Error).message.split('\n')[0] ?? null,
          ...(nextBatchSize !== null ? { nextBatchSize } : {}), at: new Date().toISOString(),
        });
        if (oom) {
          if (nextBatchSize === null) {
            throw new OutOfMemoryError(
              `pacemaker ran out of memory with backend.batch_size ${batchesTried.join(' -> ')} (floor ${OOM_BATCH_FLOOR}); give the worker more memory or use a smaller basis (functions_per_element ${cfg.functions_per_element}). ${err.message}`,
              false,
            );
          }
          batchSize = nextBatchSize;
          if (checkpoint) checkpoint = { ...checkpoint, batchSize };
          continue;
        }
        throw err;
      } finally {
        await keeper.finish();
        if (pid > 0) await removePidFile(dir, pid);
      }
      if (final === null) {
        // A run of a resume chain ended its cycle or ladder step: the next one starts from its end.
        const next = keeper.latest;
        if (next === null || (checkpoint !== null && compareProgress(next, checkpoint) <= 0)) {
          throw new OutputMissingError(`pacemaker ended its ${plan.kind} run in ${dir} but no checkpoint of the end was kept (see ${join(dir, 'log.txt')})`);
        }
        checkpoint = next;
      }
    }
    if (!(await exists(join(dir, 'output_potential.yaml')))) {
      throw new OutputMissingError(`pacemaker exited 0 but wrote no output_potential.yaml in ${dir}`);
    }
    await absorbLastRun(dir, Infinity);

    report({ ...progress, stage: 'converting' });
    const conversionMs = await this.run('pace_yaml2yace', ['output_potential.yaml', '-o', 'output_potential.yace'], ctx, 10 * 60_000);
    if (!(await exists(join(dir, 'output_potential.yace')))) {
      throw new OutputMissingError(`pace_yaml2yace wrote no output_potential.yace in ${dir}`);
    }

    const collected = await this.collectMetrics();
    const metricsSeconds = collected.metricsSeconds;
    // metrics.txt counts this run's iterations only; earlier runs of a resumed generation add theirs.
    const metrics = acrossRuns(collected.metrics, final.offset);
    const names: string[] = [...ARTIFACT_FILES];
    const reportDir = join(dir, 'report');
    if (await exists(reportDir)) names.push(...(await readdir(reportDir)).filter((f) => f.endsWith('.png')).sort().map((f) => `report/${f}`));
    const files: Record<string, FileRef> = await existingFileRefs(dir, names);
    const artifact = PotentialArtifact.parse({
      path: join(dir, 'output_potential.yace'),
      potentialYaml: join(dir, 'output_potential.yaml'),
      metrics,
      version: this.version,
      parentVersion: this.opts.parentVersion ?? null,
      datasetSha256,
      configSha256,
      files,
      simulated: this.opts.toolchain.kind === 'simulator',
      trainerVersion: this.opts.toolchain.version,
      timings: { pacemakerSeconds: pacemakerMs / 1000, conversionSeconds: conversionMs / 1000, metricsSeconds },
    } satisfies PotentialArtifact);
    await writeFileAtomic(join(dir, 'artifact.json'), JSON.stringify(artifact, null, 2) + '\n');
    report({ ...progress, stage: 'done' });
    return artifact;
  }

  private async appendRun(file: string, rec: RunRecord): Promise<void> {
    const prev = (await exists(file)) ? await readFile(file, 'utf8') : '';
    await writeFileAtomic(file, prev + JSON.stringify(rec) + '\n');
  }

  /**
   * Train errors from metrics.txt; test errors from test_metrics.txt, or recomputed from
   * test_pred.pckl.gzip when that table is empty (as with the pyace evaluator).
   */
  private async collectMetrics(): Promise<{ metrics: { train: ErrorMetrics; test: ErrorMetrics | null }; metricsSeconds: number }> {
    const dir = this.generationDir;
    const train = await readFinalMetrics(join(dir, 'metrics.txt'));
    if (!train) throw new OutputMissingError(`${join(dir, 'metrics.txt')} has no rows: pacemaker did not fit`);
    let test = await readFinalMetrics(join(dir, 'test_metrics.txt'));
    let metricsSeconds = 0;
    if (!test && (await exists(join(dir, 'test_pred.pckl.gzip')))) {
      const m = await runBridge(
        'pred-metrics',
        ['--pred', join(dir, 'test_pred.pckl.gzip')],
        { python: this.opts.toolchain.python, logFile: join(dir, 'bridge.log') },
      );
      metricsSeconds = m.programSeconds;
      test = {
        energy_rmse_mev_per_atom: m.energy_rmse_mev_per_atom,
        force_rmse_mev_per_a: m.force_rmse_mev_per_a,
        energy_mae_mev_per_atom: m.energy_mae_mev_per_atom,
        force_mae_mev_per_a: m.force_mae_mev_per_a,
        iterations: train.iterations,
        loss: null,
      };
    }
    return { metrics: { train, test }, metricsSeconds };
  }

  /** A finished generation with intact files, trained on the same data and config. */
  private async completedArtifact(datasetSha256: string, configSha256: string): Promise<PotentialArtifact | null> {
    const file = join(this.generationDir, 'artifact.json');
    if (!(await exists(file))) return null;
    const parsed = PotentialArtifact.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!parsed.success) return null;
    const a = parsed.data;
    if (a.datasetSha256 !== datasetSha256 || a.configSha256 !== configSha256) return null;
    if (a.parentVersion !== (this.opts.parentVersion ?? null)) return null;
    for (const ref of Object.values(a.files)) {
      if (!(await exists(ref.path)) || (await sha256File(ref.path)) !== ref.sha256) return null;
    }
    return a;
  }

  /**
   * The parent as the fine-tune starts from it. With `fit.repulsion: auto` the inner cutoff and
   * ZBL core that pacemaker added after the parent's fit are taken out (see
   * withoutAutoRepulsion): the parent's shortest bond would otherwise put new, shorter bonds on
   * the ZBL core for the whole fit; pacemaker sets the repulsion again from all the data after it.
   */
  private async writeStartPotential(source: string, target: string, data: TrainingData): Promise<void> {
    const input = this.buildInput(data);
    if (input.fit.repulsion !== 'auto') {
      await copyFile(source, target);
      return;
    }
    const all = (section: unknown): Record<string, unknown> => ((section as Record<string, Record<string, unknown>> | undefined)?.ALL ?? {});
    const configured = { ...all(input.potential.embeddings), ...all(input.potential.bonds) };
    await writeFileAtomic(target, withoutAutoRepulsion(await readFile(source, 'utf8'), configured));
  }

  private async checkInitialPotential(path: string, mode: FineTuneMode | null = null): Promise<void> {
    if (basename(path) === 'interim_potential_best_cycle.yaml') {
      throw new BadInputError(
        `initialPotential: ${path} is pacemaker's best-cycle checkpoint, which carries _fit_cycles and makes pacemaker skip fitting (upstream issue #77); use output_potential.yaml or interim_potential_0.yaml`,
      );
    }
    const shape = await readPotentialShape(path, 'initialPotential');
    const want = [...this.opts.config.elements].sort().join(',');
    if ([...shape.elements].sort().join(',') !== want) {
      throw new BadInputError(
        `initialPotential: ${path} has elements [${shape.elements.join(', ')}] but the config has [${this.opts.config.elements.join(', ')}]`,
      );
    }
    if (shape.cutoff !== null && Math.abs(shape.cutoff - this.opts.config.cutoff) > 1e-6) {
      throw new BadInputError(
        `initialPotential: ${path} has cutoff ${shape.cutoff} Å but the config has cutoff ${this.opts.config.cutoff} Å; continuing would silently keep ${shape.cutoff}`,
      );
    }
    const largest = Math.max(0, ...Object.values(shape.functionsPerElement));
    if (mode === 'extend' && largest >= this.opts.config.functions_per_element) {
      throw new BadInputError(
        `fineTune: "extend" grows the basis from ${path}, which already has ${largest} functions per element, but functions_per_element is ${this.opts.config.functions_per_element}; raise functions_per_element above ${largest} or use fineTune: "continue"`,
      );
    }
    if (shape.fitCycles > 0) {
      throw new BadInputError(
        `initialPotential: ${path} carries _fit_cycles: ${shape.fitCycles}, so pacemaker would skip fitting (upstream issue #77); use output_potential.yaml or interim_potential_0.yaml`,
      );
    }
  }

  private async run(
    program: PacemakerProgram,
    args: string[],
    ctx: TrainerRunContext,
    timeoutMs: number | undefined,
    hooks: { onLine?: (line: string) => void; onSpawn?: (pid: number) => Promise<void> } = {},
  ): Promise<number> {
    const res = await runOrFail({
      program,
      command: [...this.opts.toolchain.command(program), ...args],
      cwd: this.generationDir,
      logFile: join(this.generationDir, `${program}.out`),
      ...(this.opts.env ? { env: this.opts.env } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(hooks.onLine ? { onLine: hooks.onLine } : {}),
      ...(hooks.onSpawn ? { onSpawn: hooks.onSpawn } : {}),
    });
    return res.durationMs;
  }
}

/**
 * Final errors from pacemaker's metrics table (eV/atom and eV/Å) in meV/atom and meV/Å, or
 * null when the table has only its header (pacemaker's pyace evaluator never fills the test
 * tables).
 */
export async function readFinalMetrics(path: string): Promise<ErrorMetrics | null> {
  if (!(await exists(path))) return null;
  const rows = parseMetricsTable(await readFile(path, 'utf8'));
  const last = rows.at(-1);
  if (!last) return null;
  if (!Number.isFinite(last.rmse_epa) || !Number.isFinite(last.rmse_f_comp)) {
    throw new OutputMissingError(`${path}: last row has no numeric rmse_epa and rmse_f_comp`);
  }
  const mev = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v * 1000);
  return {
    energy_rmse_mev_per_atom: last.rmse_epa! * 1000,
    force_rmse_mev_per_a: last.rmse_f_comp! * 1000,
    energy_mae_mev_per_atom: mev(last.mae_epa),
    force_mae_mev_per_a: mev(last.mae_f_comp),
    // Row 0 of every fit cycle (and ladder step) repeats the state it starts from: the other rows are the iterations done.
    iterations: Number.isFinite(last.iter_num) ? rows.filter((r) => r.iter_num! > 0).length : rows.length - 1,
    loss: Number.isFinite(last.loss) ? last.loss! : null,
  };
}
