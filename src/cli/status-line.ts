/**
 * One line for a generation's state, as `status`, `watch` and `train --wait` print it: the
 * stage, the fit's progress, and either its ETA or, when the fit has stalled, how long it has
 * made no progress; then, when an activity is being retried, its attempt and last failure.
 * Pure: it takes the progress record and the retry state, nothing else.
 */
import { formatDuration } from '../domain/generation-story.js';
import type { StallState, TrainingProgress } from '../domain/progress.js';

/** An activity of the generation that is being retried (attempt > 1). */
export interface RetryState {
  activity: string;
  attempt: number;
  lastFailure: string | null;
}

export interface StatusLineInput {
  progress: Pick<TrainingProgress, 'iteration' | 'maxiter' | 'loss' | 'energyRmse' | 'forceRmse' | 'etaSeconds'> & {
    stage: string;
    stall?: StallState | null | undefined;
    stopRequested?: boolean | undefined;
  };
  retry?: RetryState | null | undefined;
}

function fmt(v: number | null, digits: number): string {
  return v === null ? '-' : v.toPrecision(digits);
}

/** `training: iteration 30/60 loss 0.007563 E 36 meV/at F 86 meV/Å ETA 33 s`, and the stall or retry. */
export function statusLine({ progress: p, retry }: StatusLineInput): string {
  const parts: string[] = [];
  if (p.iteration === null) {
    parts.push(`stage: ${p.stage}`);
  } else {
    const tail = p.stall
      ? `no progress for ${formatDuration(p.stall.secondsWithoutProgress)}`
      : `ETA ${p.etaSeconds === null ? '-' : formatDuration(p.etaSeconds)}`;
    parts.push(`${p.stage}: iteration ${p.iteration}/${p.maxiter ?? '?'} loss ${fmt(p.loss, 4)} E ${fmt(p.energyRmse, 2)} meV/at F ${fmt(p.forceRmse, 2)} meV/Å ${tail}`);
  }
  if (p.stopRequested) parts.push('stop requested');
  if (retry && retry.attempt > 1) {
    const why = retry.lastFailure ? `, last failure: ${retry.lastFailure.split('\n')[0]!.slice(0, 160)}` : '';
    parts.push(`retrying ${retry.activity}: attempt ${retry.attempt}${why}`);
  }
  return parts.join(' · ');
}
