/**
 * What a generation runs next, and the input.yaml of that run: from scratch, fine-tuned from
 * its parent, or resumed from a checkpoint at its place in the fit. Pure (config, data and
 * checkpoint in, plan out), so every resume path is unit-tested without pacemaker or disk.
 */
import { buildPacemakerInput, forFineTune, type FineTuneMode, type FineTunePlan, type PacemakerInput } from '../domain/input-yaml.js';
import type { PacemakerTrainerConfig } from '../domain/schemas.js';
import type { TrainingData } from '../dataset/store.js';
import { START_POSITION, ladderComplete, positionOf, type FitCheckpoint, type FitPosition } from './fit-position.js';

/** The parent potential, copied into the generation folder (what `-p` or the ladder reads). */
export const PARENT_FILE = 'initial_potential.yaml';
/** A copy of the checkpoint for `-p`: pacemaker overwrites its interim files while it runs. */
export const RESUME_FILE = 'resume_potential.yaml';

/** See planRun. */
export type RunKind = 'fresh' | 'fine-tune' | 'finish-cycle' | 'next-cycles' | 'next-steps' | 'outputs';

/** One pacemaker run: its input and arguments, and where it stands in the generation's fit. */
export interface RunPlan extends FineTunePlan {
  kind: RunKind;
  /** `fit.maxiter` of the run (pacemaker applies it to every fit cycle). */
  maxiter: number;
  /** Iterations of the generation done before the run. */
  offset: number;
  /** Where the run starts (its first cycle continues at `start.cycleIteration`). */
  start: FitPosition;
  /** The run ladders (its log names the target size and every step). */
  ladder: boolean;
  /** `_fit_cycles` written into the resume copy (0: none). */
  resumeFitCycles: number;
  /** The run ends the fit, so its outputs are the generation's; otherwise another run follows. */
  completes: boolean;
}

/**
 * input.yaml of a run from scratch on `data` (absolute paths: pacemaker runs in the generation
 * folder) with `backend.batch_size` set to `batchSize`: what every plan starts from.
 */
export function trainingInput(config: PacemakerTrainerConfig, data: TrainingData, batchSize = config.batch_size): PacemakerInput {
  const input = buildPacemakerInput(config, {
    filename: data.trainPath,
    ...(data.testPath !== null ? { testFilename: data.testPath } : {}),
  });
  return { ...fittingStoredEnergies(input, data), backend: { ...input.backend, batch_size: batchSize } };
}

/**
 * Data with structures known only by their corrected energy is fitted as stored: with
 * `data.reference_energy` set, pacemaker would recompute `energy_corrected` from `energy` (and
 * fail with KeyError 'energy' where there is none). The dataset already holds `energy_corrected`
 * for every structure, made with the config's reference energies where it had totals.
 */
function fittingStoredEnergies(input: PacemakerInput, data: TrainingData): PacemakerInput {
  if (data.fittedEnergy !== 'energy_corrected') return input;
  const section: Record<string, unknown> = { ...input.data };
  delete section.reference_energy;
  return { ...input, data: section };
}

/** `fit.fit_cycles` of the config (pacemaker's default 1). */
export function fitCycles(config: PacemakerTrainerConfig): number {
  const n = (config.input as { fit?: { fit_cycles?: unknown } }).fit?.fit_cycles;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : 1;
}

/**
 * Whether the fit ladders: `extend` grows the parent with pacemaker's ladder; a fit from scratch
 * ladders (from an empty potential) when the config sets `fit.ladder_step`. `continue` and
 * `reset` drop the ladder.
 */
export function laddered(config: PacemakerTrainerConfig, mode: FineTuneMode | null): boolean {
  if (mode === 'extend') return true;
  return mode === null && (config.input as { fit?: { ladder_step?: unknown } }).fit?.ladder_step !== undefined;
}

/**
 * Iterations of the whole fit: maxiter per fit cycle, every cycle once per ladder step (the
 * number of steps is estimated from the basis sizes pacemaker logs as it goes).
 */
export function plannedIterations(config: PacemakerTrainerConfig, ladderSteps: number): number {
  return ladderSteps * fitCycles(config) * config.max_epochs;
}

/** pacemaker's arguments for a run of `plan`, in the generation folder. */
export function runArgs(plan: RunPlan): string[] {
  return ['input.yaml', '-o', 'output_potential.yaml', '-l', 'log.txt', ...plan.args];
}

export interface PlanInputs {
  /** How the generation starts from its parent; null: from scratch. */
  mode: FineTuneMode | null;
  /** The state to resume from; null: the whole fit. */
  checkpoint: FitCheckpoint | null;
  batchSize: number;
  /** Reference energies of the potential the run starts from (see fittedReferenceEnergy). */
  referenceEnergy?: Record<string, number> | null;
}

