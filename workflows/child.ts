/**
 * Running a training generation as a child of another workflow (an active-learning loop, a
 * campaign driver), with the same deterministic id a CLI start would use, so the UI shows one
 * generation under one name however it was started.
 */
import { ParentClosePolicy, executeChild } from '@temporalio/workflow';
import { trainWorkflowId } from '../src/domain/naming.js';
import type { TrainPotentialWorkflowInputRaw } from '../src/domain/workflow-input.js';
import { generationDetails, generationSummary } from '../src/domain/generation-story.js';
import { trainPotentialWorkflow, type GenerationResult } from './train-potential.js';

export interface TrainChildOptions {
  /** Defaults to the parent's task queue. */
  taskQueue?: string;
  /**
   * What happens to a running generation when the parent closes. REQUEST_CANCEL (default) stops
   * pacemaker with the loop; ABANDON lets a days-long fit finish on its own.
   */
  parentClosePolicy?: ParentClosePolicy;
}

/**
 * Trains one generation as a child workflow and returns its artifact, or its `selection-only`
 * result when it had a pool but nothing labelled (check with isSelectionOnly).
 */
export async function trainGenerationAsChild(
  input: TrainPotentialWorkflowInputRaw,
  opts: TrainChildOptions = {},
): Promise<GenerationResult> {
  return executeChild(trainPotentialWorkflow, {
    workflowId: trainWorkflowId(input.campaign, input.generation),
    args: [input],
    parentClosePolicy: opts.parentClosePolicy ?? ParentClosePolicy.REQUEST_CANCEL,
    // What the UI lists and shows for the generation, as for one the CLI starts.
    staticSummary: generationSummary(input),
    staticDetails: generationDetails(input),
    ...(opts.taskQueue ? { taskQueue: opts.taskQueue } : {}),
  });
}
