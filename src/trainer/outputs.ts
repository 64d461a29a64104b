/**
 * A generation's outputs, the same whether its fit finished or was stopped early: the potential
 * converted for LAMMPS (pace_yaml2yace), its errors (pacemaker's metrics tables, or recomputed
 * from its prediction pickles), and the artifact that records all of it with every file's hash.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OutputMissingError } from '../errors.js';
import { parseMetricsTable } from '../domain/pacemaker-log.js';
import { PotentialArtifact, type ErrorMetrics, type PacemakerTrainerConfig } from '../domain/schemas.js';
import { runBridge } from '../dataset/bridge.js';
import type { Toolchain } from '../pacemaker/toolchain.js';
import { runOrFail } from '../process/run-program.js';
import { defaultStallWatch } from '../process/stall.js';
import { canonicalJson, exists, existingFileRefs, sha256File, sha256Text, writeFileAtomic } from '../util/files.js';

/** Where and with what a generation's outputs are made. */
export interface OutputContext {
  /** The generation folder. */
  dir: string;
  toolchain: Toolchain;
  /** Extra environment for pacemaker's programs (the simulator's fault injection reads it). */
  env?: Record<string, string>;
  signal?: AbortSignal;
}

/** Train/test errors of a potential. */
export interface Metrics {
  train: ErrorMetrics;
  test: ErrorMetrics | null;
}

/** The errors a prediction pickle gives: meV/atom and meV/Å per force component. */
export type PredErrors = Pick<ErrorMetrics, 'energy_rmse_mev_per_atom' | 'force_rmse_mev_per_a' | 'energy_mae_mev_per_atom' | 'force_mae_mev_per_a'>;

/** What an artifact says it is: its generation, its parent, and what it was trained from. */
export interface ArtifactIdentity {
  version: string;
  parentVersion: string | null;
  datasetSha256: string;
  configSha256: string;
}

