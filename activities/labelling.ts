/**
 * The active-learning loop's labelling step. Labelling (DFT) belongs to another stage of the
 * pipeline; here it only finds the result files that stage prepared for a generation.
 */
import { readdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { BadInputError } from '../src/errors.js';
import { generationVersion } from '../src/domain/naming.js';
import { isLabelledResultName, LABELLED_FILES_DESCRIPTION, LABELLED_MAX_DEPTH } from '../src/dataset/labelled-files.js';
import { atBoundary } from './boundary.js';

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

export function createLabellingActivities() {
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
