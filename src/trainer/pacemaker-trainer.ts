/**
 * The specification's PacemakerTrainer: update the dataset, train or fine-tune with pacemaker, resume,
 * stop early. Plain async code with no Temporal in it, so activities and any other caller (CLI,
 * scripts, tests) share it. It orchestrates: plan a run (run-plan.ts, batch-size.ts), run it
 * (run-pacemaker.ts), journal it (run-journal.ts), and make the outputs (outputs.ts).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { OutOfMemoryError, OutputMissingError } from '../errors.js';
import { CAMPAIGN_LAYOUT, generationVersion } from '../domain/naming.js';
import { fittedReferenceEnergy } from '../domain/potential.js';
import type { PacemakerTrainerConfig, PotentialArtifact } from '../domain/schemas.js';
import { DatasetStore, type AppendOrigin, type DatasetSummary, type TrainingData } from '../dataset/store.js';
import type { Toolchain } from '../pacemaker/toolchain.js';
import { canonicalJson, exists, sha256File, sha256Text } from '../util/files.js';
import { batchSizeAfterOutOfMemory, outOfMemoryAtFloor, reducedBatchSize, startingBatchSize } from './batch-size.js';
import { resumeCheckpoint } from './checkpoint.js';
import { finaliseFromCheckpoint } from './finalise-checkpoint.js';
import { compareProgress, positionOf } from './fit-position.js';
import { acrossRuns, assembleArtifact, collectMetrics, configSha256, convertPotential, finishedArtifact, fitFiles, writeArtifact, type ArtifactIdentity, type OutputContext } from './outputs.js';
import { RunJournal } from './run-journal.js';
import { runPacemaker, TrainingReport, writeRunInputs } from './run-pacemaker.js';
import { PARENT_FILE, fitCycles, planRun, trainingInput } from './run-plan.js';
import { LOCAL_OWNER, stopStaleRun } from './stale-process.js';
import { checkInitialPotential, writeStartPotential } from './start-potential.js';
import type { DatasetContext, EarlyStoppedArtifact, InitialPotential, StopContext, TrainContext, Trainer } from './trainer.js';

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

/** A campaign's pacemaker dataset (`data/accumulated.pckl.gzip`), written by the dataset helper with the installation's Python. */
export function openPacemakerDataset(ctx: DatasetContext): DatasetStore {
  return new DatasetStore(
    join(ctx.campaignDir, CAMPAIGN_LAYOUT.dataset),
    { python: ctx.toolchain.python, logFile: join(ctx.campaignDir, 'logs', 'dataset.log') },
    {
      ...(ctx.testFraction !== undefined ? { testFraction: ctx.testFraction } : {}),
      ...(ctx.referenceEnergy !== undefined ? { referenceEnergy: ctx.referenceEnergy } : {}),
    },
  );
}

export class PacemakerTrainer implements Trainer {
  readonly version: string;
  readonly generationDir: string;
  private readonly dataset: DatasetStore;

  constructor(private readonly opts: PacemakerTrainerOptions) {
    // New structures are split by the config's test_size, and energy_corrected is written when
    // the config gives reference energies (not `auto`).
    const reference = opts.config.reference_energy;
    this.dataset = openPacemakerDataset({
      campaignDir: opts.campaignDir,
      toolchain: opts.toolchain,
      testFraction: opts.config.test_size,
      ...(reference !== 'auto' ? { referenceEnergy: reference } : {}),
    });
    this.version = generationVersion(opts.generation);
    this.generationDir = resolve(opts.campaignDir, CAMPAIGN_LAYOUT.generationDir(opts.generation));
  }

  async updateDataset(files: readonly string[], origin: AppendOrigin = {}): Promise<DatasetSummary> {
    return this.dataset.appendFiles(files, this.opts.config.elements, origin);
  }

