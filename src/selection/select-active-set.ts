/**
 * The specification's select_active_set: choose exactly n structures from a pool of candidates for DFT
 * labelling, by D-optimality with the current potential through pace_select, filling up by the
 * largest extrapolation grade when pace_select returns fewer (its `-m` is only a cap, upstream
 * issue #74). Plain async code: the activity, the CLI and the benchmark share it.
 */
import { copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { readPotentialShape } from '../pacemaker/potential-file.js';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { BadInputError, OutputMissingError } from '../errors.js';
import { buildPacemakerInput } from '../domain/input-yaml.js';
import {
  ActiveSetSelection,
  DEFAULT_GAMMA_MAX,
  DEFAULT_SELECTION_MEMORY_LIMIT,
  MemoryLimit,
  SelectionStrategy,
  describeIssues,
  typeMapArgument,
  type PacemakerTrainerConfig,
  type TypeMap,
} from '../domain/schemas.js';
import { canonicalJson, exists, sha256File, sha256Text, writeFileAtomic } from '../util/files.js';
import { failureOf, InProcessUnavailableError, runPace, runSelectScript, UNDER_DETERMINED, type StepContext } from './programs.js';
import type { SelectReplies } from './replies.js';

export interface SelectActiveSetOptions extends StepContext {
  /**
   * Any file of structures, labelled or not (extended XYZ, .traj, VASP, LAMMPS with `typeMap`,
   * CIF, JSON/JSONL of Structure) or a dataset pickle; read one structure at a time.
   */
  pool: string;
  /** LAMMPS atom type -> element, for a LAMMPS pool. */
  typeMap?: TypeMap;
  /** Structures wanted: exactly n when the pool holds at least n. */
  n: number;
  /** Potential YAML to select with; null: generation 0, the unfitted shape built from `config`. */
  potential: string | null;
  /** The potential's `.asi`; undefined: `<potential>.asi` when that file exists. */
  activeSet?: string | null;
  /** Needed when `potential` is null. */
  config?: PacemakerTrainerConfig;
  /** Folder for this selection's files (created). */
  workDir: string;
  /** Passed to pace_select as `-mem` (default 8GB). */
  memoryLimit?: string;
  /** Structures per batch of the gamma computation (memory ~ batch x atoms x functions x 8 B). */
  batchSize?: number;
  /**
   * `in-process` (default): pace_select's own selection function run inside mlip-select, whose
   * fill then reuses its projections; falls back to `program` when the installation lacks it.
   * `program`: the pace_select program, with the pool projected beside it.
   */
  via?: 'in-process' | 'program';
  /**
   * Beyond D-optimality and the fill (docs/selection.md#options-a-random-share-gamma-thresholds): `randomFraction` of the n drawn
   * at random from the candidates left (batch diversity); `gammaMin`/`gammaMax`: only structures
   * graded within them against the potential's active set are candidates (in-process only);
   * `seed` of the draw (default: derived from the inputs, so a retry draws the same).
   */
  strategy?: Partial<SelectionStrategy>;
}

const isSet = (v: number | null | undefined): v is number => v !== undefined && v !== null;

/** Structures of the dry-run sample: the unfitted shape depends on the config, not the data. */
const DRY_RUN_SAMPLE = 10;

/** The structures chosen, as the selection helper reports them (`run` or `select`). */
type Finished = SelectReplies['run'];

export async function selectActiveSet(o: SelectActiveSetOptions): Promise<ActiveSetSelection> {
  const started = Date.now();
  if (!Number.isInteger(o.n) || o.n <= 0) throw new BadInputError(`n: must be a positive integer (got ${String(o.n)})`);
  const memoryLimit = o.memoryLimit ?? DEFAULT_SELECTION_MEMORY_LIMIT;
  const mem = MemoryLimit.safeParse(memoryLimit, { reportInput: true });
  if (!mem.success) throw new BadInputError(describeIssues(mem.error, 'memoryLimit'));
  if (o.potential === null && !o.config) {
    throw new BadInputError('potential: none given, and no trainer config to build the unfitted generation-0 potential from');
  }
  const strategyParsed = SelectionStrategy.safeParse(o.strategy ?? {}, { reportInput: true });
  if (!strategyParsed.success) throw new BadInputError(describeIssues(strategyParsed.error, 'pool'));
  const strategy = strategyParsed.data;
  // Thresholds the caller gave are applied or refused; the default (DEFAULT_GAMMA_MAX) applies
  // only where it can: in process, against an active set.
  const explicitThresholds = isSet(o.strategy?.gammaMin) || isSet(o.strategy?.gammaMax);
  if (explicitThresholds && o.via === 'program') {
    throw new BadInputError('pool.gammaMin/gammaMax: gamma thresholds need the in-process selection (via: in-process); the pace_select program reads the whole pool');
  }
  const randomCount = Math.floor(o.n * strategy.randomFraction);
  const pool = resolve(o.pool);
  if (!(await exists(pool))) throw new BadInputError(`pool: file not found: ${o.pool}`);
  if (!(await stat(pool)).isFile()) throw new BadInputError(`pool: ${o.pool} is a directory, not a file`);
  const typeMap = o.typeMap ? ['--type-map', typeMapArgument(o.typeMap)] : [];
  const workDir = resolve(o.workDir);
  await mkdir(workDir, { recursive: true });

  let asi: string | null = null;
  let potentialElements: string[];
  if (o.potential !== null) {
    const source = resolve(o.potential);
    potentialElements = await potentialElementsOf(source);
    const beside = source.replace(/\.ya?ml$/, '.asi');
    const asiSource = o.activeSet !== undefined ? o.activeSet : (await exists(beside)) && beside !== source ? beside : null;
    if (asiSource !== null && !(await exists(asiSource))) throw new BadInputError(`activeSet: file not found: ${asiSource}`);
    asi = asiSource === null ? null : resolve(asiSource);
  } else {
    potentialElements = [...o.config!.elements];
  }
  let gammaMin = strategy.gammaMin ?? null;
  let gammaMax = strategy.gammaMax === undefined ? DEFAULT_GAMMA_MAX : strategy.gammaMax;
  if (!explicitThresholds && (asi === null || o.via === 'program')) {
    gammaMin = null;
    gammaMax = null;
  }
  const thresholds = gammaMin !== null || gammaMax !== null;

  // Same inputs, intact outputs: return the earlier answer instead of selecting again.
  const key = sha256Text(
    canonicalJson({
      pool: await sha256File(pool),
      n: o.n,
      potential: o.potential === null ? { config: o.config } : await sha256File(resolve(o.potential)),
      asi: asi === null ? null : await sha256File(asi),
      memoryLimit,
      toolchain: o.toolchain.version,
      via: o.via ?? 'in-process',
      ...(o.typeMap ? { typeMap: o.typeMap } : {}),
      // Only when set, so selections recorded before the options existed are still found.
      ...(randomCount > 0 || thresholds || strategy.seed !== undefined ? { strategy: { ...strategy, gammaMin, gammaMax } } : {}),
    }),
  );
  const seed = strategy.seed ?? Number.parseInt(key.slice(0, 8), 16) % 2 ** 31;
  const strategyArgs = randomCount > 0 ? ['--random', String(randomCount), '--seed', String(seed)] : [];
  const thresholdArgs = [...(gammaMin !== null ? ['--gamma-min', String(gammaMin)] : []), ...(gammaMax !== null ? ['--gamma-max', String(gammaMax)] : [])];
  const earlier = await earlierResult(workDir, key);
  if (earlier) return earlier;

  const log = join(workDir, 'mlip_select.log');
  // The in-process selection reads results files and pickles alike; the pace_select program reads
  // only pickles, so results files are converted for it, and generation 0 needs a small sample
  // for the dry run (made by the same conversion).
  const isPickle = /\.(pckl\.gzip|pkl\.gz|pkl\.gzip|pckl\.gz|pckl|pkl)$/i.test(pool);
  let poolFile = pool;
  const sample = join(workDir, 'dry-run', 'sample.pckl.gzip');
  const convert = async (): Promise<void> => {
    const converted = join(workDir, 'pool.pkl.gz');
    const prepared = await runSelectScript(
      o,
      'prepare',
      ['--pool', pool, ...typeMap, '--out', converted, ...(o.potential === null ? ['--sample', sample, '--sample-size', String(DRY_RUN_SAMPLE)] : [])],
      log,
    );
    poolFile = converted;
    const missing = prepared.elements.filter((e) => !potentialElements.includes(e));
    if (missing.length > 0) {
      throw new BadInputError(
        `pool: ${pool} has element(s) ${missing.join(', ')} that the potential lacks (it has ${[...potentialElements].sort().join(', ')}); select with a potential that covers them`,
      );
    }
  };
  if (o.potential === null || (!isPickle && o.via === 'program')) await convert();

  // Work on copies beside each other, so pace_select never silently picks up another .asi.
  const potential = join(workDir, 'potential.yaml');
  let dryRunSeconds = 0;
  if (o.potential !== null) {
    await copyFile(resolve(o.potential), potential);
  } else {
    dryRunSeconds = await dryRun(o, o.config!, sample, join(workDir, 'dry-run'), potential);
  }
  await rm(join(workDir, 'potential.asi'), { force: true });
  if (asi !== null) await copyFile(asi, join(workDir, 'potential.asi'));
  const warnings: string[] = [];

  const out = join(workDir, 'selected.pckl.gzip');
  const fill = ['--potential', potential, ...(asi !== null ? ['--asi', join(workDir, 'potential.asi')] : []), '-n', String(o.n), '--out', out, '--batch-size', String(o.batchSize ?? 200), ...strategyArgs];
  let via: 'in-process' | 'program' = o.via ?? 'in-process';
  let finished: Finished | null = null;
  let paceSelectSeconds = 0;
  if (via === 'in-process') {
    try {
      const r = await runSelectScript(
        o,
        'select',
        ['--pool', poolFile, ...(poolFile === pool ? typeMap : []), ...fill, ...thresholdArgs, '--memory-limit', memoryLimit],
        log,
        o.signal,
        // pace_select's batch mode writes interim_active_set.asi into the working folder.
        workDir,
      );
      finished = r;
      paceSelectSeconds = r.paceSelectSeconds;
      if (r.underDetermined) warnings.push(UNDER_DETERMINED_WARNING);
      warnings.push(...r.warnings);
    } catch (err) {
      if (!(err instanceof InProcessUnavailableError)) throw err;
      if (explicitThresholds) throw new BadInputError('pool.gammaMin/gammaMax: gamma thresholds need the in-process selection, and this pacemaker has no pyace.aceselect (pace_select before Nov 2023)');
      if (thresholds) warnings.push(`the default gamma threshold (gammaMax ${gammaMax}) was not applied: this pacemaker has no pyace.aceselect, so pace_select runs as a program, which reads the whole pool`);
      gammaMin = null;
      gammaMax = null;
      via = 'program';
    }
  }
  if (finished === null) {
    if (poolFile === pool && !isPickle) await convert();
    const beside = await paceSelectBeside(o, { workDir, poolFile, memoryLimit, asi: asi !== null, fill, log, warnings, paceSelectN: o.n - randomCount });
    finished = beside.finished;
    paceSelectSeconds = beside.paceSelectSeconds;
  }
  if (finished.poolSize < o.n) warnings.push(`the pool holds ${finished.poolSize} structures, fewer than n = ${o.n}: all of them are returned`);
  if (finished.poolSize >= o.n && finished.indices.length < o.n && finished.candidates) {
    warnings.push(`gamma thresholds left ${finished.candidates.kept} candidates, fewer than n = ${o.n}: all of them are returned`);
  }
  if (finished.counts.gamma > 0 && finished.paceSelectReturned > 0) {
    warnings.push(
      `pace_select returned ${finished.paceSelectReturned} structures for -m ${o.n - randomCount} (its cap: at most the active set's size); ${finished.counts.gamma} more were chosen by largest extrapolation grade`,
    );
  }
  const indicesFile = join(workDir, 'indices.json');
  await writeFileAtomic(indicesFile, JSON.stringify(finished.indices) + '\n');
  const result = ActiveSetSelection.parse({
    pool,
    poolSize: finished.poolSize,
    requested: o.n,
    indices: finished.indices,
    chosenBy: finished.chosenBy,
    gammaMax: finished.gammaMax,
    counts: finished.counts,
    ...(randomCount > 0 || gammaMin !== null || gammaMax !== null ? { strategy: { random: randomCount, gammaMin, gammaMax, seed } } : {}),
    candidates: finished.candidates ?? null,
    paceSelectReturned: finished.paceSelectReturned,
    gamma: finished.gamma,
    poolGamma: finished.poolGamma,
    poolGammaFile: finished.poolGammaFile ?? null,
    selected: { path: out, sha256: finished.sha256 },
    indicesFile,
    potential: o.potential === null ? potential : resolve(o.potential),
    unfittedPotential: o.potential === null,
    activeSet: asi,
    memoryLimit,
    warnings,
    simulated: o.toolchain.kind === 'simulator',
    via,
    timings: { totalSeconds: (Date.now() - started) / 1000, paceSelectSeconds, dryRunSeconds },
  } satisfies ActiveSetSelection);
  await writeFileAtomic(join(workDir, 'result.json'), JSON.stringify({ key, result }, null, 2) + '\n');
  return result;
}

const UNDER_DETERMINED_WARNING =
  'pace_select: the pool has fewer atoms of an element than the potential has functions ("under-determined"), so no D-optimal choice exists; all structures were ranked by extrapolation grade instead';

/**
 * The `program` path: mlip-select `run` works beside the pace_select program (2 processes, 2
 * cores): it loads and checks the pool and projects it while pace_select runs, then waits for
 * the `done` marker written here, and fills up to n. It stops projecting early once pace_select
 * alone supplies n.
 */
async function paceSelectBeside(
  o: SelectActiveSetOptions,
  w: { workDir: string; poolFile: string; memoryLimit: string; asi: boolean; fill: string[]; log: string; warnings: string[]; paceSelectN: number },
): Promise<{ finished: Finished; paceSelectSeconds: number }> {
  const { workDir, poolFile, memoryLimit, warnings } = w;
  const selectedByPace = join(workDir, 'selected_by_pace_select.pkl.gz');
  const done = join(workDir, 'pace_select.done');
  await rm(selectedByPace, { force: true });
  await rm(done, { force: true });
  const stopWorker = new AbortController();
  const stopPace = new AbortController();
  const relay = () => {
    stopWorker.abort();
    stopPace.abort();
  };
  if (o.signal?.aborted) relay();
  o.signal?.addEventListener('abort', relay, { once: true });
  // Read through a function: it is set from the worker's callback, which narrowing cannot see.
  let workerError: Error | null = null;
  const workerFailure = (): Error | null => workerError;
  const worker = runSelectScript(
    o,
    'run',
    ['--pool', poolFile, '--selected', selectedByPace, '--done', done, ...w.fill, '--memory-limit-bytes', String(memoryLimitBytes(memoryLimit))],
    w.log,
    stopWorker.signal,
  ).catch((err: unknown) => {
    // A bad pool (elements, empty, unreadable) shows here first: pace_select need not finish.
    workerError = err instanceof Error ? err : new Error(String(err));
    stopPace.abort();
    return null;
  });

  try {
    let overall: number | null = null;
    const res = await runPace(
      { ...o, signal: stopPace.signal },
      'pace_select',
      ['-p', 'potential.yaml', ...(w.asi ? ['-a', 'potential.asi'] : []), '-m', String(w.paceSelectN), '-mem', memoryLimit, '-o', 'selected_by_pace_select.pkl.gz', poolFile],
      workDir,
      (line) => {
        const m = /Overall (\d+) structures selected/.exec(line);
        if (m) overall = Number(m[1]);
      },
    );
    if (workerFailure() === null && res.exitCode !== 0 && !res.cancelled && UNDER_DETERMINED.test(res.tail.join('\n'))) {
      warnings.push(UNDER_DETERMINED_WARNING);
      await writeFileAtomic(done, JSON.stringify({ ok: false, returned: 0 }));
    } else if (workerFailure() === null && res.exitCode === 0) {
      if (!(await exists(selectedByPace))) throw new OutputMissingError(`pace_select exited 0 but wrote no ${selectedByPace}`);
      await writeFileAtomic(done, JSON.stringify({ ok: true, returned: overall ?? 0 }));
    } else {
      // The worker may be about to report why (a bad pool makes both fail): give it a moment
      // to answer on its own before stopping it.
      await Promise.race([worker, new Promise((r) => setTimeout(r, 5_000))]);
      stopWorker.abort();
      await worker;
      throw workerFailure() ?? failureOf('pace_select', res);
    }
    const finished = await worker;
    if (finished === null) throw workerFailure() ?? new Error('mlip-select run ended without an answer');
    return { finished, paceSelectSeconds: res.durationMs / 1000 };
  } catch (err) {
    stopWorker.abort();
    await worker;
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', relay);
  }
}

/** `8GB` -> bytes, as pacemaker reads it (GB = 2^30, MB = 2^20). */
export function memoryLimitBytes(limit: string): number {
  const m = /^(\d+(?:\.\d+)?)(GB|MB)$/.exec(limit);
  if (!m) throw new BadInputError(`memoryLimit: must look like 8GB or 500MB (got ${JSON.stringify(limit)})`);
  return Math.floor(Number(m[1]) * 2 ** (m[2] === 'GB' ? 30 : 20));
}

async function potentialElementsOf(path: string): Promise<string[]> {
  if (!(await exists(path))) throw new BadInputError(`potential: file not found: ${path}`);
  return (await readPotentialShape(path, 'potential')).elements;
}

/** Generation 0: `pacemaker --dry-run` writes the unfitted `target_potential.yaml` of the config. */
async function dryRun(ctx: StepContext, config: PacemakerTrainerConfig, sample: string, dir: string, target: string): Promise<number> {
  const input = buildPacemakerInput({ ...config, test_size: 0 }, { filename: sample });
  await writeFileAtomic(join(dir, 'input.yaml'), yaml.dump(input, { noRefs: true, lineWidth: 120 }));
  await rm(join(dir, 'target_potential.yaml'), { force: true });
  const res = await runPace(ctx, 'pacemaker', ['--dry-run', 'input.yaml'], dir);
  if (res.exitCode !== 0) throw failureOf('pacemaker --dry-run', res);
  if (!(await exists(join(dir, 'target_potential.yaml')))) {
    throw new OutputMissingError(`pacemaker --dry-run wrote no target_potential.yaml in ${dir}`);
  }
  await copyFile(join(dir, 'target_potential.yaml'), target);
  return res.durationMs / 1000;
}

async function earlierResult(workDir: string, key: string): Promise<ActiveSetSelection | null> {
  const file = join(workDir, 'result.json');
  if (!(await exists(file))) return null;
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as { key?: string; result?: unknown };
    if (saved.key !== key) return null;
    const r = ActiveSetSelection.parse(saved.result);
    if (!(await exists(r.selected.path)) || (await sha256File(r.selected.path)) !== r.selected.sha256) return null;
    return r;
  } catch {
    return null;
  }
}
