/**
 * The active-learning loop's labelling step. Without a labeller, labelling (DFT) belongs to
 * another stage of the pipeline and this only finds the result files that stage prepared for a
 * generation. With the oracle, labelSelection labels the previous generation's selection itself.
 */
import { Context } from '@temporalio/activity';
import { readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { BadInputError } from '../src/errors.js';
import { generationVersion } from '../src/domain/naming.js';
import type { Labeller } from '../src/domain/labeller.js';
import { labelWithOracle } from '../src/labelling/oracle.js';
import { isLabelledResultName, LABELLED_FILES_DESCRIPTION, LABELLED_MAX_DEPTH } from '../src/dataset/labelled-files.js';
import { atBoundary } from './boundary.js';
import { campaignDir, type ActivityDeps } from './deps.js';

export interface CollectLabelledResultsInput {
  /**
   * `<labelledDir>/generation_NNN/`: every file of labelled results in it or its subfolders (see
   * isLabelledResultName), read by the one reader of labelled data.
   */
  labelledDir: string;
  generation: number;
  /**
   * The campaign has a pool and nothing trained yet: a generation with nothing labelled (its
   * folder missing or empty) is its start, not a mistake, so [] instead of BadInput.
   */
  allowNone?: boolean;
}

export interface LabelSelectionInput {
  campaign: string;
  /** The generation the labels are for: they go to `<labelledDir>/generation_NNN/`. */
  generation: number;
  labelledDir: string;
  /** The previous generation's selection (dataset pickle, index = position in `pool`). */
  selected: string;
  /** The pool that selection chose from. */
  pool: string;
  labeller: Labeller;
}

export interface LabelSelectionResult {
  /** The oracle's result file (absent when nothing was labelled: every structure had been before). */
  out: string;
  /** Structures labelled by this call, and skipped because they were labelled before (a retry's, or another generation's). */
  labelled: number;
  skipped: number;
  /** Records in the output afterwards: what this generation's oracle labelled, over all attempts. */
  records: number;
  /** The pool without the structures just labelled: what the next selection chooses from. */
  remainingPool: string;
  remainingPoolSize: number;
  programSeconds: number;
}

/** The oracle's output file in a generation's labelled folder. */
export function oracleOutput(labelledDir: string, generation: number, calculator: string): string {
  return join(resolve(labelledDir), generationVersion(generation), `oracle-${calculator}.jsonl`);
}

export function createLabellingActivities(deps: ActivityDeps) {
  return {
    /** Absolute paths of the generation's result files, sorted, so a replayed loop sees the same list. */
    async collectLabelledResults(input: CollectLabelledResultsInput): Promise<string[]> {
      return atBoundary(async () => {
        const dir = join(resolve(input.labelledDir), generationVersion(input.generation));
        let files: string[];
        try {
          files = await labelledFilesUnder(dir);
        } catch (err) {
          if (input.allowNone && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw new BadInputError(
            `labelledDir: no prepared results for ${generationVersion(input.generation)}: cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
          );
        }
        if (files.length === 0 && input.allowNone) return [];
        if (files.length === 0) throw new BadInputError(`labelledDir: ${dir} holds no result files (${LABELLED_FILES_DESCRIPTION})`);
        return files;
      });
    },

    /**
     * Labels the previous generation's selection with the oracle into the generation's labelled
     * folder, and writes the pool without those structures for the next selection. Idempotent
     * (see src/labelling/oracle.ts): a retry after a killed worker labels only what is missing.
     * Heartbeats while the calculator runs, so a dead worker is noticed and a cancel reaches it.
     */
    async labelSelection(input: LabelSelectionInput): Promise<LabelSelectionResult> {
      return atBoundary(async () => {
        const ctx = Context.current();
        ctx.heartbeat();
        const timer = setInterval(() => ctx.heartbeat(), deps.heartbeatEveryMs ?? 5_000);
        try {
          const version = generationVersion(input.generation);
          const work = join(campaignDir(deps, input.campaign), 'labelling');
          const reply = await labelWithOracle({
            structures: input.selected,
            out: oracleOutput(input.labelledDir, input.generation, input.labeller.calculator),
            calculator: input.labeller.calculator,
            ledger: resolve(input.labelledDir),
            pool: input.pool,
            remaining: join(work, `pool-${version}.pckl.gzip`),
            lock: join(work, `${version}.lock`),
            log: join(work, 'audit.jsonl'),
            secondsPerStructure: input.labeller.secondsPerStructure,
            python: deps.toolchain.python,
            logFile: join(work, `${version}.log`),
            ...(deps.env ? { env: deps.env } : {}),
            signal: ctx.cancellationSignal,
          });
          if (reply.remaining === null) throw new Error('the oracle wrote no remaining pool although asked to');
          return {
            out: reply.out,
            labelled: reply.labelled.length,
            skipped: reply.skipped.length,
            records: reply.records,
            remainingPool: reply.remaining.path,
            remainingPoolSize: reply.remaining.rows,
            programSeconds: reply.programSeconds,
          };
        } finally {
          clearInterval(timer);
        }
      });
    },
  };
}

/** Result files in `dir` and its subfolders (hidden ones skipped), sorted by their path below `dir`. */
async function labelledFilesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string, depth: number): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory() && !entry.name.startsWith('.') && depth < LABELLED_MAX_DEPTH) await walk(path, depth + 1);
      else if (entry.isFile() && isLabelledResultName(entry.name)) found.push(path);
    }
  };
  await walk(dir, 0);
  // Code-point order, not the locale's: the same list on every host.
  const key = (f: string) => relative(dir, f);
  return found.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
