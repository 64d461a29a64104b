/** Finding, listing and steering generations from outside a workflow (CLI `status`, `watch`, `cancel`, `stop`, `list`). */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import { SA_CAMPAIGN, SA_GENERATION, SA_STAGE, SA_TEST_FORCE_RMSE } from '../domain/search-attributes.js';
import { trainWorkflowId } from '../domain/naming.js';
import { stopTrainingSignal } from '../domain/messages.js';
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
  /** The one-line summary it was started with (the UI's list shows it too). */
  summary?: string | null;
  failure?: string;
}

export function generationHandle(client: Client, campaign: string, generation: number): WorkflowHandle {
  return client.workflow.getHandle(trainWorkflowId(campaign, generation));
}

/** The generation's identity and headline figures, from the search attributes it upserted. */
function fromSearchAttributes(sa: TypedSearchAttributes): Pick<GenerationStatus, 'campaign' | 'generation' | 'stage' | 'testForceRmse'> {
  return {
    campaign: sa.get(SA_CAMPAIGN) ?? null,
    generation: sa.get(SA_GENERATION) ?? null,
    stage: sa.get(SA_STAGE) ?? null,
    testForceRmse: sa.get(SA_TEST_FORCE_RMSE) ?? null,
  };
}

export async function describeGeneration(handle: WorkflowHandle): Promise<GenerationStatus> {
  const desc = await handle.describe();
  const status = desc.status.name;
  const out: GenerationStatus = {
    workflowId: desc.workflowId,
    runId: desc.runId,
    status,
    ...fromSearchAttributes(desc.typedSearchAttributes),
    startTime: desc.startTime.toISOString(),
    closeTime: desc.closeTime?.toISOString() ?? null,
    summary: (await desc.staticSummary().catch(() => undefined)) ?? null,
    progress: status === 'RUNNING' ? await readProgress(handle).catch(() => null) : null,
    pendingActivities: (desc.raw.pendingActivities ?? []).map((a) => ({
      type: a.activityType?.name ?? '?',
      attempt: a.attempt ?? 1,
      lastFailure: failureMessage(a.lastFailure),
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

/** One row of `list`: what the visibility store knows, and the summary the generation was started with. */
export type ListedGeneration = Pick<
  GenerationStatus,
  'workflowId' | 'status' | 'campaign' | 'generation' | 'stage' | 'testForceRmse' | 'startTime'
> & { summary: string | null };

/** Generations from the server's visibility store, newest first, filtered by the search attributes. */
export async function listGenerations(client: Client, o: { campaign?: string; status?: string; limit?: number } = {}): Promise<ListedGeneration[]> {
  const where = [`WorkflowType = '${TRAIN_WORKFLOW_TYPE}'`];
  if (o.campaign) where.push(`${SA_CAMPAIGN.name} = '${o.campaign.replace(/'/g, '')}'`);
  if (o.status) where.push(`ExecutionStatus = '${o.status.replace(/'/g, '')}'`);
  const out: ListedGeneration[] = [];
  const runs: { workflowId: string; runId: string }[] = [];
  for await (const w of client.workflow.list({ query: where.join(' AND ') })) {
    out.push({
      workflowId: w.workflowId,
      status: w.status.name,
      ...fromSearchAttributes(w.typedSearchAttributes),
      startTime: w.startTime.toISOString(),
      summary: null,
    });
    runs.push({ workflowId: w.workflowId, runId: w.runId });
    if (out.length >= (o.limit ?? 100)) break;
  }
  // The visibility store lists no user metadata: the summary comes from describing each run.
  await Promise.all(
    runs.map(async (r, i) => {
      const d = await client.workflow.getHandle(r.workflowId, r.runId).describe().catch(() => null);
      out[i]!.summary = (await d?.staticSummary().catch(() => undefined)) ?? null;
    }),
  );
  return out;
}

/** Asks the workflow to stop pacemaker now and keep the newest checkpoint as the potential. */
export async function stopTrainingEarly(handle: WorkflowHandle, reason?: string): Promise<void> {
  await handle.signal(stopTrainingSignal, reason ? { reason } : {});
}

/**
 * The message of an activity's last failure. The server replaces a failure above its size limit
 * (a program's failure quotes its last lines of output) by "Failure exceeds size limit." with the
 * original as its cause: the original is what says what happened.
 */
export function failureMessage(f: FailureLike | null | undefined): string | null {
  let cur = f;
  while (cur?.message === 'Failure exceeds size limit.' && cur.cause) cur = cur.cause;
  return cur?.message ?? null;
}

interface FailureLike {
  message?: string | null;
  cause?: FailureLike | null;
}
