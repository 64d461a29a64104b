/**
 * The queries and signals of this project's workflows, defined once for both sides: workflows
 * set their handlers with these definitions and clients (CLI, scripts, tests) send them, so a
 * name or payload type cannot drift between the two. Pure: workflow code imports it.
 *
 * The names are on the wire and stay as they are: recorded histories, running workflows and the
 * Temporal UI's Send Signal / Query use them.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { TrainingProgress } from './progress.js';
import type { GenerationSummary } from './workflow-input.js';
import type { ProgressUpdate } from './generation-story.js';

/**
 * What trainPotentialWorkflow itself knows: the stage, the final metrics, whether a stop was
 * asked for. Iteration, loss, RMSE and ETA while pacemaker runs live in the training activity's
 * heartbeat details (no history events); src/client/train.ts readProgress merges the two.
 */
export type WorkflowProgress = TrainingProgress & { stopRequested: boolean; version: string | null };

/** trainPotentialWorkflow's view of its generation. */
export const progressQuery = defineQuery<WorkflowProgress>('progress');

/** "Stop training now and keep the best potential so far" (also from the UI's Send Signal). */
export interface StopTrainingRequest {
  reason?: string;
}

/** Ends pacemaker early; the newest checkpoint becomes the generation's potential. */
export const stopTrainingSignal = defineSignal<[StopTrainingRequest?]>('stopTraining');

/** activeLearningLoopWorkflow's position: the generation running now and those finished. */
export interface LoopProgress {
  generation: number | null;
  finished: GenerationSummary[];
}

export const loopProgressQuery = defineQuery<LoopProgress>('loopProgress');

/**
 * The training activity's sparse progress reports to its workflow (each one is a history event),
 * so the workflow's current details in the UI can show iteration, loss, RMSE, ETA or a stall.
 */
export const trainingProgressSignal = defineSignal<[ProgressUpdate]>('trainingProgress');
