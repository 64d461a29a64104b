/** Dataset activities: append labelled results to the campaign's pacemaker dataset. */
import type { TrainerConfig } from '../src/domain/schemas.js';
import type { DatasetSummary } from '../src/dataset/store.js';
import { atBoundary } from './boundary.js';
import { trainerFor, type ActivityDeps } from './deps.js';

export interface UpdateDatasetInput {
  campaign: string;
  generation: number;
  config: TrainerConfig;
  results: string[];
}

export function createDatasetActivities(deps: ActivityDeps) {
  return {
    async updateDataset(input: UpdateDatasetInput): Promise<DatasetSummary> {
      return atBoundary(async () =>
        trainerFor(deps, input.campaign, input.generation, input.config).updateDataset({
          files: input.results,
        }),
      );
    },
  };
}
