/** Records an activity's start and end in the generation's stage journal (src/campaign/stage-journal.ts). */
import { Context } from '@temporalio/activity';
import {
  appendStageEvent,
  stageJournalPath,
  type JournalStage,
  type StageEvent,
} from '../src/campaign/stage-journal.js';
import { campaignDir, type ActivityDeps } from './deps.js';

export async function withStageRecord<T>(
  deps: ActivityDeps,
  where: ({ campaign: string; generation: number } | { journal: string }) & {
    stage: JournalStage;
    start?: StageEvent['start'];
  },
  fn: () => Promise<T>,
): Promise<T> {
  const info = Context.current().info;
  const file =
    'journal' in where
      ? where.journal
      : stageJournalPath(campaignDir(deps, where.campaign), where.generation);
  const base = {
    stage: where.stage,
    attempt: info.attempt,
    ...(info.workflowExecution ? { workflowId: info.workflowExecution.workflowId } : {}),
  };
  await appendStageEvent(file, {
    ...base,
    event: 'start',
    ...(where.start ? { start: where.start } : {}),
  });
  try {
    const result = await fn();
    await appendStageEvent(file, { ...base, event: 'end', outcome: 'completed' });
    return result;
  } catch (err) {
    const cancelled = Context.current().cancellationSignal.aborted;
    const failure = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
    await appendStageEvent(file, {
      ...base,
      event: 'end',
      outcome: cancelled ? 'cancelled' : 'failed',
      failure,
    });
    throw err;
  }
}
