/**
 * What the workflows take beyond one generation's training input: routing to worker hosts and
 * the loop's settings. Pure (zod only), so workflow code validates its own input with it.
 */
import { z } from 'zod';
import { SelectionPool, TrainPotentialInput, TrainerConfig } from './schemas.js';

/**
 * Task queues per capability. Absent fields derive from the workflow's own task queue `Q`:
 * dataset and selection work on `Q`, training on `Q-training`. Naming one host's queue for both
 * pins a campaign to that host (sites without a shared file system).
 */
export const TaskQueues = z
  .object({
    data: z.string().min(1).optional(),
    training: z.string().min(1).optional(),
  })
  .strict();
export type TaskQueues = z.infer<typeof TaskQueues>;

/** The training queue that goes with a workflow/data queue. */
export function trainingQueueFor(queue: string): string {
  return `${queue}-training`;
}

export function resolveTaskQueues(own: string, q: TaskQueues | undefined): { data: string; training: string } {
  const data = q?.data ?? own;
  return { data, training: q?.training ?? trainingQueueFor(q?.data ?? own) };
}

/** Activity timeouts a site may tune; the defaults suit fits that run for hours to days. */
export const WorkflowTuning = z
  .object({
    /**
     * s; a dead training worker is noticed after this long without a heartbeat. Keep it well
     * above the worker's heartbeat period (5 s by default).
     */
    heartbeatTimeoutSeconds: z.number().min(1).max(3600).default(120),
    /** s; the longest a single training attempt may run (7 days). */
    trainingTimeoutSeconds: z.number().min(10).default(7 * 24 * 3600),
  })
  .strict();
export type WorkflowTuning = z.infer<typeof WorkflowTuning>;

/** trainPotentialWorkflow's one JSON object: a generation plus optional routing and tuning. */
export const TrainPotentialWorkflowInput = TrainPotentialInput.extend({
  taskQueues: TaskQueues.optional(),
  tuning: WorkflowTuning.prefault({}),
});
export type TrainPotentialWorkflowInput = z.infer<typeof TrainPotentialWorkflowInput>;
export type TrainPotentialWorkflowInputRaw = z.input<typeof TrainPotentialWorkflowInput>;

/** activeLearningLoopWorkflow's input. */
export const ActiveLearningLoopInput = z
  .object({
    campaign: TrainPotentialInput.shape.campaign,
    config: TrainerConfig,
    /** The first generation this run trains (continue-as-new carries it on). */
    startGeneration: z.number().int().min(0).max(999).default(0),
    /** Stop after this many generations in total, counted from generation 0. */
    maxGenerations: z.number().int().min(1).max(1000),
    /** meV/Å per component: stop once a generation's test force RMSE (train when no test set) is at or below it. */
    targetForceRmse: z.number().positive().nullable().default(null),
    /**
     * Folder with prepared labelled results, `<labelledDir>/generation_NNN/*.json[l]`: the
     * labelling stage (another project) writes them; this loop only reads them.
     */
    labelledDir: z.string().min(1),
    /** Potential YAML to fine-tune the first generation of this run from. */
    initialPotential: z.string().min(1).nullable().default(null),
    parentVersion: z.string().nullable().default(null),
    /**
     * Candidates every generation selects from for the next labelling round. While no
     * generation of the loop has trained, a generation without labelled results (its folder
     * missing or empty) only selects (`selection-only`) and the next one trains from scratch.
     */
    pool: SelectionPool.nullable().optional(),
    taskQueues: TaskQueues.optional(),
    tuning: WorkflowTuning.prefault({}),
    /** Generations finished by earlier runs (continue-as-new), newest last; kept short. */
    history: z
      .array(
        z
          .object({ version: z.string(), forceRmse: z.number().nullable(), path: z.string().nullable(), selected: z.string().optional() })
          .strict(),
      )
      .default([]),
    /** Continue as new after this many generations even if the server does not suggest it (tests, tiny histories). */
    continueAsNewEvery: z.number().int().min(1).nullable().default(null),
  })
  .strict();
export type ActiveLearningLoopInput = z.infer<typeof ActiveLearningLoopInput>;
export type ActiveLearningLoopInputRaw = z.input<typeof ActiveLearningLoopInput>;

export interface GenerationSummary {
  version: string;
  /** meV/Å, test set when there is one, else train; null when nothing was trained. */
  forceRmse: number | null;
  /** The `.yace` file; null for a selection-only generation (no potential trained). */
  path: string | null;
  /** The structures selected from the pool for labelling (dataset pickle), when a pool was given. */
  selected?: string | undefined;
}

export interface ActiveLearningLoopResult {
  campaign: string;
  generations: GenerationSummary[];
  stoppedBecause: 'target-reached' | 'max-generations';
  /** Potential YAML of the last generation: the next loop's initial potential. */
  lastPotentialYaml: string | null;
}

/** Test force RMSE when pacemaker tested, else train: what the loop and the UI compare. */
export function headlineForceRmse(metrics: { train: { force_rmse_mev_per_a: number }; test: { force_rmse_mev_per_a: number } | null }): number {
  return metrics.test?.force_rmse_mev_per_a ?? metrics.train.force_rmse_mev_per_a;
}
