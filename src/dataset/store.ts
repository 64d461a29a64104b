/**
 * The persistent pacemaker dataset of a campaign, `data/accumulated.pckl.gzip`: a gzip pandas
 * pickle that pacemaker reads directly.
 */
import { join } from 'node:path';
import { writeFileAtomic, exists } from '../util/files.js';
import { readResultsFile } from './results-file.js';
import { runBridge, type BridgeOptions } from './bridge.js';
import type { CalculationResult } from '../domain/schemas.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

/** The files one training run reads, and the version of the data they hold. */
export interface TrainingData {
  /** Training file(s): pacemaker's `data.filename`. */
  trainPath: string;
  /** Held-out test file, or null to let pacemaker split by `test_size`. */
  testPath: string | null;
  /** Version of the data: the dataset's content hash. */
  sha256: string;
}

export interface DatasetSummary extends TrainingData {
  /** The accumulated dataset, `data/accumulated.pckl.gzip`. */
  path: string;
  /** Structures appended by this call. */
  added: number;
  /** Structures in the dataset afterwards. */
  total: number;
  /** sha256 of the dataset file: its version. */
  sha256: string;
  elements: string[];
  /** Wall time of the bridge process, s (0 when nothing ran). */
  programSeconds: number;
}

export class DatasetStore {
  constructor(
    readonly path: string,
    private readonly bridge: BridgeOptions,
  ) {}

  /**
   * Validates every record of every file first (schema and elements), then appends them in one
   * atomic write. On bad input the dataset file is untouched.
   */
  async appendFiles(files: readonly string[], elements?: readonly string[]): Promise<DatasetSummary> {
    for (const f of files) await readResultsFile(f, elements);
    if (files.length === 0) return this.summary();
    const args = ['--dataset', this.path];
    for (const f of files) args.push('--results', f);
    const r = await runBridge<Omit<DatasetSummary, 'trainPath' | 'testPath'>>('append', args, this.bridge);
    return { ...r, path: this.path, trainPath: this.path, testPath: null };
  }

  /** The seed's update_dataset for in-memory results. */
  async append(results: readonly CalculationResult[]): Promise<DatasetSummary> {
    const dir = await mkdtemp(join(tmpdir(), 'mlip-results-'));
    try {
      const file = join(dir, 'results.jsonl');
      await writeFileAtomic(file, results.map((r) => JSON.stringify(r)).join('\n') + '\n');
      return await this.appendFiles([file]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async summary(): Promise<DatasetSummary> {
    if (!(await exists(this.path))) {
      return { path: this.path, trainPath: this.path, testPath: null, added: 0, total: 0, sha256: '', elements: [], programSeconds: 0 };
    }
    const s = await runBridge<{ rows: number; sha256: string; elements: string[] }>(
      'summary',
      ['--dataset', this.path],
      this.bridge,
    );
    return {
      path: this.path,
      trainPath: this.path,
      testPath: null,
      added: 0,
      total: s.rows,
      sha256: s.sha256,
      elements: s.elements,
      programSeconds: s.programSeconds,
    };
  }
}
