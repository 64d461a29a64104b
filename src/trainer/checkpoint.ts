/**
 * Resume checkpoints. pacemaker rewrites `interim_potential_0.yaml` after every iteration, in
 * place (not atomically), and a new run overwrites it; it saves neither the optimizer state nor
 * the iteration count. So while pacemaker runs, the newest complete interim file is copied to
 * `checkpoint_potential.yaml` with `checkpoint.json` saying how many iterations it holds, and a
 * resume is `-p <copy>` with the remaining iterations. `interim_potential_best_cycle.yaml` is
 * never used: it carries `_fit_cycles`, which makes pacemaker skip fitting (upstream issue #77).
 */
import { readFile, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describePotential } from '../domain/potential.js';
import { createIterationParser } from '../domain/pacemaker-log.js';
import type { CheckpointRef } from '../domain/progress.js';
import { exists, sha256File, sha256Text, writeFileAtomic } from '../util/files.js';

export const INTERIM_FILE = 'interim_potential_0.yaml';
export const CHECKPOINT_FILE = 'checkpoint_potential.yaml';
export const CHECKPOINT_RECORD = 'checkpoint.json';

function mtimeNow(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * Copies pacemaker's interim potential as it changes. pacemaker logs iteration k and then saves
 * the interim file, so a file seen at line k may still hold k - 1. The label is therefore k only
 * when the file changed after line k arrived (compared in the file system's own clock), else
 * k - 1: a checkpoint may be one iteration behind, never ahead, so a resume repeats at most one
 * iteration and never skips one.
 */
export class CheckpointKeeper {
  private readonly interim: string;
  /** Interim file mtime when each recent iteration line arrived. */
  private readonly mtimeAtLine = new Map<number, number>();
  private seen = 0;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  latest: CheckpointRef | null;

  constructor(
    private readonly dir: string,
    private readonly opts: {
      runKey: string;
      /** Iterations done before this run (the checkpoint it resumed from). */
      offset: number;
      batchSize: number;
      previous: CheckpointRef | null;
      /** False once a newer attempt owns the folder: a superseded run stops writing. */
      owns: () => Promise<boolean>;
      onCheckpoint: (ref: CheckpointRef) => void;
      pollMs?: number;
    },
  ) {
    this.interim = join(dir, INTERIM_FILE);
    this.latest = opts.previous;
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs ?? 250);
  }

  /** Call from the line handler, synchronously, when iteration `local` of this run is logged. */
  onIteration(local: number): void {
    if (local <= this.seen) return;
    this.seen = local;
    this.mtimeAtLine.set(local, mtimeNow(this.interim));
    for (const k of this.mtimeAtLine.keys()) if (k < local - 1) this.mtimeAtLine.delete(k);
    void this.poll();
  }

  /** Stops polling after a last look at the interim file (the process has exited). */
  async finish(): Promise<CheckpointRef | null> {
    clearInterval(this.timer);
    await this.poll();
    await this.chain;
    return this.latest;
  }

  private poll(): Promise<void> {
    this.chain = this.chain.then(() => this.tryCopy()).catch(() => undefined);
    return this.chain;
  }

  private async tryCopy(): Promise<void> {
    if (this.seen === 0) return;
    const before = await stat(this.interim).catch(() => null);
    if (!before) return;
    const atLine = this.mtimeAtLine.get(this.seen);
    const local = atLine !== undefined && before.mtimeMs > atLine ? this.seen : this.seen - 1;
    const iteration = this.opts.offset + local;
    if (local < 1 || iteration <= (this.latest?.iteration ?? 0)) return;
    const text = await readFile(this.interim, 'utf8');
    const after = await stat(this.interim).catch(() => null);
    if (!after || after.mtimeMs !== before.mtimeMs || after.size !== before.size) return; // being rewritten
    let shape: ReturnType<typeof describePotential> = null;
    try {
      shape = describePotential(yaml.load(text));
    } catch {
      return; // torn write: the next poll sees the complete file
    }
    if (shape === null || shape.fitCycles > 0) return;
    if (!(await this.opts.owns())) return;
    const ref: CheckpointRef = {
      path: join(this.dir, CHECKPOINT_FILE),
      sha256: sha256Text(text),
      iteration,
      runKey: this.opts.runKey,
      batchSize: this.opts.batchSize,
    };
    await writeFileAtomic(ref.path, text);
    await writeFileAtomic(join(this.dir, CHECKPOINT_RECORD), JSON.stringify(ref, null, 2) + '\n');
    this.latest = ref;
    this.opts.onCheckpoint(ref);
  }
}

async function verified(ref: CheckpointRef | null | undefined, runKey: string): Promise<CheckpointRef | null> {
  if (!ref || ref.runKey !== runKey || !Number.isInteger(ref.iteration) || ref.iteration < 1) return null;
  if (!(await exists(ref.path))) return null;
  return (await sha256File(ref.path)) === ref.sha256 ? ref : null;
}

/**
 * The checkpoint to resume from: the record in the folder (newest, written with the copy) or
 * the one heartbeated to Temporal, whichever is intact and belongs to the same inputs.
 */
export async function findCheckpoint(dir: string, runKey: string, heartbeated: CheckpointRef | null | undefined): Promise<CheckpointRef | null> {
  let onDisk: CheckpointRef | null = null;
  try {
    onDisk = JSON.parse(await readFile(join(dir, CHECKPOINT_RECORD), 'utf8')) as CheckpointRef;
  } catch {
    onDisk = null;
  }
  const candidates = [await verified(onDisk, runKey), await verified(heartbeated, runKey)].filter((c): c is CheckpointRef => c !== null);
  candidates.sort((a, b) => b.iteration - a.iteration);
  return candidates[0] ?? null;
}

/**
 * After an earlier run ended without this process watching it (its worker was killed while
 * pacemaker went on), the newest state is pacemaker's own: `log.txt` (written by pacemaker, from
 * byte `logStart` on for that run) says how far it got, and its interim file holds at least one
 * iteration less. Returns a checkpoint of that state when it is newer than `current`.
 */
export async function salvageCheckpoint(
  dir: string,
  o: { runKey: string; offset: number; logStart: number; batchSize: number; current: CheckpointRef | null },
): Promise<CheckpointRef | null> {
  let log: Buffer;
  try {
    log = await readFile(join(dir, 'log.txt'));
  } catch {
    return o.current;
  }
  const parse = createIterationParser();
  let last = 0;
  for (const line of log.subarray(Math.min(o.logStart, log.length)).toString('utf8').split(/\r\n|\r|\n/)) {
    const it = parse(line);
    if (it && it.iteration > last) last = it.iteration;
  }
  const iteration = o.offset + last - 1;
  if (last - 1 < 1 || iteration <= (o.current?.iteration ?? 0)) return o.current;
  let text: string;
  try {
    text = await readFile(join(dir, INTERIM_FILE), 'utf8');
    const shape = describePotential(yaml.load(text));
    if (shape === null || shape.fitCycles > 0) return o.current;
  } catch {
    return o.current; // missing or torn by the kill
  }
  const ref: CheckpointRef = { path: join(dir, CHECKPOINT_FILE), sha256: sha256Text(text), iteration, runKey: o.runKey, batchSize: o.batchSize };
  await writeFileAtomic(ref.path, text);
  await writeFileAtomic(join(dir, CHECKPOINT_RECORD), JSON.stringify(ref, null, 2) + '\n');
  return ref;
}
