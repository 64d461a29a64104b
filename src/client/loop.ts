/** Starting an active-learning loop from outside a workflow (the CLI's demo, scripts). */
import { WorkflowIdConflictPolicy, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { ActiveLearningLoopInputRaw } from '../domain/workflow-input.js';
import { loopStaticDetails, loopSummary } from '../domain/generation-story.js';

export const LOOP_WORKFLOW_TYPE = 'activeLearningLoopWorkflow';

/** One loop per campaign: a second start attaches to the running one. */
export function loopWorkflowId(campaign: string): string {
  return `loop-${campaign}`;
}

export async function startLoop(client: Client, input: ActiveLearningLoopInputRaw, taskQueue: string): Promise<WorkflowHandleWithFirstExecutionRunId> {
  return client.workflow.start(LOOP_WORKFLOW_TYPE, {
    taskQueue,
    workflowId: loopWorkflowId(input.campaign),
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    // What the Temporal UI shows for the loop itself: its list line and its page's details.
    staticSummary: loopSummary(input),
    staticDetails: loopStaticDetails(input),
  });
}
