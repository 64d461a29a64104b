/** Shared option parsing for the CLI: bad values name the flag and the value, in one line. */
import { stat } from 'node:fs/promises';
import { CampaignName, ChemicalSymbolSchema, TypeMap } from '../domain/schemas.js';

/** Bad input on the command line: exit 2, one line naming the flag and the value. */
export class CliInputError extends Error {}

const got = (v: string) => `got ${JSON.stringify(v)}`;

/**
 * A whole number written as digits (no `1e3`, `0x10`, spaces or fractions), up to `max`: counts,
 * seeds and sizes are typed by people, and anything else is a typo, not a number to round.
 */
function wholeNumber(flag: string, v: string, min: number, max: number, what: string): number {
  const n = /^\d{1,16}$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new CliInputError(`${flag} must be ${what}, ${got(v)}`);
  if (n > max) throw new CliInputError(`${flag} must be at most ${max}, ${got(v)}`);
  return n;
}

export function positiveInt(flag: string, v: string, max = Number.MAX_SAFE_INTEGER): number {
  return wholeNumber(flag, v, 1, max, 'a positive integer');
}

export function nonNegativeInt(flag: string, v: string, max = Number.MAX_SAFE_INTEGER): number {
  return wholeNumber(flag, v, 0, max, 'a non-negative integer');
}

/** A finite number > 0 (decimals and exponents allowed: seconds, eV), up to `max`. */
export function positiveNumber(flag: string, v: string, max = Number.MAX_VALUE): number {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new CliInputError(`${flag} must be a positive number, ${got(v)}`);
  if (n > max) throw new CliInputError(`${flag} must be at most ${max}, ${got(v)}`);
  return n;
}

/** A finite number >= 0 (extrapolation grades). */
export function nonNegativeNumber(flag: string, v: string): number {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new CliInputError(`${flag} must be a number >= 0, ${got(v)}`);
  return n;
}

/** A grade threshold: a number >= 0, or `none` (null: no threshold, overriding a default). */
export function thresholdOrNone(flag: string, v: string): number | null {
  if (v.trim().toLowerCase() === 'none') return null;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new CliInputError(`${flag} must be a number >= 0 or none, ${got(v)}`);
  return n;
}

/** A share: a finite number within [0, 1). */
export function fraction(flag: string, v: string): number {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new CliInputError(`${flag} must be a number within [0, 1), ${got(v)}`);
  return n;
}

/** Generation numbers, as the workflow input bounds them. */
export const MAX_GENERATION = 999;
/** Structures selected, or labelled by EMT, in one command: far above any real use. */
export const MAX_STRUCTURES = 10_000_000;
/** Seconds: heartbeat timeouts and polling intervals (WorkflowTuning's bound). */
export const MAX_SECONDS = 3600;

/** `--campaign`: becomes a folder and a workflow id. */
export function campaignName(flag: string, v: string): string {
  const r = CampaignName.safeParse(v);
  if (!r.success) throw new CliInputError(`${flag} ${r.error.issues[0]?.message ?? 'is invalid'} (${got(v)})`);
  return v;
}

/** `1=Cu,2=Ni` -> `{"1": "Cu", "2": "Ni"}`: LAMMPS atom types to elements. */
export function typeMap(flag: string, v: string): TypeMap {
  const map: Record<string, string> = {};
  for (const item of v.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([1-9]\d{0,5})\s*=\s*([A-Za-z]+)$/.exec(item);
    if (!m || !ChemicalSymbolSchema.safeParse(m[2]).success) {
      throw new CliInputError(`${flag} must be type=element pairs like 1=Cu,2=Ni, ${got(v)} (bad entry ${JSON.stringify(item)})`);
    }
    if (m[1]! in map) throw new CliInputError(`${flag} gives type ${m[1]} twice, ${got(v)}`);
    map[m[1]!] = m[2]!;
  }
  const parsed = TypeMap.safeParse(map);
  if (!parsed.success) throw new CliInputError(`${flag} must be type=element pairs like 1=Cu,2=Ni, ${got(v)}`);
  return parsed.data;
}

/** An input file named by a flag: it exists, is a file (not a folder) and is not empty. */
export async function inputFile(flag: string, path: string): Promise<void> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => err);
  if (info instanceof Error) {
    throw new CliInputError(`${flag}: ${info.code === 'ENOENT' ? 'file not found' : `cannot be read (${info.code ?? info.message})`} (${got(path)})`);
  }
  if (info.isDirectory()) throw new CliInputError(`${flag}: is a directory, not a file (${got(path)})`);
  if (!info.isFile()) throw new CliInputError(`${flag}: is not a regular file (${got(path)})`);
  if (info.size === 0) throw new CliInputError(`${flag}: is empty (${got(path)})`);
}

/** An output file named by a flag: not an existing folder. */
export async function outputFile(flag: string, path: string): Promise<void> {
  const info = await stat(path).catch(() => null);
  if (info?.isDirectory()) throw new CliInputError(`${flag}: is a directory; give a file name (${got(path)})`);
}

/** An output folder named by a flag: not an existing file. */
export async function outputFolder(flag: string, path: string): Promise<void> {
  const info = await stat(path).catch(() => null);
  if (info && !info.isDirectory()) throw new CliInputError(`${flag}: is a file, not a folder (${got(path)})`);
}

export function untilSignal(): Promise<void> {
  return new Promise((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
}
