/**
 * The persistent pacemaker dataset of a campaign, `data/accumulated.pckl.gzip`: a gzip pandas
 * pickle that pacemaker reads directly, with beside it the stable train/test split
 * (`train.pckl.gzip`, `test.pckl.gzip`), the hash index that makes re-sent results no-ops
 * (`accumulated.index.json`), the manifest (`manifest.json`) and the lock file. All of it is
 * written by mlip-dataset (python/src/mlip_trainer/store) under one lock; this class validates
 * early and talks to it.
 */
import { extname, join } from 'node:path';
import { readFile, stat } from 'node:fs/promises';
import { exists } from '../util/files.js';
import { readResultsFile } from './results-file.js';
import { runBridge, type BridgeOptions } from './bridge.js';
import { DatasetManifest, type DatasetReplies, type DatasetState, type FittedEnergy } from './replies.js';
import { BadInputError } from '../errors.js';

export type { DatasetHistoryEntry, DatasetManifest, DatasetReplies, FittedEnergy, SplitCounts } from './replies.js';

/** The files one training run reads, and the version of the data they hold. */
export interface TrainingData {
  /** Training file(s): pacemaker's `data.filename`. */
  trainPath: string;
  /** Held-out test file, or null to let pacemaker split by `test_size`. */
  testPath: string | null;
  /** Version of the data: the dataset's content hash. */
  sha256: string;
  /**
   * `energy_corrected`: some structures are known only by their corrected energy, which pacemaker
   * must fit as stored (input.yaml without `data.reference_energy`). Absent or `energy`: pacemaker
   * corrects the total energies with the config's `reference_energy`.
   */
  fittedEnergy?: FittedEnergy;
}

/** Sanity limits of labelled data (see PacemakerTrainerConfig); absent: the helper's defaults. */
export interface DataLimits {
  /** eV/atom: |energy| / atoms above it is refused. */
  maxEnergyPerAtom?: number;
  /** eV/Å: any |force component| above it is refused. */
  maxForce?: number;
}

/** Export formats: CalculationResult JSONL, extended XYZ, pacemaker's dataset pickle. */
export type ExportFormat = 'extxyz' | 'jsonl' | 'pacemaker';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['extxyz', 'jsonl', 'pacemaker'];

/**
 * The dataset after an update (`append`) or as it stands (`summary`, and when nothing was given
 * to append): the helper's reply, with how long its process ran.
 */
export interface DatasetSummary extends Omit<TrainingData, 'fittedEnergy'>, DatasetState {
  /** Wall time of the helper process, s (0 when nothing ran). */
  programSeconds: number;
  /** Peak resident memory of the helper process, MB (0 when nothing ran). */
  peakRssMb: number;
  cpuSeconds?: number;
  /** `append`: seconds per step (read, validate, hash, lock_wait, ...). */
  timings?: Record<string, number>;
  /** `append`: the hash index was missing or stale and was rebuilt. */
  indexRebuilt?: boolean;
  /** `summary`: structures and atoms in the dataset. */
  rows?: number;
  natoms_total?: number;
}

/** Who asked for an append: recorded in the manifest's history. */
export interface AppendOrigin {
  workflowId?: string;
  runId?: string;
  generation?: number;
  attempt?: number;
  /** e.g. `cli` or `activity`. */
  via?: string;
}

export interface DatasetStoreOptions {
  /**
   * Share of newly seen structures held out as the test set (the config's `test_size`), in
   * [0, 1). Each structure's side is decided from its content hash when it is first added and
   * never changes. Undefined: the fraction the manifest last recorded, else DEFAULT_TEST_FRACTION.
   */
  testFraction?: number;
  /** How long an append waits for another updater's lock, s (default 20 min). */
  lockTimeoutSeconds?: number;
  /**
   * Single-atom reference energies, eV (per atom, or per element), when they are known: the
   * dataset then carries `energy_corrected` for every row. Undefined (the config's `auto`):
   * no such column; pacemaker derives it from `data.reference_energy`.
   */
  referenceEnergy?: number | Record<string, number>;
  limits?: DataLimits;
}

/** PacemakerTrainerConfig's default `test_size`, for stores opened without a config. */
export const DEFAULT_TEST_FRACTION = 0.1;

/** Extensions read as CalculationResult JSON; anything else goes to the helper's one reader. */
const JSON_EXTENSIONS = new Set(['.json', '.jsonl', '.ndjson']);
/**
 * JSON files up to this size are also checked here first, where zod names the JSON path of a bad
 * field; larger ones only by the helper, which reads JSONL line by line.
 */
const PRECHECK_MAX_BYTES = 64 * 2 ** 20;

export class DatasetStore {
  constructor(
    readonly path: string,
    private readonly bridge: BridgeOptions,
    private readonly options: DatasetStoreOptions = {},
  ) {
    const f = options.testFraction;
    if (f !== undefined && !(Number.isFinite(f) && f >= 0 && f < 1)) {
      throw new BadInputError(`test_size: expected a fraction in [0, 1) (got ${String(f)})`);
    }
  }

