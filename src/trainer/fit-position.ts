/**
 * Where a pacemaker fit is, read from its log: ladder step, fit cycle and iteration within the
 * cycle. pacemaker fits `fit.maxiter` iterations per fit cycle (`fit.fit_cycles`, each cycle
 * restarting the optimizer from the best potential so far) and, with a ladder
 * (`potential.initial_potential` or `fit.ladder_step`), all its cycles once per ladder step (each
 * step adds up to `ladder_step` functions to every block). Per cycle it rewrites
 * `interim_potential_<cycle>.yaml` after every iteration, carrying `_fit_cycles: <cycle>` from
 * cycle 1 on; after each ladder step it saves `interim_potential_ladder_step_<k>.yaml` (no
 * `_fit_cycles`), k counted from 0 in every run. Log lines are the same in stderr and log.txt.
 * Pure (no I/O), so resume planning is unit-tested on log text.
 */
import { createIterationParser, type IterationLine } from '../domain/pacemaker-log.js';
import type { CheckpointRef } from '../domain/progress.js';

export interface FitPosition {
  /** Ladder step of the generation, 0-based (always 0 without a ladder). */
  ladderStep: number;
  /** Fit cycle within the ladder step, 0-based. */
  cycle: number;
  /** Iterations of this cycle the potential holds. */
  cycleIteration: number;
  /**
   * `running`: mid-cycle; `cycle-done`: the cycle ended (maxiter, convergence or early stopping);
   * `step-done`: every cycle of the ladder step ended, and the potential is pacemaker's result of
   * the step (its ladder-step file).
   */
  stage: 'running' | 'cycle-done' | 'step-done';
  /** Ladder fits: functions in the step's basis and in the target; null when not known. */
  basisFunctions: number | null;
  targetFunctions: number | null;
}

export const START_POSITION: FitPosition = {
  ladderStep: 0,
  cycle: 0,
  cycleIteration: 0,
  stage: 'running',
  basisFunctions: null,
  targetFunctions: null,
};

/**
 * A checkpoint with its place in the fit. `position` is absent in records written before fit
 * cycles and ladders were followed; those are read as mid-cycle in cycle 0 of step 0.
 */
export type FitCheckpoint = CheckpointRef & { position?: FitPosition };

export function positionOf(cp: FitCheckpoint): FitPosition {
  return cp.position ?? { ...START_POSITION, cycleIteration: cp.iteration };
}

const STAGE_RANK: Record<FitPosition['stage'], number> = { running: 0, 'cycle-done': 1, 'step-done': 2 };

/**
 * Orders two states of one generation by progress: more iterations first, then (at the same
 * count) the one that knows its cycle or ladder step ended.
 */
export function compareProgress(a: { iteration: number; position?: FitPosition | undefined }, b: { iteration: number; position?: FitPosition | undefined }): number {
  if (a.iteration !== b.iteration) return a.iteration - b.iteration;
  return STAGE_RANK[a.position?.stage ?? 'running'] - STAGE_RANK[b.position?.stage ?? 'running'];
}

/** True when the ladder has no functions left to add after the position's step. */
export function ladderComplete(p: FitPosition): boolean {
  return p.basisFunctions !== null && p.targetFunctions !== null && p.basisFunctions >= p.targetFunctions;
}

export const interimFile = (cycle: number): string => `interim_potential_${cycle}.yaml`;

const CYCLE_START = /Number of fit attempts: (\d+)\/(\d+)/;
const CYCLE_END = /Fitting cycle finished/;
const CURRENT_BASIS = /Current basis set size: (\d+) B-functions/;
const EXTENDED_BASIS = /Extended basis set size: (\d+) B-functions/;
const LADDER_DONE = /No new function added after basis extension/;
// Logged after the file is written (pyace's save_interim_potential), unlike "Save current ladder step potential to".
const STEP_SAVED = /Intermediate potential saved in (interim_potential_ladder_step_\d+\.yaml)/;
const TARGET = /Target potential (?:shape constructed from dictionary|loaded from file '.*'), it contains (\d+) functions/;

export type FitEvent =
  | { kind: 'iteration'; line: IterationLine }
  | { kind: 'cycle-start'; cycle: number }
  | { kind: 'cycle-end'; cycle: number }
  | { kind: 'step-saved'; file: string }
  | { kind: 'ladder-done' };

/** One state a checkpoint can be taken from: a file and the position its content holds. */
export interface FitAnchor {
  file: string;
  position: FitPosition;
  /** Iterations this run had completed when the file held that state. */
  runIterations: number;
}

/**
 * Follows one pacemaker run through its log lines. `start` is the position the run starts from
 * (its first cycle continues at `start.cycleIteration` when the run resumes mid-cycle);
 * `ladder` says whether the run ladders (then its log names the target size and each step).
 */
export class FitTracker {
  ladderStep: number;
  cycle: number;
  /** Iterations of the current cycle done before this run (a run resuming mid-cycle). */
  cycleBase: number;
  /** This run's iterations in the current cycle (the highest logged). */
  local = 0;
  /** This run's iterations in cycles that ended before the current one. */
  done = 0;
  cycleEnded = false;
  basisFunctions: number | null;
  targetFunctions: number | null;
  /** Functions the last ladder step added (to estimate the steps left). */
  lastIncrement: number | null = null;
  ladderFinished = false;
  /** The last cycle that ended in this run, and the last ladder step saved. */
  lastCycleEnd: FitAnchor | null = null;
  lastStepSaved: FitAnchor | null = null;
  private readonly parse = createIterationParser();
  private firstCycle = true;
  private currentBasis: number | null = null;

