/** A live progress bar for a training generation (iteration, loss, RMSE, ETA). */
import cliProgress from 'cli-progress';
import type { TrainingProgress } from '../domain/progress.js';
import { formatDuration } from '../domain/generation-story.js';
import { statusLine, type RetryState } from './status-line.js';

export class ProgressPrinter {
  private bar: cliProgress.SingleBar | null = null;
  private lastStage = '';

  constructor(private readonly maxiter: number) {}

  update(p: TrainingProgress & { retry?: RetryState | null }): void {
    if (!process.stderr.isTTY) {
      // Logs and CI: one line per stage change or iteration, no control characters.
      const key = `${p.stage}:${p.iteration ?? ''}:${p.stall ? 'stalled' : ''}:${p.retry?.attempt ?? 1}`;
      if (key !== this.lastStage) console.error(statusLine({ progress: p, retry: p.retry ?? null }));
      this.lastStage = key;
      return;
    }
    if (p.stage !== 'training' || p.iteration === null) {
      if (p.stage !== this.lastStage) console.error(`stage: ${p.stage}`);
      this.lastStage = p.stage;
      return;
    }
    this.bar ??= new cliProgress.SingleBar(
      {
        format:
          'training |{bar}| {value}/{total} iter | loss {loss} | E {erms} meV/at | F {frms} meV/Å | {tail}',
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    // A stalled fit has no meaningful ETA: say how long it has made no progress instead.
    const tail = p.stall
      ? `no progress for ${formatDuration(p.stall.secondsWithoutProgress)}`
      : `ETA ${p.etaSeconds === null ? '-' : formatDuration(p.etaSeconds)}`;
    const retry = p.retry && p.retry.attempt > 1 ? ` | attempt ${p.retry.attempt}` : '';
    const payload = { loss: fmt(p.loss, 4), erms: fmt(p.energyRmse, 2), frms: fmt(p.forceRmse, 2), tail: tail + retry };
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

/** The progress alone, as one line (see statusLine for the stall and retry states). */
export function formatProgress(p: TrainingProgress): string {
  return statusLine({ progress: p });
}