  async train(data: TrainingData, initialPotential: InitialPotential | null, ctx: TrainContext = {}): Promise<PotentialArtifact> {
    const dir = this.generationDir;
    const cfg = this.opts.config;
    const mode = initialPotential?.mode ?? null;
    const identity = this.identity(data);
    const done = await finishedArtifact(dir, identity);
    if (done) return done;

    await mkdir(dir, { recursive: true });
    let parentSha = '';
    if (initialPotential) {
      await checkInitialPotential(initialPotential.path, initialPotential.mode, cfg);
      parentSha = await sha256File(initialPotential.path);
    }
    const runKey = sha256Text(canonicalJson({ datasetSha256: identity.datasetSha256, configSha256: identity.configSha256, parentSha, mode }));
    const owner = ctx.owner ?? LOCAL_OWNER;
    // pacemaker runs in the generation folder: it gets absolute data paths.
    const input = { ...data, trainPath: resolve(data.trainPath), testPath: data.testPath !== null ? resolve(data.testPath) : null };

    // A pacemaker of an earlier attempt (killed worker) would race this one in the same folder.
    const stale = await stopStaleRun(dir, owner);
    const journal = new RunJournal(dir);
    let checkpoint = await resumeCheckpoint(dir, runKey, ctx.resume?.checkpoint ?? null, await journal.lastStarted(), cfg.batch_size);
    const records = await journal.records();
    // An out-of-memory reduction of earlier attempts of these inputs, even without a checkpoint.
    const reduced = reducedBatchSize(records, runKey);
    const kept = checkpoint === null ? await journal.startOver(records, runKey) : records;
    if (initialPotential) await writeStartPotential(initialPotential.path, join(dir, PARENT_FILE), trainingInput(cfg, input));

    let batchSize = startingBatchSize(cfg.batch_size, [checkpoint?.batchSize, reduced, ctx.resume?.batchSize]);
    let run = kept.filter((r) => r.event === 'start').length;
    const ladderSteps = checkpoint ? positionOf(checkpoint).ladderStep + 1 : 1;
    const report = new TrainingReport(ctx.onProgress, fitCycles(cfg) * cfg.max_epochs, ladderSteps, { stage: 'training', checkpoint, batchSize });
    if (stale !== null) await journal.append({ event: 'end', run, attempt: owner.attempt, failure: `stale pacemaker (process group ${stale}) of an earlier attempt stopped` });

    let pacemakerMs = 0;
    let final: { offset: number } | null = null;
    const batchesTried: number[] = [];
    while (final === null) {
      // Fold the previous run's rows (up to where this run resumes) into the learning curve.
      await journal.absorbLastRun(checkpoint?.iteration ?? 0);
      run += 1;
      batchesTried.push(batchSize);
      const startFrom = checkpoint?.path ?? (initialPotential ? join(dir, PARENT_FILE) : null);
      const referenceEnergy = startFrom ? fittedReferenceEnergy(yaml.load(await readFile(startFrom, 'utf8'))) : null;
      const plan = planRun(cfg, input, { mode, checkpoint, batchSize, referenceEnergy });
      const { args, logStart } = await writeRunInputs(dir, plan, checkpoint);
      await journal.append({
        event: 'start', run, attempt: owner.attempt, args, maxiter: plan.maxiter, offset: plan.offset, batchSize, runKey, logStart,
        kind: plan.kind, start: plan.start, ladder: plan.ladder,
        resumedFrom: checkpoint ? `${checkpoint.path} (iteration ${checkpoint.iteration})` : null,
      });
      report.update({ stage: 'training', run, batchSize, checkpoint });
      const outcome = await runPacemaker({
        dir, toolchain: this.opts.toolchain, owner, plan, run, args, runKey, batchSize, checkpoint, report,
        ...(this.opts.env ? { env: this.opts.env } : {}),
        ...(this.opts.trainingTimeoutMs !== undefined ? { timeoutMs: this.opts.trainingTimeoutMs } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });

      if (!outcome.ok) {
        checkpoint = outcome.latest;
        const oom = outcome.error instanceof OutOfMemoryError ? outcome.error : null;
        const nextBatchSize = oom ? batchSizeAfterOutOfMemory(batchSize) : null;
        const failure = outcome.error instanceof Error ? (outcome.error.message.split('\n')[0] ?? null) : String(outcome.error);
        await journal.append({ event: 'end', run, attempt: owner.attempt, failure, ...(nextBatchSize !== null ? { nextBatchSize } : {}) });
        if (!oom) throw outcome.error;
        if (nextBatchSize === null) throw new OutOfMemoryError(outOfMemoryAtFloor(batchesTried, cfg.functions_per_element, oom.message), false);
        batchSize = nextBatchSize;
        if (checkpoint) checkpoint = { ...checkpoint, batchSize };
        continue;
      }
      pacemakerMs += outcome.durationMs;
      await journal.append({ event: 'end', run, attempt: owner.attempt, exitCode: 0 });
      if (plan.completes) {
        final = { offset: plan.offset };
        continue;
      }
      // A run of a resume chain ended its cycle or ladder step: the next one starts from its end.
      const next = outcome.latest;
      if (next === null || (checkpoint !== null && compareProgress(next, checkpoint) <= 0)) {
        throw new OutputMissingError(`pacemaker ended its ${plan.kind} run in ${dir} but no checkpoint of the end was kept (see ${join(dir, 'log.txt')})`);
      }
      checkpoint = next;
    }
    if (!(await exists(join(dir, 'output_potential.yaml')))) {
      throw new OutputMissingError(`pacemaker exited 0 but wrote no output_potential.yaml in ${dir}`);
    }
    await journal.absorbLastRun(Infinity);

    report.update({ stage: 'converting' });
    const out = this.outputs(ctx.signal);
    const conversionMs = await convertPotential(out);
    const { metrics, metricsSeconds } = await collectMetrics(out);
    const artifact = await assembleArtifact(out, {
      identity,
      // metrics.txt counts the last run's iterations only; earlier runs of a resumed generation add theirs.
      metrics: acrossRuns(metrics, final.offset),
      files: await fitFiles(dir),
      timings: { pacemakerSeconds: pacemakerMs / 1000, conversionSeconds: conversionMs / 1000, metricsSeconds },
    });
    await writeArtifact(dir, artifact);
    report.update({ stage: 'done' });
    return artifact;
  }

  async finaliseCheckpoint(data: TrainingData, ctx: StopContext = {}): Promise<EarlyStoppedArtifact> {
    return finaliseFromCheckpoint(this.outputs(ctx.signal), this.identity(data));
  }

  /** What an artifact of this generation on `data` says it is. */
  private identity(data: TrainingData): ArtifactIdentity {
    return { version: this.version, parentVersion: this.opts.parentVersion ?? null, datasetSha256: data.sha256, configSha256: configSha256(this.opts.config) };
  }

  private outputs(signal: AbortSignal | undefined): OutputContext {
    return {
      dir: this.generationDir,
      toolchain: this.opts.toolchain,
      ...(this.opts.env ? { env: this.opts.env } : {}),
      ...(signal ? { signal } : {}),
    };
  }
}
