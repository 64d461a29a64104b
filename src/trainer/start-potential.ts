/**
 * The parent potential a fine-tune starts from: checked against the config before anything
 * runs (a wrong parent is bad input, not a failed fit), and copied into the generation folder
 * as the fit reads it.
 */
import { copyFile, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { BadInputError } from '../errors.js';
import type { FineTuneMode, PacemakerInput } from '../domain/input-yaml.js';
import { withoutAutoRepulsion } from '../domain/potential.js';
import type { PacemakerTrainerConfig } from '../domain/schemas.js';
import { readPotentialShape } from '../pacemaker/potential-file.js';
import { writeFileAtomic } from '../util/files.js';

/**
 * Refuses a parent pacemaker would not fine-tune as asked: a best-cycle checkpoint or any
 * potential carrying `_fit_cycles` (pacemaker would skip fitting), other elements or another
 * cutoff than the config's, or, for `extend`, a basis no smaller than the configured one.
 */
export async function checkInitialPotential(path: string, mode: FineTuneMode, config: PacemakerTrainerConfig): Promise<void> {
  if (basename(path) === 'interim_potential_best_cycle.yaml') {
    throw new BadInputError(
      `initialPotential: ${path} is pacemaker's best-cycle checkpoint, which carries _fit_cycles and makes pacemaker skip fitting (upstream issue #77); use output_potential.yaml or interim_potential_0.yaml`,
    );
  }
  const shape = await readPotentialShape(path, 'initialPotential');
  const want = [...config.elements].sort().join(',');
  if ([...shape.elements].sort().join(',') !== want) {
    throw new BadInputError(`initialPotential: ${path} has elements [${shape.elements.join(', ')}] but the config has [${config.elements.join(', ')}]`);
  }
  if (shape.cutoff !== null && Math.abs(shape.cutoff - config.cutoff) > 1e-6) {
    throw new BadInputError(
      `initialPotential: ${path} has cutoff ${shape.cutoff} Å but the config has cutoff ${config.cutoff} Å; continuing would silently keep ${shape.cutoff}`,
    );
  }
  const largest = Math.max(0, ...Object.values(shape.functionsPerElement));
  if (mode === 'extend' && largest >= config.functions_per_element) {
    throw new BadInputError(
      `fineTune: "extend" grows the basis from ${path}, which already has ${largest} functions per element, but functions_per_element is ${config.functions_per_element}; raise functions_per_element above ${largest} or use fineTune: "continue"`,
    );
  }
  if (shape.fitCycles > 0) {
    throw new BadInputError(
      `initialPotential: ${path} carries _fit_cycles: ${shape.fitCycles}, so pacemaker would skip fitting (upstream issue #77); use output_potential.yaml or interim_potential_0.yaml`,
    );
  }
}

/**
 * The parent as the fine-tune starts from it (`input`: the generation's input.yaml from
 * scratch). With `fit.repulsion: auto` the inner cutoff and ZBL core that pacemaker added after
 * the parent's fit are taken out (see withoutAutoRepulsion): the parent's shortest bond would
 * otherwise put new, shorter bonds on the ZBL core for the whole fit; pacemaker sets the
 * repulsion again from all the data after it.
 */
export async function writeStartPotential(source: string, target: string, input: PacemakerInput): Promise<void> {
  if (input.fit.repulsion !== 'auto') {
    await copyFile(source, target);
    return;
  }
  const all = (section: unknown): Record<string, unknown> => (section as Record<string, Record<string, unknown>> | undefined)?.ALL ?? {};
  const configured = { ...all(input.potential.embeddings), ...all(input.potential.bonds) };
  await writeFileAtomic(target, withoutAutoRepulsion(await readFile(source, 'utf8'), configured));
}