/** Files of a finished fit recorded, with their hashes, in the artifact (when present); `report/*.png` come on top. */
export const FIT_FILES = [
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

/** The hash of a trainer config as artifacts record it. */
export function configSha256(config: PacemakerTrainerConfig): string {
  // The sanity limits decide which data is accepted, not how it is fitted: the data's own
  // version (datasetSha256) covers them, and changing one must not retrain a finished generation.
  const fit: Partial<PacemakerTrainerConfig> = { ...config };
  delete fit.max_energy_per_atom_ev;
  delete fit.max_force_ev_per_a;
  return sha256Text(canonicalJson(fit));
}

/**
 * `pace_yaml2yace output_potential.yaml -o output_potential.yace` in the generation folder;
 * returns its run time, ms. `doing` says what the potential is, for the error message.
 */
export async function convertPotential(o: OutputContext, doing?: string): Promise<number> {
  const res = await runOrFail({
    program: 'pace_yaml2yace',
    ...(doing !== undefined ? { doing } : {}),
    command: [...o.toolchain.command('pace_yaml2yace'), 'output_potential.yaml', '-o', 'output_potential.yace'],
    cwd: o.dir,
    logFile: join(o.dir, 'pace_yaml2yace.out'),
    timeoutMs: 10 * 60_000,
    stall: defaultStallWatch('pace_yaml2yace'),
    ...(o.env ? { env: o.env } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (!(await exists(join(o.dir, 'output_potential.yace')))) throw new OutputMissingError(`pace_yaml2yace wrote no output_potential.yace in ${o.dir}`);
  return res.durationMs;
}

/** The errors of a prediction pickle (train_pred / test_pred.pckl.gzip), from the dataset helper, and its run time, s. */
export async function predictionErrors(
  toolchain: Toolchain,
  pred: string,
  logFile: string,
  signal?: AbortSignal,
): Promise<{ errors: PredErrors; seconds: number }> {
  const m = await runBridge('pred-metrics', ['--pred', pred], { python: toolchain.python, logFile, ...(signal ? { signal } : {}) });
  return {
    errors: {
      energy_rmse_mev_per_atom: m.energy_rmse_mev_per_atom,
      force_rmse_mev_per_a: m.force_rmse_mev_per_a,
      energy_mae_mev_per_atom: m.energy_mae_mev_per_atom,
      force_mae_mev_per_a: m.force_mae_mev_per_a,
    },
    seconds: m.programSeconds,
  };
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

/**
 * The errors of a finished fit: train errors from metrics.txt; test errors from
 * test_metrics.txt, or recomputed from test_pred.pckl.gzip when that table is empty (as with
 * the pyace evaluator). `metricsSeconds`: the helper's run time.
 */
export async function collectMetrics(o: OutputContext): Promise<{ metrics: Metrics; metricsSeconds: number }> {
  const train = await readFinalMetrics(join(o.dir, 'metrics.txt'));
  if (!train) throw new OutputMissingError(`${join(o.dir, 'metrics.txt')} has no rows: pacemaker did not fit`);
  let test = await readFinalMetrics(join(o.dir, 'test_metrics.txt'));
  let metricsSeconds = 0;
  const testPred = join(o.dir, 'test_pred.pckl.gzip');
  if (!test && (await exists(testPred))) {
    const p = await predictionErrors(o.toolchain, testPred, join(o.dir, 'bridge.log'));
    metricsSeconds = p.seconds;
    test = { ...p.errors, iterations: train.iterations, loss: null };
  }
  return { metrics: { train, test }, metricsSeconds };
}

/**
 * Metrics of one run (metrics.txt counts that run's iterations only) as the generation's:
 * `offset` (the last started run's) adds the iterations of the earlier runs of a resumed generation.
 */
export function acrossRuns(metrics: Metrics, offset: number): Metrics {
  const train = { ...metrics.train, iterations: metrics.train.iterations + offset };
  return { train, test: metrics.test ? { ...metrics.test, iterations: train.iterations } : null };
}

/** The files of a finished fit to record: FIT_FILES and pacemaker's pictures under `report/`. */
export async function fitFiles(dir: string): Promise<string[]> {
  const names: string[] = [...FIT_FILES];
  const reportDir = join(dir, 'report');
  if (await exists(reportDir)) names.push(...(await readdir(reportDir)).filter((f) => f.endsWith('.png')).sort().map((f) => `report/${f}`));
  return names;
}

/** The artifact of the potential in the generation folder, with the hashes of `files` (those present). */
export async function assembleArtifact(
  o: OutputContext,
  a: { identity: ArtifactIdentity; metrics: Metrics; files: readonly string[]; timings: PotentialArtifact['timings']; resources?: PotentialArtifact['resources'] },
): Promise<PotentialArtifact> {
  return PotentialArtifact.parse({
    path: join(o.dir, 'output_potential.yace'),
    potentialYaml: join(o.dir, 'output_potential.yaml'),
    metrics: a.metrics,
    ...a.identity,
    files: await existingFileRefs(o.dir, a.files),
    simulated: o.toolchain.kind === 'simulator',
    trainerVersion: o.toolchain.version,
    timings: a.timings,
    ...(a.resources ? { resources: a.resources } : {}),
  } satisfies PotentialArtifact);
}

/** Writes `artifact.json` in the generation folder: the record a re-run finds (see finishedArtifact). */
export async function writeArtifact<A extends PotentialArtifact>(dir: string, artifact: A): Promise<A> {
  await writeFileAtomic(join(dir, 'artifact.json'), JSON.stringify(artifact, null, 2) + '\n');
  return artifact;
}

/** The artifact of a finished generation with intact files, trained on the same data, config and parent; else null. */
export async function finishedArtifact(dir: string, identity: ArtifactIdentity): Promise<PotentialArtifact | null> {
  const file = join(dir, 'artifact.json');
  if (!(await exists(file))) return null;
  const parsed = PotentialArtifact.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) return null;
  const a = parsed.data;
  if (a.datasetSha256 !== identity.datasetSha256 || a.configSha256 !== identity.configSha256) return null;
  if (a.parentVersion !== identity.parentVersion) return null;
  for (const ref of Object.values(a.files)) {
    if (!(await exists(ref.path)) || (await sha256File(ref.path)) !== ref.sha256) return null;
  }
  return a;
}
