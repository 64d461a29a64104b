/** Peak memory of the processes a benchmark starts, sampled from /proc while they run. */
import { readFile } from 'node:fs/promises';

/**
 * Samples the resident memory of the processes it is told about every 100 ms (and their own
 * high-water marks), so a concurrent pair is measured as the sum it really costs.
 */
export class MemorySampler {
  private readonly pids = new Set<number>();
  private readonly hwm = new Map<number, number>();
  peakTotalKb = 0;
  private timer: NodeJS.Timeout | null = null;

  track = (pid: number): void => {
    this.pids.add(pid);
    this.timer ??= setInterval(() => void this.sample(), 100);
  };

  private async sample(): Promise<void> {
    let total = 0;
    for (const pid of this.pids) {
      try {
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        total += rss;
        this.hwm.set(pid, Math.max(this.hwm.get(pid) ?? 0, hwm));
      } catch {
        this.pids.delete(pid); // exited
      }
    }
    this.peakTotalKb = Math.max(this.peakTotalKb, total);
  }

  /** MB: the larger of the sampled concurrent total and the largest single high-water mark. */
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    const single = Math.max(0, ...this.hwm.values());
    return Math.max(this.peakTotalKb, single) / 1024;
  }
}

export interface Measured {
  seconds: number;
  peakMb: number;
}

export async function timed(fn: (track: (pid: number) => void) => Promise<unknown>): Promise<Measured> {
  const sampler = new MemorySampler();
  const t0 = performance.now();
  await fn(sampler.track);
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, peakMb: sampler.stop() };
}

