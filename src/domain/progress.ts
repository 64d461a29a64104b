/** What a running generation reports: heartbeated by activities, exposed by the workflow. */
import type { IterationLine } from './pacemaker-log.js';

/**
 * A generation's stages, in the order it runs them: updating-dataset -> training (-> converting,
 * after a stop) -> active-set -> selecting (when a pool is given) -> done; `failed` wherever it
 * failed. With a pool and no labelled structures: updating-dataset -> selecting -> done (nothing
 * trained). Generations started before selection moved after training ran `selecting` before
 * `training`.
 */
export type Stage = 'starting' | 'updating-dataset' | 'training' | 'converting' | 'active-set' | 'selecting' | 'done' | 'failed';

export interface TrainingProgress {
  stage: Stage;
  iteration: number | null;
  maxiter: number | null;
  loss: number | null;
  /** meV/atom */
  energyRmse: number | null;
  /** meV/Å per component */
  forceRmse: number | null;
  secondsPerIteration: number | null;
  etaSeconds: number | null;
  /**
   * The newest resumable state of this generation: heartbeated so that a retried attempt (after
   * a crash, a killed worker or a timeout) continues from it instead of starting over.
   */
  checkpoint?: CheckpointRef | null;
  /** 1 for the first pacemaker run of the generation, +1 per resume or out-of-memory retry. */
  run?: number;
  /** `backend.batch_size` of the current run (smaller than configured after out-of-memory). */
  batchSize?: number | null;
  /**
   * s since pacemaker last wrote a line, once that silence is longer than ordinary; null or
   * absent while lines come. Shown as "no progress for N min" instead of the ETA.
   */
  silentSeconds?: number | null;
  /** s of silence after which the run counts as stalled and is stopped (the stall watchdog). */
  stallLimitSeconds?: number | null;
}

/** A copy of pacemaker's `interim_potential_0.yaml`, kept in the generation folder. */
export interface CheckpointRef {
  /** Absolute path of the copy (never pacemaker's own interim or best-cycle file). */
  path: string;
  sha256: string;
  /** Iterations of the generation (across runs) the copy holds at least: resume runs maxiter - this. */
  iteration: number;
  /** Dataset, config, initial potential and fine-tune mode it belongs to: a checkpoint of other inputs is never resumed. */
  runKey: string;
  /** `backend.batch_size` when it was written, so a resume keeps an out-of-memory reduction. */
  batchSize: number;
}

export const INITIAL_PROGRESS: TrainingProgress = {
  stage: 'starting',
  iteration: null,
  maxiter: null,
  loss: null,
  energyRmse: null,
  forceRmse: null,
  secondsPerIteration: null,
  etaSeconds: null,
};

/** Folds one parsed iteration line into the progress record. */
export function advanceProgress(
  prev: TrainingProgress,
  line: IterationLine,
  maxiter: number,
  elapsedSeconds: number,
  iterationOffset = 0,
): TrainingProgress {
  const iteration = line.iteration + iterationOffset;
  const doneThisRun = Math.max(1, line.iteration);
  const secondsPerIteration = elapsedSeconds / doneThisRun;
  return {
    stage: 'training',
    iteration,
    maxiter,
    loss: line.loss,
    energyRmse: line.energyRmseMevPerAtom,
    forceRmse: line.forceRmseMevPerA,
    secondsPerIteration,
    etaSeconds: Math.max(0, maxiter - iteration) * secondsPerIteration,
  };
}
