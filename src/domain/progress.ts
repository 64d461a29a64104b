/** What a running generation reports: heartbeated by activities, exposed by the workflow. */
import type { IterationLine } from './pacemaker-log.js';

export type Stage = 'starting' | 'updating-dataset' | 'selecting' | 'training' | 'converting' | 'active-set' | 'done' | 'failed';

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
