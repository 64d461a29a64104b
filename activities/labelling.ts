/**
 * The active-learning loop's labelling step. Labelling (DFT) belongs to another stage of the
 * pipeline; here it only finds the result files that stage prepared for a generation.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BadInputError } from '../src/errors.js';
import { generationVersion } from '../src/domain/naming.js';
import { atBoundary } from './boundary.js';

export interface CollectLabelledResultsInput {
  /** `<labelledDir>/generation_NNN/*.json` or `*.jsonl`. */
  labelledDir: string;
  generation: number;
  /**
   * The campaign has a pool and nothing trained yet: a generation with nothing labelled (its
   * folder missing or empty) is its start, not a mistake, so [] instead of BadInput.
   */
  allowNone?: boolean;
}

export function createLabellingActivities() {
  return {
    /** Absolute paths of the generation's result files, sorted, so a replayed loop sees the same list. */
    async collectLabelledResults(input: CollectLabelledResultsInput): Promise<string[]> {
      return atBoundary(async () => {
        const dir = join(resolve(input.labelledDir), generationVersion(input.generation));
        let names: string[];
        try {
          names = await readdir(dir);
        } catch (err) {
          if (input.allowNone && (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw new BadInputError(
            `labelledDir: no prepared results for ${generationVersion(input.generation)}: cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
          );
        }
        const files = names.filter((n) => /\.jsonl?$/.test(n)).sort().map((n) => join(dir, n));
        if (files.length === 0 && input.allowNone) return [];
        if (files.length === 0) throw new BadInputError(`labelledDir: ${dir} holds no .json or .jsonl result files`);
        return files;
      });
    },
  };
}
