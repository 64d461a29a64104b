/**
 * activeLearningLoopWorkflow: an example driver that runs generation after generation as child
 * workflows. Its labelling step only collects result files another stage prepared; each
 * generation fine-tunes the previous one's potential; it stops on a target force RMSE or a
 * generation count, and continues as new when the server suggests it (long loops would
 * otherwise grow one history without bound).
 */
import {
  ApplicationFailure,
  continueAsNew,
  defineQuery,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { NON_RETRYABLE_TYPES } from '../src/errors.js';
import { describeIssues } from '../src/domain/schemas.js';
import {
  ActiveLearningLoopInput,
  headlineForceRmse,
  resolveTaskQueues,
  type ActiveLearningLoopInputRaw,
  type ActiveLearningLoopResult,
  type GenerationSummary,
} from '../src/domain/workflow-input.js';
import { trainGenerationAsChild } from './child.js';

export interface LoopProgress {
  generation: number | null;
  finished: GenerationSummary[];
}

export const loopProgressQuery = defineQuery<LoopProgress>('loopProgress');

/** Generations kept in the input carried across continue-as-new: enough for the UI, bounded. */
const HISTORY_KEPT = 20;

export async function activeLearningLoopWorkflow(rawInput: unknown): Promise<ActiveLearningLoopResult> {
  const parsed = ActiveLearningLoopInput.safeParse(rawInput, { reportInput: true });
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid workflow input:\n${describeIssues(parsed.error, 'input')}`, 'BadInput');
  }
  const input = parsed.data;
  const finished: GenerationSummary[] = [...input.history];
  let current: number | null = null;
  setHandler(loopProgressQuery, () => ({ generation: current, finished }));

  const queues = resolveTaskQueues(workflowInfo().taskQueue, input.taskQueues);
  const labelling = proxyActivities<Activities>({
    taskQueue: queues.data,
    startToCloseTimeout: '5 minutes',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
  });

  let initialPotential = input.initialPotential;
  let parentVersion = input.parentVersion;
  let ranThisRun = 0;
  for (let g = input.startGeneration; g < input.maxGenerations; g++) {
    current = g;
    const results = await labelling.collectLabelledResults({ labelledDir: input.labelledDir, generation: g });
    const artifact = await trainGenerationAsChild({
      campaign: input.campaign,
      generation: g,
      config: input.config,
      results,
      initialPotential,
      parentVersion,
      ...(input.taskQueues ? { taskQueues: input.taskQueues } : {}),
      tuning: input.tuning,
    });
    const rmse = headlineForceRmse(artifact.metrics);
    finished.push({ version: artifact.version, forceRmse: rmse, path: artifact.path });
    initialPotential = artifact.potentialYaml;
    parentVersion = artifact.version;
    ranThisRun++;
    current = null;

    if (input.targetForceRmse !== null && rmse <= input.targetForceRmse) {
      return { campaign: input.campaign, generations: finished, stoppedBecause: 'target-reached', lastPotentialYaml: initialPotential };
    }
    const more = g + 1 < input.maxGenerations;
    const due = input.continueAsNewEvery !== null && ranThisRun >= input.continueAsNewEvery;
    if (more && (workflowInfo().continueAsNewSuggested || due)) {
      const next: ActiveLearningLoopInputRaw = {
        ...input,
        startGeneration: g + 1,
        initialPotential,
        parentVersion,
        history: finished.slice(-HISTORY_KEPT),
      };
      await continueAsNew<typeof activeLearningLoopWorkflow>(next);
    }
  }
  return {
    campaign: input.campaign,
    generations: finished,
    stoppedBecause: 'max-generations',
    lastPotentialYaml: initialPotential,
  };
}

