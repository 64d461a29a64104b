/** A live progress bar for a training generation (iteration, loss, RMSE, ETA). */
import cliProgress from 'cli-progress';
import type { TrainingProgress } from '../domain/progress.js';
import { describeStall, stallOf, statusLine, type RetryState } from './status-line.js';

export class ProgressPrinter {
  private bar: cliProgress.SingleBar | null = null;
  private lastStage = '';

  constructor(private readonly maxiter: number) {}

  update(p: TrainingProgress & { retry?: RetryState | null; stopRequested?: boolean }): void {
    if (!process.stderr.isTTY) {
      // Logs and CI: one line per stage change, iteration, minute of silence or retry; no control characters.
      const silent = p.silentSeconds === undefined || p.silentSeconds === null ? '' : Math.floor(p.silentSeconds / 60);
      const key = `${p.stage}:${p.iteration ?? ''}:${silent}:${p.retry?.attempt ?? 1}:${p.stopRequested ? 'stop' : ''}`;
      if (key !== this.lastStage) console.error(statusLine({ stage: p.stage, progress: p, stall: stallOf(p), retry: p.retry, stopRequested: p.stopRequested }));
      this.lastStage = key;
      return;
    }
    if (p.stage !== 'training' || p.iteration === null) {
      const key = `${p.stage}:${p.retry?.attempt ?? 1}`;
      if (key !== this.lastStage) console.error(statusLine({ stage: p.stage, retry: p.retry, stopRequested: p.stopRequested }));
      this.lastStage = key;
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
    // A silent fit has no meaningful ETA: say how long it has made no progress instead.
    const stall = stallOf(p);
    const retry = p.retry && p.retry.attempt > 1 ? ` | retrying ${p.retry.activity}: attempt ${p.retry.attempt}` : '';
    const tail = (stall ? describeStall(stall) : `ETA ${p.etaSeconds === null ? '-' : `${Math.round(p.etaSeconds)} s`}`) + retry;
    const payload = { loss: fmt(p.loss, 4), erms: fmt(p.energyRmse, 2), frms: fmt(p.forceRmse, 2), tail };
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

/** The progress alone, as one line (src/cli/status-line.ts formats it, with the stall). */
export function formatProgress(p: TrainingProgress): string {
  return statusLine({ stage: p.stage, progress: p, stall: stallOf(p) });
}
