/** Starting and watching training generations from outside a workflow (CLI, scripts). */
import { WorkflowIdConflictPolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { trainWorkflowId } from '../domain/naming.js';
import type { TrainingProgress } from '../domain/progress.js';
import type { GenerationResult } from '../domain/generation-result.js';
import type { TrainPotentialWorkflowInputRaw } from '../domain/workflow-input.js';
import { generationDetails, generationSummary, type StoryExtras } from '../domain/generation-story.js';
import { progressQuery, type WorkflowProgress } from '../domain/messages.js';

export const TRAIN_WORKFLOW_TYPE = 'trainPotentialWorkflow';

/**
 * Starts a generation, or attaches to it when one with the same campaign and generation is
 * already running, so a repeated command never trains twice. The UI lists it with a one-line
 * summary and shows its details (see generation-story.ts); `story` adds what the caller knows.
 */
export async function startTraining(
  client: Client,
  input: TrainPotentialWorkflowInputRaw,
  taskQueue: string,
  story: StoryExtras = {},
): Promise<WorkflowHandle> {
  return client.workflow.start(TRAIN_WORKFLOW_TYPE, {
    taskQueue,
    workflowId: trainWorkflowId(input.campaign, input.generation),
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    staticSummary: generationSummary(input, story),
    staticDetails: generationDetails(input, story),
  });
}

/**
 * Progress as precisely as it is known: the workflow's `progress` query for the stage, and the
 * training activity's last heartbeat for iteration, loss and RMSE (heartbeats add no history).
 */
export async function readProgress(handle: WorkflowHandle): Promise<LiveProgress | null> {
  let fromQuery: LiveProgress | null = null;
  try {
    fromQuery = await handle.query(progressQuery);
  } catch {
    fromQuery = null;
  }
  const desc = await handle.describe();
  const retried = (desc.raw.pendingActivities ?? []).find((a) => (a.attempt ?? 1) > 1);
  const retry = retried ? { activity: retried.activityType?.name ?? '?', attempt: retried.attempt ?? 1, lastFailure: retried.lastFailure?.message ?? null } : null;
  if (fromQuery) fromQuery = { ...fromQuery, retry };
  for (const act of desc.raw.pendingActivities ?? []) {
    const payload = act.heartbeatDetails?.payloads?.[0];
    if (!payload) continue;
    const beat = defaultPayloadConverter.fromPayload<TrainingProgress | null>(payload);
    // The workflow's stage wins once training is over (a stale beat would say 'training').
    if (beat && beat.iteration !== null) {
      const merged: LiveProgress = { ...(fromQuery ?? { stopRequested: false, version: null }), ...beat, retry };
      return fromQuery && fromQuery.stage !== 'training' ? { ...merged, stage: fromQuery.stage } : merged;
    }
  }
  return fromQuery;
}

/**
 * The workflow's own view (stage, stop requested) merged with the last training heartbeat, and
 * the activity being retried, if any.
 */
export type LiveProgress = WorkflowProgress & {
  retry?: { activity: string; attempt: number; lastFailure: string | null } | null;
};

/**
 * The generation's result: its artifact, or a `selection-only` result when it had a pool and
 * nothing labelled (isSelectionOnly tells them apart).
 */
export async function waitForArtifact(
  handle: WorkflowHandle,
  onProgress?: (p: LiveProgress) => void,
  pollMs = 1000,
): Promise<GenerationResult> {
  const result = handle.result() as Promise<GenerationResult>;
  if (!onProgress) return result;
  let done = false;
  void result.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done) {
    const p = await readProgress(handle).catch(() => null);
    if (p && !done) onProgress(p);
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, pollMs))]);
  }
  return result;
}