  constructor(
    private readonly start: FitPosition,
    readonly ladder: boolean,
  ) {
    this.ladderStep = start.ladderStep;
    this.cycle = start.cycle;
    this.cycleBase = start.stage === 'running' ? start.cycleIteration : 0;
    this.basisFunctions = start.basisFunctions;
    this.targetFunctions = start.targetFunctions;
  }

  /** Iterations this run has completed so far. */
  get runIterations(): number {
    return this.cycleEnded ? this.done : this.done + this.local;
  }

  /** The position a potential holds after `label` iterations of this run's current cycle. */
  positionAt(label: number, stage: FitPosition['stage'] = 'running'): FitPosition {
    return {
      ladderStep: this.ladderStep,
      cycle: this.cycle,
      cycleIteration: this.cycleBase + label,
      stage,
      basisFunctions: this.basisFunctions,
      targetFunctions: this.targetFunctions,
    };
  }

  /** Iterations this run had completed before its current cycle. */
  get doneBeforeCycle(): number {
    return this.cycleEnded ? this.done - this.local : this.done;
  }

  feed(line: string): FitEvent | null {
    const it = this.parse(line);
    if (it) {
      if (this.cycleEnded || it.iteration <= this.local) return null; // a repeated block (cycle/ladder summary)
      this.local = it.iteration;
      return { kind: 'iteration', line: it };
    }
    let m: RegExpExecArray | null;
    if ((m = CYCLE_START.exec(line))) {
      const cycle = Number(m[1]);
      if (!this.cycleEnded) this.done += this.local;
      this.cycleBase = this.firstCycle && cycle === this.start.cycle && this.start.stage === 'running' ? this.start.cycleIteration : 0;
      this.firstCycle = false;
      this.cycle = cycle;
      this.local = 0;
      this.cycleEnded = false;
      return { kind: 'cycle-start', cycle };
    }
    if (CYCLE_END.test(line)) {
      if (this.cycleEnded) return null;
      this.done += this.local;
      this.cycleEnded = true;
      this.lastCycleEnd = { file: interimFile(this.cycle), position: this.positionAt(this.local, 'cycle-done'), runIterations: this.done };
      return { kind: 'cycle-end', cycle: this.cycle };
    }
    if (!this.ladder) return null;
    if ((m = TARGET.exec(line))) {
      this.targetFunctions = Number(m[1]);
      return null;
    }
    if ((m = CURRENT_BASIS.exec(line))) {
      this.currentBasis = Number(m[1]);
      return null;
    }
    if ((m = EXTENDED_BASIS.exec(line))) {
      const size = Number(m[1]);
      if (this.currentBasis !== null && size > this.currentBasis) this.lastIncrement = size - this.currentBasis;
      this.basisFunctions = size;
      return null;
    }
    if (LADDER_DONE.test(line)) {
      this.ladderFinished = true;
      return { kind: 'ladder-done' };
    }
    if ((m = STEP_SAVED.exec(line))) {
      const file = m[1]!;
      const position: FitPosition = { ...this.positionAt(this.local, 'step-done') };
      this.lastStepSaved = { file, position, runIterations: this.runIterations };
      // The next step starts its cycles from 0.
      this.ladderStep += 1;
      this.cycle = 0;
      this.cycleBase = 0;
      this.local = 0;
      this.cycleEnded = true;
      return { kind: 'step-saved', file };
    }
    return null;
  }

  /** Ladder steps of the whole fit, estimated from the sizes seen so far (1 without a ladder). */
  estimatedSteps(): number {
    if (!this.ladder) return this.ladderStep + 1;
    if (this.ladderFinished) return this.ladderStep;
    const left =
      this.basisFunctions !== null && this.targetFunctions !== null && this.lastIncrement
        ? Math.max(0, Math.ceil((this.targetFunctions - this.basisFunctions) / this.lastIncrement))
        : 0;
    return this.ladderStep + 1 + left;
  }
}

/**
 * `text` (a potential YAML) with `_fit_cycles: n` in its metadata, or without it for n = 0.
 * pacemaker runs cycles `_fit_cycles` .. `fit.fit_cycles` - 1 of a `-p` potential, so this is how
 * a resume enters the cycle it left. Edits lines only, so every coefficient keeps its digits.
 */
export function withFitCycles(text: string, n: number): string {
  const lines = text.split('\n');
  const meta = lines.findIndex((l) => /^metadata:\s*(\{\s*\})?\s*$/.test(l));
  if (meta < 0) {
    const first = lines.findIndex((l) => l.trim() !== '' && !l.startsWith('#'));
    if (n > 0) lines.splice(Math.max(0, first), 0, 'metadata:', `  _fit_cycles: ${n}`);
    return lines.join('\n');
  }
  lines[meta] = 'metadata:';
  let end = meta + 1;
  while (end < lines.length && (/^\s+\S/.test(lines[end]!) || lines[end]!.trim() === '')) end += 1;
  const body = lines.slice(meta + 1, end).filter((l) => !/^\s+_fit_cycles:/.test(l));
  if (n > 0) body.unshift(`  _fit_cycles: ${n}`);
  if (body.length === 0) lines[meta] = 'metadata: {}';
  return [...lines.slice(0, meta + 1), ...body, ...lines.slice(end)].join('\n');
}

/** Functions of a potential (one per `nbody` entry of its species blocks), or null for another shape. */
export function countFunctions(doc: unknown): number | null {
  if (doc === null || typeof doc !== 'object') return null;
  const species = (doc as Record<string, unknown>).species;
  if (!Array.isArray(species)) return null;
  return species.reduce((n: number, b: unknown) => {
    const nbody = b !== null && typeof b === 'object' ? (b as Record<string, unknown>).nbody : undefined;
    return n + (Array.isArray(nbody) ? nbody.length : 0);
  }, 0);
}
