/**
 * The seed's PacemakerTrainer: update the dataset, select an active set, train or fine-tune
 * with pacemaker. Plain async code with no Temporal in it, so activities and any other caller
 * (CLI, scripts, tests) share it.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { BadInputError, OutOfMemoryError, OutputMissingError, ProgramFailedError } from '../errors.js';
import { buildPacemakerInput, forContinuation, type PacemakerInput } from '../domain/input-yaml.js';
import { CAMPAIGN_LAYOUT, generationVersion } from '../domain/naming.js';
import { createIterationParser, parseMetricsTable, recogniseFailure } from '../domain/pacemaker-log.js';
import { describePotential } from '../domain/potential.js';
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
import { runProgram } from '../process/run-program.js';
import type { Toolchain, PacemakerProgram } from '../pacemaker/toolchain.js';
import { canonicalJson, exists, sha256File, sha256Text, writeFileAtomic } from '../util/files.js';
import type { Trainer, TrainerRunContext } from './trainer.js';

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

/** Files of a generation folder recorded, with their hashes, in the artifact. */
const ARTIFACT_FILES = [
  'input.yaml',
  'output_potential.yaml',
  'output_potential.yace',
  'log.txt',
  'metrics.txt',
  'test_metrics.txt',
] as const;

export class PacemakerTrainer implements Trainer {
  readonly dataset: DatasetStore;
  readonly version: string;
  readonly generationDir: string;

  constructor(private readonly opts: PacemakerTrainerOptions) {
    this.dataset = new DatasetStore(join(opts.campaignDir, CAMPAIGN_LAYOUT.dataset), {
      python: opts.toolchain.python,
      logFile: join(opts.campaignDir, 'logs', 'dataset.log'),
    });
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

  /** Contents of input.yaml for this generation. */
  buildInput(data: TrainingData, continuing: boolean): PacemakerInput {
    const input = buildPacemakerInput(this.opts.config, {
      filename: resolve(data.trainPath),
      ...(data.testPath !== null ? { testFilename: resolve(data.testPath) } : {}),
    });
    return continuing ? forContinuation(input, this.opts.config.max_epochs) : input;
  }

  /** The seed's _run_training(): writes input.yaml, runs pacemaker, converts, collects metrics. */
  async runTraining(data: TrainingData, initialPotential: string | null, ctx: TrainerRunContext = {}): Promise<PotentialArtifact> {
    const dir = this.generationDir;
    const datasetSha256 = data.sha256;
    const configSha256 = sha256Text(canonicalJson(this.opts.config));

    const done = await this.completedArtifact(datasetSha256, configSha256);
    if (done) return done;

    await mkdir(dir, { recursive: true });
    let progress: TrainingProgress = { ...INITIAL_PROGRESS, stage: 'training', maxiter: this.opts.config.max_epochs };
    ctx.onProgress?.(progress);

    const args = ['input.yaml', '-o', 'output_potential.yaml', '-l', 'log.txt'];
    if (initialPotential !== null) {
      await this.checkInitialPotential(initialPotential);
      await copyFile(initialPotential, join(dir, 'initial_potential.yaml'));
      args.push('-p', 'initial_potential.yaml');
    }
    const input = this.buildInput(data, initialPotential !== null);
    await writeFileAtomic(join(dir, 'input.yaml'), yaml.dump(input, { noRefs: true, lineWidth: 120 }));

    const started = Date.now();
    const parse = createIterationParser();
    const pacemakerMs = await this.run('pacemaker', args, ctx, this.opts.trainingTimeoutMs, (line) => {
      const it = parse(line);
      if (it) {
        progress = advanceProgress(progress, it, this.opts.config.max_epochs, (Date.now() - started) / 1000);
        ctx.onProgress?.(progress);
      }
    });
    if (!(await exists(join(dir, 'output_potential.yaml')))) {
      throw new OutputMissingError(`pacemaker exited 0 but wrote no output_potential.yaml in ${dir}`);
    }

    ctx.onProgress?.({ ...progress, stage: 'converting' });
    const conversionMs = await this.run('pace_yaml2yace', ['output_potential.yaml', '-o', 'output_potential.yace'], ctx, 10 * 60_000);
    if (!(await exists(join(dir, 'output_potential.yace')))) {
      throw new OutputMissingError(`pace_yaml2yace wrote no output_potential.yace in ${dir}`);
    }

    const files: Record<string, FileRef> = {};
    for (const name of ARTIFACT_FILES) {
      const p = join(dir, name);
      if (await exists(p)) files[name] = { path: p, sha256: await sha256File(p) };
    }
    const { metrics, metricsSeconds } = await this.collectMetrics();
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
    ctx.onProgress?.({ ...progress, stage: 'done' });
    return artifact;
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
      const m = await runBridge<Omit<ErrorMetrics, 'iterations' | 'loss'>>(
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
    for (const ref of Object.values(a.files)) {
      if (!(await exists(ref.path)) || (await sha256File(ref.path)) !== ref.sha256) return null;
    }
    return a;
  }

  private async checkInitialPotential(path: string): Promise<void> {
    if (basename(path) === 'interim_potential_best_cycle.yaml') {
      throw new BadInputError(
        `initialPotential: ${path} is pacemaker's best-cycle checkpoint, which carries _fit_cycles and makes pacemaker skip fitting (upstream issue #77); use output_potential.yaml or interim_potential_0.yaml`,
      );
    }
    let doc: unknown;
    try {
      doc = yaml.load(await readFile(path, 'utf8'));
    } catch (err) {
      throw new BadInputError(`initialPotential: cannot read ${path}: ${(err as Error).message}`);
    }
    const shape = describePotential(doc);
    if (shape === null) throw new BadInputError(`initialPotential: ${path} is not a pacemaker potential YAML (no species or elements)`);
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
    onLine?: (line: string) => void,
  ): Promise<number> {
    const logFile = join(this.generationDir, `${program}.out`);
    const res = await runProgram({
      command: [...this.opts.toolchain.command(program), ...args],
      cwd: this.generationDir,
      logFile,
      ...(this.opts.env ? { env: this.opts.env } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(onLine ? { onLine } : {}),
    });
    if (res.exitCode === 0) return res.durationMs;
    const tail = res.tail.join('\n');
    const how = res.cancelled
      ? 'was cancelled'
      : res.timedOut
        ? `timed out after ${Math.round(res.durationMs / 1000)} s`
        : `exited with ${res.exitCode ?? res.signal}`;
    const known = res.cancelled || res.timedOut ? null : recogniseFailure(tail);
    const message = `${program} ${how}${known ? ` [${known.kind}: ${known.hint}]` : ''}; last output:\n${res.tail.slice(-12).join('\n')}\nfull output: ${logFile}`;
    if (known?.kind === 'OutOfMemory') throw new OutOfMemoryError(message);
    throw new ProgramFailedError(
      message,
      { program, exitCode: res.exitCode, signal: res.signal, logFile, known: known?.kind ?? null },
      known ? known.retryable : true,
    );
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
    // Row 0 is the initial state, so the last iter_num is the number of iterations done.
    iterations: Number.isFinite(last.iter_num) ? last.iter_num! : rows.length - 1,
    loss: Number.isFinite(last.loss) ? last.loss! : null,
  };
}
