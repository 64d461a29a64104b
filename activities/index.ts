/**
 * Activities: thin adapters from Temporal to the library in src/, one factory per stage,
 * composed here. createActivities(deps) lets tests inject workspace, toolchain and environment;
 * workflows import only the type.
 */
import { join, resolve } from 'node:path';
import { createDatasetActivities } from './dataset.js';
import { createTrainingActivities } from './training.js';
import { createLabellingActivities } from './labelling.js';
import { createEarlyStopActivities } from './early-stop.js';
import { createSelectionActivities } from './selection.js';
import type { ActivityDeps } from './deps.js';

export type { ActivityDeps } from './deps.js';
export type { UpdateDatasetInput } from './dataset.js';
export type { TrainPotentialActivityInput } from './training.js';
export type { CollectLabelledResultsInput, LabelSelectionInput, LabelSelectionResult } from './labelling.js';
export type { FinaliseCheckpointInput } from './early-stop.js';
export type { SelectActiveSetActivityInput, ComputeActiveSetActivityInput, InspectPoolActivityInput } from './selection.js';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createDatasetActivities(deps),
    ...createTrainingActivities(deps),
    ...createLabellingActivities(deps),
    ...createEarlyStopActivities(deps),
    ...createSelectionActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Where a campaign lives under a workspace root: used by tests and the CLI. */
export function campaignPath(workspaceRoot: string, campaign: string, ...rest: string[]): string {
  return join(resolve(workspaceRoot, campaign), ...rest);
}
