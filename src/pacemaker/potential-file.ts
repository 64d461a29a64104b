/** Reading a pacemaker potential YAML from disk, with errors that name the input field. */
import { readFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { BadInputError } from '../errors.js';
import { describePotential, type PotentialShape } from '../domain/potential.js';

/**
 * The shape of the potential at `path`. `field` is the input field that named the file
 * (`potential`, `initialPotential`), so a bad file is reported against it.
 */
export async function readPotentialShape(path: string, field: string): Promise<PotentialShape> {
  let doc: unknown;
  try {
    doc = yaml.load(await readFile(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // One line: js-yaml's reason without its snippet of the file.
    const reason = (err as { reason?: string }).reason ?? (err as Error).message.split('\n')[0];
    throw new BadInputError(
      code === 'ENOENT' ? `${field}: file not found: ${path}` : `${field}: cannot read ${path}: ${reason}`,
    );
  }
  const shape = describePotential(doc);
  if (shape === null || shape.elements.length === 0) {
    throw new BadInputError(`${field}: ${path} is not a pacemaker potential YAML (no species or elements)`);
  }
  return shape;
}
