/**
 * Resume checkpoints. pacemaker rewrites `interim_potential_<cycle>.yaml` after every iteration, in
 * place (not atomically), and a new run overwrites it; it saves neither the optimizer state nor
 * the iteration count. So while pacemaker runs, the newest complete interim file is copied to
 * `checkpoint_potential.yaml` with `checkpoint.json` saying how many iterations of the generation
 * it holds and where in the fit it is (ladder step, fit cycle, iteration of the cycle; see
 * fit-position.ts), and a resume continues from that position. `interim_potential_best_cycle.yaml`
 * is never used: it carries `_fit_cycles`, which makes pacemaker skip fitting (upstream issue #77).
 */
import { readFile, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describePotential } from '../domain/potential.js';
import type { IterationLine } from '../domain/pacemaker-log.js';
import { exists, sha256File, sha256Text, writeFileAtomic } from '../util/files.js';
import { FitTracker, START_POSITION, compareProgress, countFunctions, interimFile, type FitAnchor, type FitCheckpoint, type FitPosition } from './fit-position.js';

import type { StartedRun } from './run-journal.js';

export type { FitCheckpoint } from './fit-position.js';

export const INTERIM_FILE = interimFile(0);
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
 * The potential in `text` when it can be the state at `position`: complete YAML, `_fit_cycles`
 * equal to the cycle it was written in (pacemaker writes cycle c's interim file with
 * `_fit_cycles: c`, its ladder-step files without), and in a ladder fit the step's basis size
 * (so a file the next step already rewrote is not taken for this one).
 */
function acceptable(text: string, position: FitPosition): boolean {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch {
    return false; // torn write
  }
  const shape = describePotential(doc);
  if (shape === null) return false;
  const wantCycles = position.stage === 'step-done' ? 0 : position.cycle;
  if (shape.fitCycles !== wantCycles) return false;
  return position.basisFunctions === null || countFunctions(doc) === position.basisFunctions;
}

/** What a poll copies: the interim file of the current cycle, or a finished cycle or ladder step. */
interface Snapshot {
  anchor: FitAnchor;
  /** Live files may hold one iteration less than logged; finished ones hold exactly that. */
  live: { local: number; mtimeAtLine: number | undefined } | null;
}

/**
 * Copies pacemaker's interim potential as it changes. pacemaker logs iteration k and then saves
 * the interim file, so a file seen at line k may still hold k - 1. The label is therefore k only
 * when the file changed after line k arrived (compared in the file system's own clock), else
 * k - 1: a checkpoint may be one iteration behind, never ahead, so a resume repeats at most one
 * iteration and never skips one. When a cycle ends (its file is final) or a ladder step is saved
 * (its own file), the copy is exact and says so (`cycle-done`, `step-done`).
 */
export class CheckpointKeeper {
  readonly tracker: FitTracker;
  /** Interim file mtime when each recent iteration line of the current cycle arrived. */
  private readonly mtimeAtLine = new Map<number, number>();
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  latest: FitCheckpoint | null;

  constructor(
    private readonly dir: string,
    private readonly opts: {
      runKey: string;
      /** Iterations done before this run (the checkpoint it resumed from). */
      offset: number;
      batchSize: number;
      previous: FitCheckpoint | null;
      /** Where the run starts, and whether it ladders (see FitTracker). */
      start?: FitPosition;
      ladder?: boolean;
      /** False once a newer attempt owns the folder: a superseded run stops writing. */
      owns: () => Promise<boolean>;
      onCheckpoint: (ref: FitCheckpoint) => void;
      pollMs?: number;
    },
  ) {
    this.tracker = new FitTracker(opts.start ?? START_POSITION, opts.ladder ?? false);
    this.latest = opts.previous;
  }

  start(): void {
    this.timer = setInterval(() => this.poll(), this.opts.pollMs ?? 250);
  }