/**
 * Input and arguments of the next run: from scratch or fine-tuned from the parent (the whole
 * fit), or resumed from a checkpoint at its place in the fit (see FitPosition). pacemaker keeps
 * no optimizer state and applies `fit.maxiter` to every fit cycle of a run and `fit.fit_cycles`
 * to every ladder step, so a resume is a chain of runs, each from the previous one's end:
 * - `finish-cycle`: `-p` on a copy of the checkpoint with `_fit_cycles: c` and
 *   `fit_cycles: c + 1`: pacemaker runs the rest of cycle c, `maxiter` minus its iterations done;
 * - `next-cycles`: `-p` on the finished cycle with `_fit_cycles: c + 1`: cycles c + 1 .. N - 1;
 * - `next-steps`: the ladder continued from the finished step (`potential.initial_potential`,
 *   `ladder_step`), which pacemaker grows by one step before fitting, as it would have;
 * - `outputs`: the fit had ended but wrote no output: one more iteration, for pacemaker's outputs.
 * `-p` runs drop the ladder (upstream issue #39); `-p` and `-ip` are never combined.
 */
export function planRun(config: PacemakerTrainerConfig, data: TrainingData, o: PlanInputs): RunPlan {
  const maxiter = config.max_epochs;
  const cycles = fitCycles(config);
  const ladder = laddered(config, o.mode);
  let base = trainingInput(config, data, o.batchSize);
  // Keep the energy scale of the potential we start from (see fittedReferenceEnergy); a reset refits from zero.
  const keepsEnergies = o.checkpoint !== null || o.mode === 'continue' || o.mode === 'extend';
  if (o.referenceEnergy && keepsEnergies && config.reference_energy === 'auto' && data.fittedEnergy !== 'energy_corrected') {
    base = { ...base, data: { ...base.data, reference_energy: o.referenceEnergy } };
  }
  if (!o.checkpoint) {
    const whole = { maxiter, offset: 0, start: START_POSITION, ladder, resumeFitCycles: 0, completes: true };
    if (o.mode !== null) return { ...forFineTune(base, o.mode, PARENT_FILE, maxiter), ...whole, kind: 'fine-tune' };
    return { input: base, args: [], ...whole, kind: 'fresh' };
  }
  const offset = o.checkpoint.iteration;
  const at = positionOf(o.checkpoint);
  const sized = { basisFunctions: at.basisFunctions, targetFunctions: at.targetFunctions };
  const cycleDone = at.stage !== 'running' || at.cycleIteration >= maxiter;
  const stepDone = at.stage === 'step-done' || (cycleDone && at.cycle >= cycles - 1);
  const stepsLeft = ladder && !ladderComplete(at);
  const withCycles = (plan: FineTunePlan, n: number): FineTunePlan =>
    cycles > 1 || n > 1 ? { ...plan, input: { ...plan.input, fit: { ...plan.input.fit, fit_cycles: n } } } : plan;
  if (!cycleDone) {
    const remaining = maxiter - at.cycleIteration;
    return {
      ...withCycles(forFineTune(base, 'continue', RESUME_FILE, remaining), at.cycle + 1),
      maxiter: remaining, offset, kind: 'finish-cycle', start: at, ladder: false, resumeFitCycles: at.cycle,
      completes: at.cycle + 1 >= cycles && !stepsLeft,
    };
  }
  if (!stepDone) {
    return {
      ...withCycles(forFineTune(base, 'continue', RESUME_FILE, maxiter), cycles),
      maxiter, offset, kind: 'next-cycles', start: { ...START_POSITION, ...sized, ladderStep: at.ladderStep, cycle: at.cycle + 1 },
      ladder: false, resumeFitCycles: at.cycle + 1, completes: !stepsLeft,
    };
  }
  if (stepsLeft) {
    return {
      ...withCycles(forFineTune(base, 'extend', RESUME_FILE, maxiter), cycles),
      maxiter, offset, kind: 'next-steps', start: { ...START_POSITION, ...sized, ladderStep: at.ladderStep + 1 },
      ladder: true, resumeFitCycles: 0, completes: true,
    };
  }
  // Everything was fitted but the run ended before its outputs: at least one iteration, since
  // pacemaker writes no output potential when it fits nothing.
  return {
    ...withCycles(forFineTune(base, 'continue', RESUME_FILE, 1), cycles),
    maxiter: 1, offset, kind: 'outputs', start: { ...at, cycle: cycles - 1, stage: 'running' },
    ladder: false, resumeFitCycles: cycles - 1, completes: true,
  };
}
