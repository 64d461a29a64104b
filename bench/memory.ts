/** Peak memory and CPU time of the processes a benchmark starts, sampled from /proc while they run. */
import { readFile } from 'node:fs/promises';

/**
 * Samples the resident memory of the processes it is told about every 100 ms (and their own
 * high-water marks), so a concurrent pair is measured as the sum it really costs.
 */
export class MemorySampler {
  private readonly pids = new Set<number>();
  private readonly hwm = new Map<number, number>();
  /** Clock ticks of user + system CPU per process, as last sampled (at most 100 ms before it ended). */
  private readonly ticks = new Map<number, number>();
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
        // /proc/PID/stat: fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        this.ticks.set(pid, Number(fields[11]) + Number(fields[12]));
      } catch {
        this.pids.delete(pid); // exited
      }
    }
    this.peakTotalKb = Math.max(this.peakTotalKb, total);
  }

  /** Seconds of CPU the tracked processes used (Linux's 100 clock ticks per second). */
  cpuSeconds(): number {
    return [...this.ticks.values()].reduce((a, b) => a + b, 0) / 100;
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
  /** CPU seconds of the tracked processes: steadier than wall time on a shared machine. */
  cpuSeconds: number;
}

export async function timed(fn: (track: (pid: number) => void) => Promise<unknown>): Promise<Measured> {
  const sampler = new MemorySampler();
  const t0 = performance.now();
  await fn(sampler.track);
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = sampler.cpuSeconds();
  return { seconds, peakMb: sampler.stop(), cpuSeconds };
}

