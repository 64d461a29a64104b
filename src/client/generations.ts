/** Finding, listing and steering generations from outside a workflow (CLI `status`, `watch`, `cancel`, `stop`, `list`). */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { trainWorkflowId } from '../domain/naming.js';
import { readProgress, TRAIN_WORKFLOW_TYPE, type LiveProgress } from './train.js';

export interface GenerationStatus {
  workflowId: string;
  runId: string;
  /** Temporal's status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW. */
  status: string;
  campaign: string | null;
  generation: number | null;
  stage: string | null;
  /** meV/Å, set when the generation finished. */
  testForceRmse: number | null;
  startTime: string;
  closeTime: string | null;
  progress: LiveProgress | null;
  /** Attempts of the running activity, when one is being retried. */
  pendingActivities: { type: string; attempt: number; lastFailure: string | null }[];
  /** The artifact of a finished generation. */
  result?: unknown;
  failure?: string;
}

export function generationHandle(client: Client, campaign: string, generation: number): WorkflowHandle {
  return client.workflow.getHandle(trainWorkflowId(campaign, generation));
}

function firstValue(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : v;
}

export async function describeGeneration(handle: WorkflowHandle): Promise<GenerationStatus> {
  const desc = await handle.describe();
  const sa = desc.searchAttributes as Record<string, unknown>;
  const status = desc.status.name;
  const out: GenerationStatus = {
    workflowId: desc.workflowId,
    runId: desc.runId,
    status,
    campaign: (firstValue(sa.MlipCampaign) as string | undefined) ?? null,
    generation: (firstValue(sa.MlipGeneration) as number | undefined) ?? null,
    stage: (firstValue(sa.MlipStage) as string | undefined) ?? null,
    testForceRmse: (firstValue(sa.MlipTestForceRmse) as number | undefined) ?? null,
    startTime: desc.startTime.toISOString(),
    closeTime: desc.closeTime?.toISOString() ?? null,
    progress: status === 'RUNNING' ? await readProgress(handle).catch(() => null) : null,
    pendingActivities: (desc.raw.pendingActivities ?? []).map((a) => ({
      type: a.activityType?.name ?? '?',
      attempt: a.attempt ?? 1,
      lastFailure: a.lastFailure?.message ?? null,
    })),
  };
  if (status === 'COMPLETED') out.result = await handle.result();
  if (status === 'FAILED') {
    try {
      await handle.result();
    } catch (err) {
      const e = err as { message?: string; cause?: { message?: string; cause?: { message?: string } } };
      out.failure = e.cause?.cause?.message ?? e.cause?.message ?? e.message ?? String(err);
    }
  }
  return out;
}

export interface ListedGeneration {
  workflowId: string;
  status: string;
  campaign: string | null;
  generation: number | null;
  stage: string | null;
  testForceRmse: number | null;
  startTime: string;
}

/** Generations from the server's visibility store, newest first, filtered by the search attributes. */
export async function listGenerations(client: Client, o: { campaign?: string; status?: string; limit?: number } = {}): Promise<ListedGeneration[]> {
  const where = [`WorkflowType = '${TRAIN_WORKFLOW_TYPE}'`];
  if (o.campaign) where.push(`MlipCampaign = '${o.campaign.replace(/'/g, '')}'`);
  if (o.status) where.push(`ExecutionStatus = '${o.status.replace(/'/g, '')}'`);
  const out: ListedGeneration[] = [];
  for await (const w of client.workflow.list({ query: where.join(' AND ') })) {
    const sa = w.searchAttributes as Record<string, unknown>;
    out.push({
      workflowId: w.workflowId,
      status: w.status.name,
      campaign: (firstValue(sa.MlipCampaign) as string | undefined) ?? null,
      generation: (firstValue(sa.MlipGeneration) as number | undefined) ?? null,
      stage: (firstValue(sa.MlipStage) as string | undefined) ?? null,
      testForceRmse: (firstValue(sa.MlipTestForceRmse) as number | undefined) ?? null,
      startTime: w.startTime.toISOString(),
    });
    if (out.length >= (o.limit ?? 100)) break;
  }
  return out;
}

/** Asks the workflow to stop pacemaker now and keep the newest checkpoint as the potential. */
export async function stopTrainingEarly(handle: WorkflowHandle, reason?: string): Promise<void> {
  await handle.signal('stopTraining', reason ? { reason } : {});
}
