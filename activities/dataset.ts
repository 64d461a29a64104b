/** Dataset activities: append labelled results to the campaign's pacemaker dataset. */
import { Context } from '@temporalio/activity';
import type { TrainerConfig } from '../src/domain/schemas.js';
import type { DatasetSummary } from '../src/dataset/store.js';
import { atBoundary } from './boundary.js';
import { trainerFor, type ActivityDeps } from './deps.js';
import { withStageRecord } from './stage-record.js';

export interface UpdateDatasetInput {
  campaign: string;
  generation: number;
  config: TrainerConfig;
  results: string[];
}

export function createDatasetActivities(deps: ActivityDeps) {
  return {
    /**
     * Validates and appends the results not yet in the dataset. Idempotent: a retried attempt
     * or a re-sent batch adds nothing (content-hash deduplication), so retries are safe.
     */
    async updateDataset(input: UpdateDatasetInput): Promise<DatasetSummary> {
      return atBoundary(() => withStageRecord(deps, { ...input, stage: 'updating-dataset' }, async () => {
        const info = Context.current().info;
        const wf = info.workflowExecution;
        return trainerFor(deps, input.campaign, input.generation, input.config).updateDataset(input.results, {
          via: 'activity',
          ...(wf ? { workflowId: wf.workflowId, runId: wf.runId } : {}),
          generation: input.generation,
          attempt: info.attempt,
        });
      }));
    },
  };
}
