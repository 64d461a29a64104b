/** A live progress bar for a training generation (iteration, loss, RMSE, ETA). */
import cliProgress from 'cli-progress';
import type { TrainingProgress } from '../domain/progress.js';

export class ProgressPrinter {
  private bar: cliProgress.SingleBar | null = null;
  private lastStage = '';

  constructor(private readonly maxiter: number) {}

  update(p: TrainingProgress): void {
    if (!process.stderr.isTTY) {
      // Logs and CI: one line per stage change or iteration, no control characters.
      const key = `${p.stage}:${p.iteration ?? ''}`;
      if (key !== this.lastStage) console.error(formatProgress(p));
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
          'training |{bar}| {value}/{total} iter | loss {loss} | E {erms} meV/at | F {frms} meV/Å | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    const payload = { loss: fmt(p.loss, 4), erms: fmt(p.energyRmse, 2), frms: fmt(p.forceRmse, 2) };
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
  if (p.iteration === null) return `stage: ${p.stage}`;
  const eta = p.etaSeconds === null ? '-' : `${Math.round(p.etaSeconds)} s`;
  return `${p.stage}: iteration ${p.iteration}/${p.maxiter ?? '?'} loss ${fmt(p.loss, 4)} E ${fmt(p.energyRmse, 2)} meV/at F ${fmt(p.forceRmse, 2)} meV/Å ETA ${eta}`;
}
