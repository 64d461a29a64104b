import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, mkdir, access } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

/** Writes so that readers see the old file or the new one, never a torn one. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** JSON with sorted keys, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** `{name: {path, sha256}}` for each of `names` (relative to `dir`) that exists, in that order. */
export async function existingFileRefs(dir: string, names: readonly string[]): Promise<Record<string, { path: string; sha256: string }>> {
  const files: Record<string, { path: string; sha256: string }> = {};
  for (const name of names) {
    const p = join(dir, name);
    if (await exists(p)) files[name] = { path: p, sha256: await sha256File(p) };
  }
  return files;
}