  /** Feed every output line, synchronously as it arrives; returns the iteration it logged, if any. */
  onLine(line: string): IterationLine | null {
    const event = this.tracker.feed(line);
    if (event === null) return null;
    switch (event.kind) {
      case 'cycle-start':
        this.mtimeAtLine.clear();
        return null;
      case 'iteration': {
        const local = this.tracker.local;
        this.mtimeAtLine.set(local, mtimeNow(join(this.dir, interimFile(this.tracker.cycle))));
        for (const k of this.mtimeAtLine.keys()) if (k < local - 1) this.mtimeAtLine.delete(k);
        this.poll();
        return event.line;
      }
      case 'cycle-end':
      case 'step-saved':
        this.poll();
        return null;
      default:
        return null;
    }
  }

  /** Stops polling after a last look at the interim file (the process has exited). */
  async finish(): Promise<FitCheckpoint | null> {
    clearInterval(this.timer);
    this.poll();
    await this.chain;
    return this.latest;
  }

  /** Takes what to copy now (the tracker moves on), and copies it in order. */
  private poll(): void {
    const t = this.tracker;
    const snaps: Snapshot[] = [];
    if (t.lastStepSaved) snaps.push({ anchor: t.lastStepSaved, live: null });
    if (t.cycleEnded && t.lastCycleEnd) snaps.push({ anchor: t.lastCycleEnd, live: null });
    else if (t.local > 0) {
      snaps.push({
        anchor: { file: interimFile(t.cycle), position: t.positionAt(t.local), runIterations: t.doneBeforeCycle },
        live: { local: t.local, mtimeAtLine: this.mtimeAtLine.get(t.local) },
      });
    }
    for (const snap of snaps) this.chain = this.chain.then(() => this.tryCopy(snap)).catch(() => undefined);
  }

  private async tryCopy({ anchor, live }: Snapshot): Promise<void> {
    const path = join(this.dir, anchor.file);
    const before = await stat(path).catch(() => null);
    if (!before) return;
    let position = anchor.position;
    let iteration = this.opts.offset + anchor.runIterations;
    if (live) {
      const label = live.mtimeAtLine !== undefined && before.mtimeMs > live.mtimeAtLine ? live.local : live.local - 1;
      if (label < 1) return;
      position = { ...position, cycleIteration: position.cycleIteration - live.local + label };
      iteration += label;
    }
    if (this.latest && compareProgress({ iteration, position }, this.latest) <= 0) return;
    const text = await readFile(path, 'utf8');
    const after = await stat(path).catch(() => null);
    if (!after || after.mtimeMs !== before.mtimeMs || after.size !== before.size) return; // being rewritten
    if (!acceptable(text, position)) return; // torn, or not (yet) the state we are after
    if (!(await this.opts.owns())) return;
    const ref: FitCheckpoint = {
      path: join(this.dir, CHECKPOINT_FILE),
      sha256: sha256Text(text),
      iteration,
      runKey: this.opts.runKey,
      batchSize: this.opts.batchSize,
      position,
    };
    await writeFileAtomic(ref.path, text);
    await writeFileAtomic(join(this.dir, CHECKPOINT_RECORD), JSON.stringify(ref, null, 2) + '\n');
    this.latest = ref;
    this.opts.onCheckpoint(ref);
  }
}

async function verified(ref: FitCheckpoint | null | undefined, runKey: string): Promise<FitCheckpoint | null> {
  if (!ref || ref.runKey !== runKey || !Number.isInteger(ref.iteration) || ref.iteration < 1) return null;
  if (!(await exists(ref.path))) return null;
  return (await sha256File(ref.path)) === ref.sha256 ? ref : null;
}

/**
 * The checkpoint to resume from: the record in the folder (newest, written with the copy) or
 * the one heartbeated to Temporal, whichever is intact and belongs to the same inputs.
 */
export async function findCheckpoint(dir: string, runKey: string, heartbeated: FitCheckpoint | null | undefined): Promise<FitCheckpoint | null> {
  let onDisk: FitCheckpoint | null = null;
  try {
    onDisk = JSON.parse(await readFile(join(dir, CHECKPOINT_RECORD), 'utf8')) as FitCheckpoint;
  } catch {
    onDisk = null;
  }
  const candidates = [await verified(onDisk, runKey), await verified(heartbeated, runKey)].filter((c): c is FitCheckpoint => c !== null);
  candidates.sort((a, b) => compareProgress(b, a));
  return candidates[0] ?? null;
}

