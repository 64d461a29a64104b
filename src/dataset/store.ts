/**
 * The persistent pacemaker dataset of a campaign, `data/accumulated.pckl.gzip`: a gzip pandas
 * pickle that pacemaker reads directly, with beside it the stable train/test split
 * (`train.pckl.gzip`, `test.pckl.gzip`), the hash index that makes re-sent results no-ops
 * (`accumulated.index.json`), the manifest (`manifest.json`) and the lock file. All of it is
 * written by mlip-dataset (python/src/mlip_trainer/store) under one lock; this class validates
 * early and talks to it.
 */
import { extname, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { exists } from '../util/files.js';
import { readResultsFile } from './results-file.js';
import { runBridge, type BridgeOptions } from './bridge.js';
import { DatasetManifest, type DatasetState } from './replies.js';
import { BadInputError } from '../errors.js';

export type { DatasetHistoryEntry, DatasetManifest, SplitCounts } from './replies.js';

/** The files one training run reads, and the version of the data they hold. */
export interface TrainingData {
  /** Training file(s): pacemaker's `data.filename`. */
  trainPath: string;
  /** Held-out test file, or null to let pacemaker split by `test_size`. */
  testPath: string | null;
  /** Version of the data: the dataset's content hash. */
  sha256: string;
}

/**
 * The dataset after an update (`append`) or as it stands (`summary`, and when nothing was given
 * to append): the helper's reply, with how long its process ran.
 */
export interface DatasetSummary extends TrainingData, DatasetState {
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
}

/** PacemakerTrainerConfig's default `test_size`, for stores opened without a config. */
export const DEFAULT_TEST_FRACTION = 0.1;

/** Extensions read as CalculationResult JSON; anything else is handed to ASE by the bridge. */
const JSON_EXTENSIONS = new Set(['.json', '.jsonl', '.ndjson']);

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
    // JSON is validated here too: zod's messages name the JSON path of the bad field.
    for (const f of files) if (JSON_EXTENSIONS.has(extname(f).toLowerCase())) await readResultsFile(f, elements);
    if (files.length === 0) return this.summary();
    const args = ['--dataset', this.path];
    for (const f of files) args.push('--results', f);
    if (elements !== undefined) args.push('--elements', elements.join(','));
    const fraction = this.options.testFraction ?? (await this.recordedTestFraction());
    args.push('--test-fraction', String(fraction));
    if (this.options.lockTimeoutSeconds !== undefined) args.push('--lock-timeout', String(this.options.lockTimeoutSeconds));
    args.push('--origin', JSON.stringify(origin));
    if (this.options.referenceEnergy !== undefined) args.push('--reference-energy', JSON.stringify(this.options.referenceEnergy));
    const r = await runBridge('append', args, this.bridge);
    return { ...r, path: this.path };
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
        programSeconds: 0,
        peakRssMb: 0,
      };
    }
    const s = await runBridge('summary', ['--dataset', this.path], this.bridge);
    return { ...s, path: this.path };
  }

  /** Writes the dataset (or one side of the split) as extended XYZ or CalculationResult JSONL. */
  async export(out: string, format: 'extxyz' | 'jsonl', split: 'all' | 'train' | 'test' = 'all'): Promise<{ rows: number; out: string }> {
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
