/**
 * activeLearningLoopWorkflow: runs generation after generation as child workflows. Without a
 * labeller, its labelling step only collects result files another stage prepared; each
 * generation fine-tunes the previous one's potential; it stops on a target force RMSE or a
 * generation count, and continues as new when the server suggests it (long loops would
 * otherwise grow one history without bound). With a pool, each generation also selects the
 * structures to label next; a generation with nothing labelled yet only selects, trains nothing,
 * and the next one trains from scratch.
 *
 * With a labeller (the oracle) the loop closes: generation g+1 first labels what generation g
 * selected (an activity on the data queue, idempotent, retried), then updates the dataset with
 * those labels, fine-tunes, and selects from the pool without what was labelled. Inputs without
 * a labeller schedule exactly what they did before, so running loops replay unchanged.
 */
import {
  ApplicationFailure,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
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
import { isSelectionOnly } from '../src/domain/generation-result.js';
import { activitySummaries, loopDetails } from '../src/domain/generation-story.js';
import { loopProgressQuery } from '../src/domain/messages.js';
import { elementsOutside } from '../src/domain/labeller.js';

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
  const tell = () =>
    setCurrentDetails(
      loopDetails({ campaign: input.campaign, running: current, maxGenerations: input.maxGenerations, targetForceRmse: input.targetForceRmse, finished, at: new Date().toISOString() }),
    );
  tell();

  const queues = resolveTaskQueues(workflowInfo().taskQueue, input.taskQueues);
  const labelling = proxyActivities<Activities>({
    taskQueue: queues.data,
    startToCloseTimeout: '5 minutes',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
  });
  // Labelling runs as long as its calculator needs (DFT: hours); a dead worker is noticed by
  // the missed heartbeat, and the retry labels only what is missing.
  const oracle = proxyActivities<Activities>({
    taskQueue: queues.data,
    startToCloseTimeout: '7 days',
    heartbeatTimeout: `${input.tuning.heartbeatTimeoutSeconds} seconds`,
    retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
  });
  const labeller = input.labeller ?? null;
  if (labeller !== null) {
    const outside = elementsOutside(labeller, input.config.pacemaker.elements);
    if (outside.length > 0) {
      throw ApplicationFailure.nonRetryable(
        `invalid workflow input:\ninput.labeller.calculator: ${labeller.calculator} cannot label ${outside.join(', ')} (config.pacemaker.elements)`,
        'BadInput',
      );
    }
  }

  let pool = input.pool ?? null;
  let initialPotential = input.initialPotential;
  let parentVersion = input.parentVersion;
  let ranThisRun = 0;
  for (let g = input.startGeneration; g < input.maxGenerations; g++) {
    current = g;
    tell();
    // With a pool and nothing trained yet, a generation may have nothing labelled: it only selects.
    // A loop that starts from a potential (initialPotential, or a continued loop's last one) has
    // trained before, so a missing labelled folder stays an error there.
    const nothingTrainedYet = initialPotential === null && finished.every((f) => f.path === null);
    // The closed loop: label what the previous generation selected, into this generation's folder.
    const previous = finished.at(-1)?.selected;
    let labelled: number | undefined;
    if (labeller !== null && pool !== null && previous !== undefined) {
      const summary = activitySummaries.labelSelection(g, labeller.calculator);
      const done = await oracle.labelSelection.executeWithOptions({ summary }, [{
        campaign: input.campaign,
        generation: g,
        labelledDir: input.labelledDir,
        selected: previous,
        pool: pool.path,
        labeller,
      }]);
      labelled = done.records;
      pool = done.remainingPoolSize > 0 ? { ...pool, path: done.remainingPool } : null;
    }
    const results = await labelling.collectLabelledResults.executeWithOptions({ summary: activitySummaries.collectLabelledResults(g) }, [{
      labelledDir: input.labelledDir,
      generation: g,
      ...(pool !== null && nothingTrainedYet ? { allowNone: true } : {}),
    }]);
    const result = await trainGenerationAsChild({
      campaign: input.campaign,
      generation: g,
      config: input.config,
      results,
      initialPotential,
      parentVersion,
      ...(pool !== null ? { pool } : {}),
      ...(input.taskQueues ? { taskQueues: input.taskQueues } : {}),
      tuning: input.tuning,
    });
    let rmse: number | null = null;
    // Only a closed loop records what it labelled and selected from (older histories stay as they were).
    const closed = labeller !== null ? { ...(labelled !== undefined ? { labelled } : {}), ...(pool !== null ? { pool: pool.path } : {}) } : {};
    if (isSelectionOnly(result)) {
      // Nothing trained: nothing new to fine-tune from, so the next generation starts from the
      // same potential as this one (none: it trains from scratch).
      finished.push({ version: result.version, forceRmse: null, path: null, selected: result.selection.selected.path, ...closed });
    } else {
      rmse = headlineForceRmse(result.metrics);
      finished.push({
        version: result.version,
        forceRmse: rmse,
        path: result.path,
        ...(result.selection ? { selected: result.selection.selected.path } : {}),
        ...closed,
      });
      initialPotential = result.potentialYaml;
      parentVersion = result.version;
    }
    ranThisRun++;
    current = null;
    tell();

    if (input.targetForceRmse !== null && rmse !== null && rmse <= input.targetForceRmse) {
      return { campaign: input.campaign, generations: finished, stoppedBecause: 'target-reached', lastPotentialYaml: initialPotential };
    }
    if (labeller !== null && pool === null) {
      return { campaign: input.campaign, generations: finished, stoppedBecause: 'pool-exhausted', lastPotentialYaml: initialPotential };
    }
    const more = g + 1 < input.maxGenerations;
    const due = input.continueAsNewEvery !== null && ranThisRun >= input.continueAsNewEvery;
    if (more && (workflowInfo().continueAsNewSuggested || due)) {
      const next: ActiveLearningLoopInputRaw = {
        ...input,
        startGeneration: g + 1,
        initialPotential,
        parentVersion,
        ...(labeller !== null ? { pool } : {}),
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

