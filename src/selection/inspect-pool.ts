/**
 * The cheap look at a selection pool that a generation takes before it trains: the file is
 * there and readable, holds at least one structure, and every element in it is one the trainer
 * config fits. A bad pool then fails in seconds instead of after hours of training. It reads the
 * pool the way the selection does (mlip-select `inspect`, through read_pool) and
 * writes nothing but its log.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { BadInputError } from '../errors.js';
import { typeMapArgument, type TypeMap } from '../domain/schemas.js';
import { runSelectScript, type StepContext } from './programs.js';
import type { SelectReplies } from './replies.js';

export interface InspectPoolOptions extends StepContext {
  /** Any file of structures, or a dataset pickle (see SelectionPool.path). */
  pool: string;
  /** LAMMPS atom type -> element, for a LAMMPS pool. */
  typeMap?: TypeMap;
  /** Read only the first structures: a quick look (is it a pool at all), not the whole check. */
  limit?: number;
  /** The elements the potential will have (the trainer config's `elements`). */
  elements: readonly string[];
  /** Where mlip-select's output goes. */
  logFile: string;
  /** The input field errors name; `pool.path` by default (the workflow input's). */
  field?: string;
}

/** What the pool holds: structures, the elements in them (sorted), atoms in all of them. */
export interface PoolInspection {
  path: string;
  rows: number;
  elements: string[];
  natomsTotal: number;
}

export async function inspectPool(o: InspectPoolOptions): Promise<PoolInspection> {
  const field = o.field ?? 'pool.path';
  const path = resolve(o.pool);
  const got = `(got ${JSON.stringify(o.pool)})`;
  try {
    if (!(await stat(path)).isFile()) throw new BadInputError(`${field}: is a directory, not a file ${got}`);
    await access(path, constants.R_OK);
  } catch (err) {
    if (err instanceof BadInputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new BadInputError(`${field}: ${code === 'ENOENT' ? 'file not found' : `cannot be read (${code ?? String(err)})`} ${got}`);
  }
  let found: SelectReplies['inspect'];
  try {
    const extra = [
      ...(o.typeMap ? ['--type-map', typeMapArgument(o.typeMap)] : []),
      ...(o.limit !== undefined ? ['--limit', String(o.limit)] : []),
    ];
    found = await runSelectScript(o, 'inspect', ['--pool', path, ...extra], o.logFile);
  } catch (err) {
    // read_pool's messages name the file and say what is wrong with it ("pool: X holds no structures").
    if (err instanceof BadInputError) throw new BadInputError(`${field}: ${err.message.replace(/^pool:? /, '')}`);
    throw err;
  }
  if (found.rows < 1) throw new BadInputError(`${field}: ${path} holds no structures`);
  const missing = found.elements.filter((e) => !o.elements.includes(e));
  if (missing.length > 0) {
    throw new BadInputError(
      `${field}: ${path} has element(s) ${missing.join(', ')} that the config lacks (its elements: ${[...o.elements].sort().join(', ')}); the potential cannot select structures with elements it does not fit`,
    );
  }
  return { path, rows: found.rows, elements: found.elements, natomsTotal: found.natomsTotal };
}
