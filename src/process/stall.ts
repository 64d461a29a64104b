/**
 * The stall watchdog's rules: how long a program may stay silent (no new line of output) before
 * it counts as stalled, per program, and the watch the program runner keeps of its silence.
 * Pure apart from the clock, which is injected, so every rule is unit-tested without a process.
 *
 * A wedged GPU driver, a hung NFS mount or a deadlocked TensorFlow leave the program alive and
 * silent: only its output tells. The fit's floor comes from real pacemaker 0.2.7 runs through
 * this runner (TensorFlow 2.15 on CPU; 2 cores shared with other jobs; docs/training.md has the
 * table): tensorpot was silent for up to 97 s while TensorFlow traced its graph (at the start of
 * every fit cycle) and logged its first iteration 182 s after start; pyace's longest silence was
 * 10 s (SciPy's `Eval` lines come several times per iteration). The floor covers silences of
 * that kind on fits far larger than those (bigger bases trace for longer; big datasets take
 * minutes per evaluation); once iterations are logged, a multiple of the observed time per
 * iteration covers slow fits the floor would cut short.
 */

/** How long a program may be silent: `floorSeconds`, or `multiple` x its seconds per step when larger. */
export interface StallPolicy {
  /** s; always allowed (start-up, data loading, a first iteration, TensorFlow tracing again). */
  floorSeconds: number;
  /** Times the observed seconds per step (a fit's iteration); 0: the floor alone. */
  multiple: number;
}

/**
 * The programs the watchdog guards, each with its default. The dataset helper prints a line a
 * minute while it waits for the dataset lock, so its floor need not cover that wait.
 */
export const STALL_POLICIES = {
  /** A fit: floor 30 min (18x the longest silence measured), else 10 x the seconds per iteration. */
  pacemaker: { floorSeconds: 30 * 60, multiple: 10 },
  /** `pacemaker --no-fit` evaluating a stopped potential: start-up, data, two predictions. */
  'pacemaker --no-fit': { floorSeconds: 10 * 60, multiple: 0 },
  /** Converting a YAML potential to .yace: seconds. */
  pace_yaml2yace: { floorSeconds: 5 * 60, multiple: 0 },
  /** Projections of a whole dataset are computed without a line of output. */
  pace_activeset: { floorSeconds: 30 * 60, multiple: 0 },
  pace_select: { floorSeconds: 30 * 60, multiple: 0 },
  /** The dataset helper: reads, validates and writes pickles, then answers in one line. */
  'mlip-dataset': { floorSeconds: 15 * 60, multiple: 0 },
  /** The selection helper: pace_select's function and the projections of a pool, in process. */
  'mlip-select': { floorSeconds: 30 * 60, multiple: 0 },
} as const satisfies Record<string, StallPolicy>;

export type GuardedProgram = keyof typeof STALL_POLICIES;

/**
 * The silence allowed now, s: `override` when given (a site's `tuning.stallTimeoutSeconds`),
 * else the policy's floor, raised to `multiple` x `secondsPerStep` once steps were observed.
 */
export function stallLimitSeconds(policy: StallPolicy, secondsPerStep: number | null, override?: number | null): number {
  if (override !== undefined && override !== null) return override;
  const byRate = secondsPerStep !== null && Number.isFinite(secondsPerStep) ? policy.multiple * secondsPerStep : 0;
  return Math.max(policy.floorSeconds, byRate);
}

/**
 * Whether a silence is long enough to say "no progress" instead of an ETA: three iterations'
 * worth and at least 30 s (shorter pauses are ordinary), and always from half the limit on.
 * Returns the silence, s, or null while it is ordinary.
 */
export function noProgressSeconds(silentSeconds: number, limitSeconds: number, secondsPerIteration: number | null): number | null {
  const half = limitSeconds > 0 && Number.isFinite(limitSeconds) ? limitSeconds / 2 : Infinity;
  const ordinary = Math.min(half, Math.max(30, 3 * (secondsPerIteration ?? 0)));
  return silentSeconds >= ordinary ? silentSeconds : null;
}

/** "no progress for 12 min" (seconds below two minutes): what status, watch and the heartbeat say. */
export function describeSilence(silentSeconds: number): string {
  const s = Math.round(silentSeconds);
  return s < 120 ? `no progress for ${s} s` : `no progress for ${Math.floor(s / 60)} min`;
}

/** What the watchdog found when it stopped a program. */
export interface StallReport {
  /** s without a new line of output. */
  silentSeconds: number;
  /** s allowed at the time. */
  limitSeconds: number;
  /** The last line the program wrote, or null when it wrote none. */
  lastLine: string | null;
}

export interface StallWatchOptions {
  /** The silence allowed, s, asked for again at every check (it may grow with the observed rate). */
  limitSeconds: number | (() => number);
  /** Called at every check with the silence so far and the limit, s (e.g. to report "no progress"). */
  onCheck?: (silentSeconds: number, limitSeconds: number) => void;
  /** ms since the epoch; injected by tests. */
  now?: () => number;
}

/**
 * The silence of one running program. The runner calls `heard` for every piece of output and
 * `check` from a timer; a caller may read `silentSeconds` for its own reports.
 */
export class StallWatch {
  private lastAt: number;
  private last: string | null = null;
  private readonly clock: () => number;

  constructor(private readonly o: StallWatchOptions) {
    this.clock = o.now ?? Date.now;
    this.lastAt = this.clock();
  }

  /** The limit now, s; non-positive or not finite means no limit. */
  limitSeconds(): number {
    return typeof this.o.limitSeconds === 'function' ? this.o.limitSeconds() : this.o.limitSeconds;
  }

  /** Output arrived; `line` (when a whole non-blank line) becomes the last line quoted in a stall. */
  heard(line?: string): void {
    this.lastAt = this.clock();
    if (line !== undefined) this.last = line;
  }

  /** Starts the silence over, e.g. when the program is started. */
  reset(): void {
    this.lastAt = this.clock();
  }

  silentSeconds(): number {
    return (this.clock() - this.lastAt) / 1000;
  }

  get lastLine(): string | null {
    return this.last;
  }

  /** How often the runner should check, ms: a tenth of the limit, between 0.1 and 5 s. */
  checkEveryMs(): number {
    const limit = this.limitSeconds();
    if (!(limit > 0) || !Number.isFinite(limit)) return 5000;
    return Math.min(5000, Math.max(100, (limit * 1000) / 10));
  }

  /** A report when the silence is longer than the limit, else null. */
  check(): StallReport | null {
    const limit = this.limitSeconds();
    const silent = this.silentSeconds();
    this.o.onCheck?.(silent, limit);
    if (!(limit > 0) || !Number.isFinite(limit) || silent <= limit) return null;
    return { silentSeconds: silent, limitSeconds: limit, lastLine: this.last };
  }
}

/** A watch with a program's default limit (or `override`, s; 0 switches the watchdog off). */
export function defaultStallWatch(program: GuardedProgram, override?: number | null): StallWatch {
  return new StallWatch({ limitSeconds: stallLimitSeconds(STALL_POLICIES[program], null, override) });
}

/** "5 min 12 s", "48 s": a duration for a message. */
export function formatDuration(seconds: number): string {
  if (seconds < 10) return `${Number(seconds.toFixed(1))} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
}