  /**
   * Validates every record of every file first (schema, elements, cell, overlapping atoms),
   * then appends the results not already in the dataset in one locked, atomic update. On bad
   * input nothing is written; re-sending a batch adds nothing.
   */
  async appendFiles(files: readonly string[], elements?: readonly string[], origin: AppendOrigin = {}): Promise<DatasetSummary> {
    await precheckJson(files, elements);
    if (files.length === 0) return this.summary();
    const args = ['--dataset', this.path, ...this.resultsArgs(files, elements)];
    const fraction = this.options.testFraction ?? (await this.recordedTestFraction());
    args.push('--test-fraction', String(fraction));
    if (this.options.lockTimeoutSeconds !== undefined) args.push('--lock-timeout', String(this.options.lockTimeoutSeconds));
    args.push('--origin', JSON.stringify(origin));
    const r = await runBridge('append', args, this.bridge);
    return { ...r, path: this.path };
  }

  /**
   * Reads and validates result files exactly as `appendFiles` would (the one reader: every format,
   * every check, the sanity limits), writing nothing: what a command checks before it starts a
   * generation whose workers will read the same files.
   */
  async checkFiles(files: readonly string[], elements?: readonly string[]): Promise<DatasetReplies['check']> {
    await precheckJson(files, elements);
    return runBridge('check', this.resultsArgs(files, elements), this.bridge);
  }

  private resultsArgs(files: readonly string[], elements: readonly string[] | undefined): string[] {
    const args: string[] = [];
    for (const f of files) args.push('--results', f);
    if (elements !== undefined) args.push('--elements', elements.join(','));
    if (this.options.referenceEnergy !== undefined) args.push('--reference-energy', JSON.stringify(this.options.referenceEnergy));
    const limits = this.options.limits ?? {};
    if (limits.maxEnergyPerAtom !== undefined) args.push('--max-energy-per-atom', String(limits.maxEnergyPerAtom));
    if (limits.maxForce !== undefined) args.push('--max-force', String(limits.maxForce));
    return args;
  }

  /** `manifest.json` beside the dataset. */
  get manifestPath(): string {
    return join(this.path, '..', 'manifest.json');
  }

  /** The manifest, rebuilt by the bridge first when it or the index is missing or stale. */
  async info(): Promise<DatasetManifest> {
    if (!(await exists(this.path))) throw new BadInputError(`dataset not found: ${this.path} (nothing has been added yet)`);
    // The manifest only, not how the helper that brought it up to date ran (the schema drops that).
    return DatasetManifest.parse(await runBridge('info', ['--dataset', this.path], this.bridge));
  }

  async summary(): Promise<DatasetSummary> {
    if (!(await exists(this.path))) {
      return {
        path: this.path,
        trainPath: this.path,
        testPath: null,
        added: 0,
        duplicates: 0,
        total: 0,
        structures: { train: 0, test: 0 },
        sha256: '',
        elements: [],
        manifestPath: this.manifestPath,
        fittedEnergy: 'energy',
        referenceEnergy: null,
        programSeconds: 0,
        peakRssMb: 0,
      };
    }
    const s = await runBridge('summary', ['--dataset', this.path], this.bridge);
    return { ...s, path: this.path };
  }

  /** Writes the dataset (or one side of the split) as extended XYZ, CalculationResult JSONL or a pacemaker pickle. */
  async export(out: string, format: ExportFormat, split: 'all' | 'train' | 'test' = 'all'): Promise<{ rows: number; out: string }> {
    if (!(await exists(this.path))) throw new BadInputError(`dataset not found: ${this.path} (nothing has been added yet)`);
    const r = await runBridge('export', ['--dataset', this.path, '--out', out, '--format', format, '--split', split], this.bridge);
    return { rows: r.rows, out };
  }

  private async recordedTestFraction(): Promise<number> {
    try {
      const m = JSON.parse(await readFile(this.manifestPath, 'utf8')) as { testFraction?: unknown };
      return typeof m.testFraction === 'number' ? m.testFraction : DEFAULT_TEST_FRACTION;
    } catch {
      return DEFAULT_TEST_FRACTION;
    }
  }
}

/**
 * JSON result files small enough are validated here first: zod's messages name the JSON path of a
 * bad field. Everything (JSON included) is then read by the helper's one reader.
 */
async function precheckJson(files: readonly string[], elements: readonly string[] | undefined): Promise<void> {
  for (const f of files) {
    if (!JSON_EXTENSIONS.has(extname(f).toLowerCase())) continue;
    const info = await stat(f).catch(() => null);
    // Missing, a folder, too large: the helper says which, in its words.
    if (info === null || !info.isFile() || info.size > PRECHECK_MAX_BYTES) continue;
    await readResultsFile(f, elements);
  }
}
