/**
 * Running pacemaker for one planned run: its input files written, the program started with its
 * process group recorded in the pid file (so a later attempt can stop it if this worker dies),
 * its interim potential copied to a checkpoint as it changes, its log lines turned into
 * progress, and its silence watched (a run that logs nothing for longer than the stall limit is
 * stopped; a long silence is reported as "no progress"). Executes a plan (see planRun); decides
 * nothing about the next run.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { INITIAL_PROGRESS, advanceProgress, type TrainingProgress } from '../domain/progress.js';
import type { Toolchain } from '../pacemaker/toolchain.js';
import { runOrFail } from '../process/run-program.js';
import { noProgressSeconds, STALL_POLICIES, stallLimitSeconds, StallWatch } from '../process/stall.js';
import { writeFileAtomic } from '../util/files.js';
import { CheckpointKeeper } from './checkpoint.js';
import { withFitCycles, type FitCheckpoint } from './fit-position.js';
import { RESUME_FILE, runArgs, type RunPlan } from './run-plan.js';
import { ownsFolder, removePidFile, writePidFile, type RunOwner } from './stale-process.js';

/**
 * The progress of a generation's training, told to `onProgress` on every change. Its planned
 * iterations grow with the ladder steps pacemaker's log reveals.
 */
export class TrainingReport {
  current: TrainingProgress;
  /** Ladder steps of the whole fit, as estimated so far. */
  ladderSteps: number;

  constructor(
    private readonly onProgress: ((p: TrainingProgress) => void) | undefined,
    /** Iterations of one ladder step: maxiter times the fit cycles. */
    private readonly iterationsPerStep: number,
    ladderSteps: number,
    first: Partial<TrainingProgress>,
  ) {
    this.ladderSteps = ladderSteps;
    this.current = { ...INITIAL_PROGRESS, maxiter: this.plannedIterations, ...first };
    onProgress?.(this.current);
  }

  get plannedIterations(): number {
    return this.ladderSteps * this.iterationsPerStep;
  }

  update(p: Partial<TrainingProgress>): void {
    this.current = { ...this.current, ...p };
    this.onProgress?.(this.current);
  }
}

/**
 * Writes the run's input.yaml and, when it resumes, the copy of the checkpoint it reads (with
 * `_fit_cycles` of the cycle it enters; the checkpoint stays as pacemaker wrote it). Returns
 * pacemaker's arguments and where the run's lines of log.txt will start.
 */
export async function writeRunInputs(dir: string, plan: RunPlan, checkpoint: FitCheckpoint | null): Promise<{ args: string[]; logStart: number }> {
  if (checkpoint) await writeFileAtomic(join(dir, RESUME_FILE), withFitCycles(await readFile(checkpoint.path, 'utf8'), plan.resumeFitCycles));
  await writeFileAtomic(join(dir, 'input.yaml'), yaml.dump(plan.input, { noRefs: true, lineWidth: 120 }));
  const logStart = (await stat(join(dir, 'log.txt')).catch(() => null))?.size ?? 0;
  return { args: runArgs(plan), logStart };
}

export interface PacemakerRun {
  /** The generation folder. */
  dir: string;
  toolchain: Toolchain;
  env?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  owner: RunOwner;
  plan: RunPlan;
  /** Its number in the generation (1 for the first run). */
  run: number;
  args: string[];
  /** The inputs the checkpoints belong to (see CheckpointRef.runKey). */
  runKey: string;
  batchSize: number;
  /** s of silence allowed (a site's tuning.stallTimeoutSeconds; 0: no watchdog); absent: pacemaker's default. */
  stallTimeoutSeconds?: number | null;
  /** The checkpoint the run resumes from; newer ones replace it as pacemaker writes them. */
  checkpoint: FitCheckpoint | null;
  report: TrainingReport;
}

/** How a run ended, with the newest checkpoint kept while it ran (or the one it started from). */
export type RunOutcome = { ok: true; durationMs: number; latest: FitCheckpoint | null } | { ok: false; error: unknown; latest: FitCheckpoint | null };

export async function runPacemaker(r: PacemakerRun): Promise<RunOutcome> {
  const { dir, plan, report } = r;
  let pid = -1;
  const keeper = new CheckpointKeeper(dir, {
    runKey: r.runKey,
    offset: plan.offset,
    batchSize: r.batchSize,
    previous: r.checkpoint,
    start: plan.start,
    ladder: plan.ladder,
    owns: () => ownsFolder(dir, pid),
    onCheckpoint: (ref) => report.update({ checkpoint: ref }),
  });
  keeper.start();
  const started = Date.now();
  // 0: no watchdog at all (not even its timer), as a site may ask and the benchmark compares.
  const stall = r.stallTimeoutSeconds === 0 ? null : pacemakerStallWatch(report, r.stallTimeoutSeconds);
  let ended: { ok: true; durationMs: number } | { ok: false; error: unknown };
  try {
    const res = await runOrFail({
      program: 'pacemaker',
      command: [...r.toolchain.command('pacemaker'), ...r.args],
      cwd: dir,
      logFile: join(dir, 'pacemaker.out'),
      ...(r.env ? { env: r.env } : {}),
      ...(r.timeoutMs !== undefined ? { timeoutMs: r.timeoutMs } : {}),
      ...(r.signal ? { signal: r.signal } : {}),
      onSpawn: async (p) => {
        pid = p;
        await writePidFile(dir, r.owner, p);
      },
      onLine: (line) => {
        const it = keeper.onLine(line);
        if (!it) return;
        report.ladderSteps = Math.max(report.ladderSteps, keeper.tracker.estimatedSteps());
        // Counted across the run's cycles and ladder steps (pacemaker numbers each cycle from 1).
        const runIteration = { ...it, iteration: keeper.tracker.runIterations };
        const elapsed = (Date.now() - started) / 1000;
        report.update({
          ...advanceProgress(report.current, runIteration, report.plannedIterations, elapsed, plan.offset),
          checkpoint: keeper.latest,
          run: r.run,
          batchSize: r.batchSize,
          silentSeconds: null,
        });
      },
      ...(stall ? { stall } : {}),
    });
    ended = { ok: true, durationMs: res.durationMs };
  } catch (error) {
    ended = { ok: false, error };
  }
  // A last look at the interim file now that the process has exited; then the folder is free.
  const latest = await keeper.finish();
  if (pid > 0) await removePidFile(dir, pid);
  return { ...ended, latest };
}

/**
 * The watchdog of a fit: pacemaker's floor, or 10 x the seconds per iteration observed so far
 * (or the site's limit); while a silence runs longer than ordinary, the report carries it.
 */
function pacemakerStallWatch(report: TrainingReport, override: number | null | undefined): StallWatch {
  return new StallWatch({
    limitSeconds: () => stallLimitSeconds(STALL_POLICIES.pacemaker, report.current.secondsPerIteration, override),
    onCheck: (silent, limit) => {
      const quiet = noProgressSeconds(silent, limit, report.current.secondsPerIteration);
      const shown = quiet === null ? null : Math.round(quiet);
      if (shown !== (report.current.silentSeconds ?? null) || limit !== report.current.stallLimitSeconds) {
        report.update({ silentSeconds: shown, stallLimitSeconds: limit });
      }
    },
  });
}
