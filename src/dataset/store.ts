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

export interface DatasetSummary {
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
    return runBridge<DatasetSummary>('append', args, this.bridge);
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
    if (!(await exists(this.path))) return { path: this.path, added: 0, total: 0, sha256: '', elements: [], programSeconds: 0 };
    const s = await runBridge<{ rows: number; sha256: string; elements: string[] }>(
      'summary',
      ['--dataset', this.path],
      this.bridge,
    );
    return { path: this.path, added: 0, total: s.rows, sha256: s.sha256, elements: s.elements, programSeconds: s.programSeconds };
  }
}
