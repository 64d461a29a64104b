/**
 * One line for a generation's state, as `status`, `watch` and `train --wait` print it: the
 * stage, the fit's progress, and either its ETA or, when the fit is silent for longer than
 * ordinary, how long it has made no progress; then, when an activity is being retried, its
 * attempt and last failure. Pure: it takes plain records, so it is unit-tested without a server.
 *
 * The stall state is its own optional input: whoever knows it (the training heartbeat's
 * `silentSeconds`, a host's watchdog) passes it, and the line shows it instead of the ETA.
 */
import type { TrainingProgress } from '../domain/progress.js';
import { formatDuration } from '../domain/generation-story.js';

/** An activity of the generation that is being retried (attempt > 1). */
export interface RetryState {
  activity: string;
  attempt: number;
  lastFailure: string | null;
}

/** A fit that has written nothing for a while. */
export interface StallState {
  /** s without a new line of output. */
  silentSeconds: number;
  /** s after which the watchdog stops it, when one watches. */
  limitSeconds?: number | null | undefined;
}

/** The figures of a fit, as the heartbeat and the progress query give them. */
export type ProgressFigures = Pick<
  TrainingProgress,
  'iteration' | 'maxiter' | 'loss' | 'energyRmse' | 'forceRmse' | 'etaSeconds'
>;

export interface StatusLineInput {
  stage: string;
  progress?: ProgressFigures | null | undefined;
  stall?: StallState | null | undefined;
  retry?: RetryState | null | undefined;
  stopRequested?: boolean | undefined;
}

/** `digits` significant digits, but whole numbers from 100 on (`520`, not `5.2e+2`). */
function fmt(v: number | null, digits: number): string {
  if (v === null) return '-';
  return Math.abs(v) >= 10 ** digits ? v.toFixed(0) : v.toPrecision(digits);
}

/** `no progress for 12 min (stalled after 30 min)`. */
export function describeStall(stall: StallState): string {
  const limit = stall.limitSeconds ? ` (stalled after ${formatDuration(stall.limitSeconds)})` : '';
  return `no progress for ${formatDuration(stall.silentSeconds)}${limit}`;
}

/** The stall state a progress record carries (the training heartbeat's `silentSeconds`), or null. */
export function stallOf(
  p: Pick<TrainingProgress, 'silentSeconds' | 'stallLimitSeconds'> | null | undefined,
): StallState | null {
  if (!p || p.silentSeconds === undefined || p.silentSeconds === null) return null;
  return { silentSeconds: p.silentSeconds, limitSeconds: p.stallLimitSeconds ?? null };
}

function figuresPart(
  stage: string,
  p: ProgressFigures,
  stall: StallState | null | undefined,
): string {
  const tail = stall
    ? describeStall(stall)
    : `ETA ${p.etaSeconds === null ? '-' : `${Math.round(p.etaSeconds)} s`}`;
  return `${stage}: iteration ${p.iteration}/${p.maxiter ?? '?'} loss ${fmt(p.loss, 4)} E ${fmt(p.energyRmse, 2)} meV/at F ${fmt(p.forceRmse, 2)} meV/Å ${tail}`;
}

/** The stop and retry parts, when they apply. */
function stateParts(i: Pick<StatusLineInput, 'retry' | 'stopRequested'>): string[] {
  const parts: string[] = [];
  if (i.stopRequested) parts.push('stop requested');
  if (i.retry && i.retry.attempt > 1) {
    const why = i.retry.lastFailure
      ? `, last failure: ${(i.retry.lastFailure.split('\n')[0] ?? '').slice(0, 160)}`
      : '';
    parts.push(`retrying ${i.retry.activity}: attempt ${i.retry.attempt}${why}`);
  }
  return parts;
}

/**
 * `training: iteration 30/60 loss 0.007563 E 36.00 meV/at F 86.00 meV/Å ETA 33 s`, with the
 * stall in place of the ETA, and ` · stop requested`, ` · retrying trainPotential: attempt 2, last
 * failure: …` when they apply. Without figures: `stage: updating-dataset`.
 */
export function statusLine(i: StatusLineInput): string {
  const p = i.progress;
  // The figures belong to the fit: after it, a last heartbeat's figures would be stale.
  const first =
    p && p.iteration !== null && i.stage === 'training'
      ? figuresPart(i.stage, p, i.stall)
      : `stage: ${i.stage}${i.stall ? `, ${describeStall(i.stall)}` : ''}`;
  return [first, ...stateParts(i)].join(' · ');
}

/** A generation as `status` names it, in one line: id, workflow status and stage, progress, stall or retry, and the headline force RMSE (test when tested, else train). */
export function generationStatusLine(s: {
  workflowId: string;
  status: string;
  stage: string | null;
  progress?:
    | (ProgressFigures &
        Partial<Pick<TrainingProgress, 'silentSeconds' | 'stallLimitSeconds'>> & {
          stopRequested?: boolean;
        })
    | null
    | undefined;
  retry?: RetryState | null | undefined;
  testForceRmse?: number | null | undefined;
}): string {
  const parts = [`${s.workflowId}: ${s.status}${s.stage ? ` (stage ${s.stage})` : ''}`];
  if (s.status === 'RUNNING') {
    const p = s.progress;
    const stall = stallOf(p);
    if (p && p.iteration !== null && s.stage === 'training')
      parts.push(figuresPart(s.stage, p, stall));
    else if (stall) parts.push(describeStall(stall));
    parts.push(...stateParts({ retry: s.retry, stopRequested: p?.stopRequested }));
  }
  if (s.testForceRmse !== null && s.testForceRmse !== undefined)
    parts.push(`F ${s.testForceRmse.toFixed(2)} meV/Å`);
  return parts.join(' · ');
}
