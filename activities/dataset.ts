/** Dataset activities: append labelled results to the campaign's pacemaker dataset. */
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { TrainerConfig } from '../src/domain/schemas.js';
import { CAMPAIGN_LAYOUT } from '../src/domain/naming.js';
import { DatasetStore, type DatasetSummary } from '../src/dataset/store.js';
import { atBoundary } from './boundary.js';
import { campaignDir, type ActivityDeps } from './deps.js';

export interface UpdateDatasetInput {
  campaign: string;
  generation: number;
  config: TrainerConfig;
  results: string[];
}

/**
 * The campaign's dataset store: new structures split by the config's `test_size`, and
 * `energy_corrected` written when the config gives reference energies (not `auto`).
 */
export function datasetStoreFor(deps: ActivityDeps, campaign: string, config: TrainerConfig): DatasetStore {
  const dir = campaignDir(deps, campaign);
  const reference = config.pacemaker.reference_energy;
  return new DatasetStore(
    join(dir, CAMPAIGN_LAYOUT.dataset),
    { python: deps.toolchain.python, logFile: join(dir, 'logs', 'dataset.log') },
    { testFraction: config.pacemaker.test_size, ...(reference !== 'auto' ? { referenceEnergy: reference } : {}) },
  );
}

export function createDatasetActivities(deps: ActivityDeps) {
  return {
    /**
     * Validates and appends the results not yet in the dataset. Idempotent: a retried attempt
     * or a re-sent batch adds nothing (content-hash deduplication), so retries are safe.
     */
    async updateDataset(input: UpdateDatasetInput): Promise<DatasetSummary> {
      return atBoundary(async () => {
        const info = Context.current().info;
        const wf = info.workflowExecution;
        return datasetStoreFor(deps, input.campaign, input.config).appendFiles(input.results, input.config.pacemaker.elements, {
          via: 'activity',
          ...(wf ? { workflowId: wf.workflowId, runId: wf.runId } : {}),
          generation: input.generation,
          attempt: info.attempt,
        });
      });
    },
  };
}