/**
 * After an earlier run ended without this process watching it (its worker was killed while
 * pacemaker went on), the newest state is pacemaker's own: `log.txt` (written by pacemaker, from
 * byte `logStart` on for that run) says how far it got, and its files hold it: a finished ladder
 * step's or cycle's file exactly, the current cycle's interim file at least one iteration less
 * than logged. Returns a checkpoint of that state when it is newer than `current`.
 */
export async function salvageCheckpoint(
  dir: string,
  o: {
    runKey: string;
    offset: number;
    logStart: number;
    batchSize: number;
    current: FitCheckpoint | null;
    /** Where that run started and whether it laddered (its runs.jsonl start record). */
    start?: FitPosition;
    ladder?: boolean;
  },
): Promise<FitCheckpoint | null> {
  let log: Buffer;
  try {
    log = await readFile(join(dir, 'log.txt'));
  } catch {
    return o.current;
  }
  const t = new FitTracker(o.start ?? START_POSITION, o.ladder ?? false);
  for (const line of log.subarray(Math.min(o.logStart, log.length)).toString('utf8').split(/\r\n|\r|\n/)) t.feed(line);
  const candidates: FitAnchor[] = [];
  if (t.lastStepSaved) candidates.push(t.lastStepSaved);
  if (t.lastCycleEnd) candidates.push(t.lastCycleEnd);
  // The current cycle's file holds at least one iteration less than its last logged line.
  if (!t.cycleEnded && t.local > 1) {
    candidates.push({ file: interimFile(t.cycle), position: t.positionAt(t.local - 1), runIterations: t.doneBeforeCycle + t.local - 1 });
  }
  candidates.sort((a, b) => compareProgress({ iteration: b.runIterations, position: b.position }, { iteration: a.runIterations, position: a.position }));
  for (const c of candidates) {
    const iteration = o.offset + c.runIterations;
    if (iteration < 1 || (o.current && compareProgress({ iteration, position: c.position }, o.current) <= 0)) return o.current;
    let text: string;
    try {
      text = await readFile(join(dir, c.file), 'utf8');
    } catch {
      continue; // missing
    }
    if (!acceptable(text, c.position)) continue; // torn by the kill, or already rewritten by a later cycle or step
    const ref: FitCheckpoint = { path: join(dir, CHECKPOINT_FILE), sha256: sha256Text(text), iteration, runKey: o.runKey, batchSize: o.batchSize, position: c.position };
    await writeFileAtomic(ref.path, text);
    await writeFileAtomic(join(dir, CHECKPOINT_RECORD), JSON.stringify(ref, null, 2) + '\n');
    return ref;
  }
  return o.current;
}

/**
 * The checkpoint a generation resumes from: the newest intact one of these inputs (`runKey`),
 * in the folder or heartbeated (findCheckpoint), or a newer state salvaged from pacemaker's own
 * files when the last started run (`last`, from runs.jsonl) was of these inputs and went on after
 * its worker died (salvageCheckpoint). `configuredBatchSize` stands in for a run that recorded none.
 */
export async function resumeCheckpoint(
  dir: string,
  runKey: string,
  heartbeated: FitCheckpoint | null,
  last: StartedRun | null,
  configuredBatchSize: number,
): Promise<FitCheckpoint | null> {
  const found = await findCheckpoint(dir, runKey, heartbeated);
  if (!last || last.runKey !== runKey || last.logStart === undefined) return found;
  return salvageCheckpoint(dir, {
    runKey,
    offset: last.offset,
    logStart: last.logStart,
    batchSize: last.batchSize ?? configuredBatchSize,
    current: found,
    ...(last.start ? { start: last.start } : {}),
    ...(last.ladder !== undefined ? { ladder: last.ladder } : {}),
  });
}
