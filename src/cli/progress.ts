/** A live progress bar for a training generation (iteration, loss, RMSE, ETA). */
import cliProgress from 'cli-progress';
import type { TrainingProgress } from '../domain/progress.js';
import { describeSilence, formatDuration } from '../process/stall.js';

export class ProgressPrinter {
  private bar: cliProgress.SingleBar | null = null;
  private lastStage = '';

  constructor(private readonly maxiter: number) {}

  update(p: TrainingProgress): void {
    if (!process.stderr.isTTY) {
      // Logs and CI: one line per stage change or iteration, no control characters.
      const key = `${p.stage}:${p.iteration ?? ''}:${silenceMinutes(p)}`;
      if (key !== this.lastStage) console.error(formatProgress(p));
      this.lastStage = key;
      return;
    }
    if (p.stage !== 'training' || p.iteration === null) {
      const key = `${p.stage}:${silenceMinutes(p)}`;
      if (key !== this.lastStage) console.error(formatProgress(p));
      this.lastStage = key;
      return;
    }
    this.bar ??= new cliProgress.SingleBar(
      {
        format:
          'training |{bar}| {value}/{total} iter | loss {loss} | E {erms} meV/at | F {frms} meV/Å | {eta}',
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    const payload = { loss: fmt(p.loss, 4), erms: fmt(p.energyRmse, 2), frms: fmt(p.forceRmse, 2), eta: etaOrSilence(p) };
    if (!this.bar.isActive) this.bar.start(p.maxiter ?? this.maxiter, p.iteration, payload);
    this.bar.update(p.iteration, payload);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

function fmt(v: number | null, digits: number): string {
  return v === null ? '-' : v.toPrecision(digits);
}

export function formatProgress(p: TrainingProgress): string {
  if (p.iteration === null) return `stage: ${p.stage}${silenceNote(p)}`;
  return `${p.stage}: iteration ${p.iteration}/${p.maxiter ?? '?'} loss ${fmt(p.loss, 4)} E ${fmt(p.energyRmse, 2)} meV/at F ${fmt(p.forceRmse, 2)} meV/Å ${etaOrSilence(p)}`;
}

/**
 * `ETA 42 s`, or `no progress for 12 min (stalled after 30 min)` while the fit has been silent
 * for longer than ordinary: an ETA computed from the last iteration would be stale.
 */
export function etaOrSilence(p: TrainingProgress): string {
  if (p.silentSeconds !== undefined && p.silentSeconds !== null) return silenceNote(p).slice(2);
  return `ETA ${p.etaSeconds === null ? '-' : `${Math.round(p.etaSeconds)} s`}`;
}

/** Whole minutes of a silence being reported, '' while there is none: a new log line per minute. */
function silenceMinutes(p: TrainingProgress): string {
  return p.silentSeconds === undefined || p.silentSeconds === null ? '' : String(Math.floor(p.silentSeconds / 60));
}

/** `, no progress for 3 min (stalled after 30 min)` while silent, else ''. */
function silenceNote(p: TrainingProgress): string {
  if (p.silentSeconds === undefined || p.silentSeconds === null) return '';
  const limit = p.stallLimitSeconds ? ` (stalled after ${formatDuration(p.stallLimitSeconds)})` : '';
  return `, ${describeSilence(p.silentSeconds)}${limit}`;
}
