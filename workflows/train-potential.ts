/**
 * trainPotentialWorkflow: one training generation, durable across worker crashes and server
 * restarts. Deterministic code only; activities are imported as types.
 *
 * Steps: (check the pool, when one is given) -> update dataset -> train or fine-tune -> compute
 * the new potential's active set -> (select from the pool with the new potential and its active
 * set, when a pool is given).
 * Dataset and selection work goes to the data queue, pacemaker's fit to the training queue (see
 * src/domain/workflow-input.ts), so hosts serve what they can.
 *
 * A generation with a pool but no labelled structures at all (the start of an active-learning
 * campaign) only selects, and returns a `selection-only` result instead of an artifact.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { NON_RETRYABLE_TYPES } from '../src/errors.js';
import { INITIAL_PROGRESS, type Stage } from '../src/domain/progress.js';
import { describeIssues, type ActiveSetSelection } from '../src/domain/schemas.js';
import type { GenerationArtifact, GenerationResult } from '../src/domain/generation-result.js';
import { generationVersion } from '../src/domain/naming.js';
import { headlineForceRmse, resolveTaskQueues, TrainPotentialWorkflowInput, type WorkflowTuning } from '../src/domain/workflow-input.js';
import { SA_CAMPAIGN, SA_ELEMENTS, SA_GENERATION, SA_STAGE, SA_TEST_FORCE_RMSE } from '../src/domain/search-attributes.js';
import { activitySummaries as says, currentDetails, type CurrentState } from '../src/domain/generation-story.js';
import { progressQuery, stopTrainingSignal, trainingProgressSignal, type WorkflowProgress } from '../src/domain/messages.js';

// A generation's result: the trained potential's artifact, or only a selection (see
// src/domain/generation-result.ts); re-exported for the code that imported them from here.
export type { GenerationArtifact, GenerationResult, SelectionOnlyResult } from '../src/domain/generation-result.js';
export { isSelectionOnly } from '../src/domain/generation-result.js';

const retry = (initialInterval: string, maximumInterval: string) => ({
  initialInterval,
  backoffCoefficient: 2,
  maximumInterval,
  maximumAttempts: 10,
  nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES],
});

/** Dataset, selection and checkpoint work: minutes, no heartbeat needed beyond the program's own. */
function dataActivities(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '30 minutes',
    retry: retry('2 seconds', '1 minute'),
  });
}

/** Work on the training host that is short and does not heartbeat (finalising a checkpoint). */
function trainingHostActivities(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '30 minutes',
    retry: retry('2 seconds', '1 minute'),
  });
}

/** Finalising an early stop: a missing checkpoint (stop before the first iteration) does not appear by waiting. */
function finalisingActivities(taskQueue: string) {
  return proxyActivities<Activities>({
    taskQueue,
    startToCloseTimeout: '30 minutes',
    retry: { ...retry('2 seconds', '30 seconds'), maximumAttempts: 3 },
  });
}

function trainingActivities(taskQueue: string, tuning: WorkflowTuning) {
  return proxyActivities<Activities>({
    taskQueue,
    // Fits run for hours to days; a dead worker is noticed through the heartbeat timeout, and
    // the next attempt resumes from the checkpoint the heartbeat carries.
    startToCloseTimeout: `${tuning.trainingTimeoutSeconds} seconds`,
    heartbeatTimeout: `${tuning.heartbeatTimeoutSeconds} seconds`,
    // Cancelling waits until the worker has killed pacemaker's process group, so "cancelled"
    // means nothing of it still runs.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: retry('10 seconds', '5 minutes'),
  });
}

export async function trainPotentialWorkflow(rawInput: unknown): Promise<GenerationResult> {
  let progress: WorkflowProgress = { ...INITIAL_PROGRESS, stopRequested: false, version: null };
  // An object, not a `let`: TypeScript cannot see the signal handler assign it.
  const stop: { reason: string | null } = { reason: null };
  let trainingScope: CancellationScope | null = null;
  // Set once the UI's details are set up: a stop that arrives first shows with the next update.
  let tellStop = (): void => undefined;
  setHandler(progressQuery, () => progress);
  setHandler(stopTrainingSignal, (req) => {
    if (stop.reason !== null) return;
    stop.reason = req?.reason ?? 'stop requested';
    progress = { ...progress, stopRequested: true };
    trainingScope?.cancel();
    tellStop();
  });

  const parsed = TrainPotentialWorkflowInput.safeParse(rawInput, { reportInput: true });
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid workflow input:\n${describeIssues(parsed.error, 'input')}`, 'BadInput');
  }
  const input = parsed.data;
  const queues = resolveTaskQueues(workflowInfo().taskQueue, input.taskQueues);
  const data = dataActivities(queues.data);
  const training = trainingActivities(queues.training, input.tuning);
  const trainingHost = trainingHostActivities(queues.training);
  const finalising = finalisingActivities(queues.training);
  progress = { ...progress, version: generationVersion(input.generation) };

  // The UI's current details follow the stages and what each step left (not history events).
  const story: CurrentState = { stage: progress.stage, at: new Date().toISOString() };
  const tell = (update: Partial<CurrentState>) => {
    Object.assign(story, update, { at: new Date().toISOString(), stopRequested: stop.reason !== null });
    setCurrentDetails(currentDetails(story));
  };
  tell({});
  tellStop = () => tell({});
  // The training activity sends its progress sparingly (see ProgressUpdate); live figures stay in its heartbeats.
  setHandler(trainingProgressSignal, (update) => {
    if (progress.stage !== 'training') return;
    progress = { ...progress, iteration: update.iteration, maxiter: update.maxiter, loss: update.loss, energyRmse: update.energyRmse, forceRmse: update.forceRmse, etaSeconds: update.etaSeconds, silentSeconds: update.silentSeconds ?? null, stallLimitSeconds: update.stallLimitSeconds ?? null };
    tell({ training: update });
  });
  const setStage = (stage: Stage) => {
    progress = { ...progress, stage };
    upsertSearchAttributes([{ key: SA_STAGE, value: stage }]);
    tell({ stage });
  };
  upsertSearchAttributes([
    { key: SA_CAMPAIGN, value: input.campaign },
    { key: SA_GENERATION, value: input.generation },
    { key: SA_ELEMENTS, value: [...input.config.pacemaker.elements] },
  ]);
  const p = input.config.pacemaker;
  upsertMemo({
    config: `${p.elements.join('-')} cutoff ${p.cutoff} Å, order ${p.order}, ${p.functions_per_element} functions/element, max_epochs ${p.max_epochs}, ${p.evaluator}`,
    fineTunedFrom: input.parentVersion ?? input.initialPotential ?? null,
    queues: `data ${queues.data}, training ${queues.training}`,
  });

  try {
    // A pool that is missing, unreadable, empty or has elements the config lacks fails here, in
    // seconds and before the dataset changes, not after hours of training when the selection
    // reads it. Generations started before this check replay without it.
    if (input.pool !== null && patched('pool-check-before-training')) {
      await data.inspectPool.executeWithOptions({ summary: says.inspectPool(input) }, [{ campaign: input.campaign, generation: input.generation, config: input.config, pool: input.pool }]);
    }
    setStage('updating-dataset');
    const dataset = await data.updateDataset.executeWithOptions({ summary: says.updateDataset(input) }, [{
      campaign: input.campaign,
      generation: input.generation,
      config: input.config,
      results: input.results,
    }]);
    tell({ dataset: { total: dataset.total, train: dataset.structures.train, test: dataset.structures.test, added: dataset.added, sha256: dataset.sha256 } });
    if (dataset.total === 0) {
      // A pool and nothing labelled yet: the start of an active-learning campaign. Only
      // the selection runs (the unfitted shape of the config, or initialPotential when given);
      // nothing is trained. Generations that failed here before this path existed replay as they ran.
      if (input.pool !== null && patched('selection-only-without-data')) {
        setStage('selecting');
        const selection = await data.selectActiveSet.executeWithOptions({ summary: says.selectActiveSet(input, input.initialPotential ? 'the initial potential' : 'the unfitted shape of the config') }, [{
          campaign: input.campaign,
          generation: input.generation,
          config: input.config,
          pool: input.pool,
          potential: input.initialPotential,
        }]);
        tell({ selection: selectionStory(selection) });
        setStage('done');
        return {
          kind: 'selection-only',
          version: generationVersion(input.generation),
          trained: false,
          reason: `campaign ${input.campaign} has no labelled structures yet: only the selection ran (${selection.indices.length} structures to label); no potential was trained`,
          selection,
          datasetSha256: dataset.sha256,
          timings: { datasetSeconds: dataset.programSeconds },
        };
      }
      throw ApplicationFailure.nonRetryable(
        `campaign ${input.campaign} has no labelled structures: pass result files in input.results (or a pool in input.pool to only select structures to label)`,
        'BadInput',
      );
    }
    const trainingData = {
      trainPath: dataset.trainPath,
      testPath: dataset.testPath,
      sha256: dataset.sha256,
      // Structures known only by their corrected energy: pacemaker fits energy_corrected as stored.
      ...(dataset.fittedEnergy === 'energy_corrected' ? { fittedEnergy: dataset.fittedEnergy } : {}),
    };

    // The structures to label next are chosen from input.pool after training, with the
    // new potential and its active set, so they are the ones this generation's potential
    // extrapolates on. Generations that started before this change selected here, before
    // training, with the potential they started from: patched() keeps them replaying that way.
    const selectBeforeTraining = input.pool !== null && !patched('select-after-training');
    let selection: ActiveSetSelection | null = null;
    if (input.pool !== null && selectBeforeTraining) {
      if (patched('stage-selecting')) setStage('selecting');
      selection = await data.selectActiveSet.executeWithOptions({ summary: says.selectActiveSet(input, 'the initial potential') }, [{
        campaign: input.campaign,
        generation: input.generation,
        config: input.config,
        pool: input.pool,
        potential: input.initialPotential,
      }]);
    }

    setStage('training');
    progress = { ...progress, maxiter: p.max_epochs };
    let artifact: GenerationArtifact;
    let kept: GenerationArtifact['stoppedEarly'] | undefined;
    if (stop.reason !== null) {
      throw ApplicationFailure.nonRetryable(`stopTraining arrived before training started (${stop.reason}): nothing to keep`, 'Cancelled');
    }
    trainingScope = new CancellationScope();
    try {
      artifact = await trainingScope.run(() =>
        training.trainPotential.executeWithOptions({ summary: says.trainPotential(input, dataset.total) }, [{
          campaign: input.campaign,
          generation: input.generation,
          config: input.config,
          data: trainingData,
          initialPotential: input.initialPotential,
          parentVersion: input.parentVersion,
          ...(input.fineTune !== undefined ? { fineTune: input.fineTune } : {}),
          ...(input.tuning.stallTimeoutSeconds !== undefined ? { stallTimeoutSeconds: input.tuning.stallTimeoutSeconds } : {}),
        }]),
      );
    } catch (err) {
      // Only our own stop turns a cancelled fit into a result; a workflow cancel propagates.
      if (stop.reason === null || !isCancellation(err) || CancellationScope.current().consideredCancelled) throw err;
      setStage('converting');
      const fromCheckpoint = await finalising.finaliseCheckpoint.executeWithOptions({ summary: says.finaliseCheckpoint(stop.reason) }, [{
        campaign: input.campaign,
        generation: input.generation,
        config: input.config,
        data: trainingData,
        parentVersion: input.parentVersion,
      }]);
      kept = { ...fromCheckpoint.stoppedEarly, reason: stop.reason };
      artifact = { ...fromCheckpoint, stoppedEarly: kept };
    }

    // The UI's stage column follows this step too; patched() keeps generations that were
    // already past this point when the line was added replaying as they ran.
    tell({ potential: potentialStory(artifact) });
    if (patched('stage-active-set')) setStage('active-set');
    // The new potential's active set: pace_activeset writes the .asi beside the .yace,
    // on the training host that holds the files; too little data leaves it null with a warning.
    artifact = {
      ...(await trainingHost.computeActiveSet.executeWithOptions({ summary: says.computeActiveSet(input) }, [{
        artifact,
        data: trainingData,
        ...(input.pool ? { memoryLimit: input.pool.memoryLimit } : {}),
      }])),
      selection,
    };
    tell({ activeSet: { path: artifact.activeSet?.path ?? null, warning: artifact.activeSetWarning ?? null } });

    // Later steps may rebuild the artifact; the early-stop record must survive them.
    if (kept) artifact = { ...artifact, stoppedEarly: kept };

    if (input.pool !== null && !selectBeforeTraining) {
      setStage('selecting');
      // The new potential and its .asi; none (under-determined data) selects without -a, so
      // pace_select works from the pool's own projections.
      selection = await data.selectActiveSet.executeWithOptions({ summary: says.selectActiveSet(input, `${generationVersion(input.generation)}'s new potential`) }, [{
        campaign: input.campaign,
        generation: input.generation,
        config: input.config,
        pool: input.pool,
        potential: artifact.potentialYaml,
        activeSet: artifact.activeSet?.path ?? null,
      }]);
      artifact = { ...artifact, selection };
      tell({ selection: selectionStory(selection) });
    }

    const rmse = headlineForceRmse(artifact.metrics);
    progress = {
      ...progress,
      iteration: artifact.metrics.train.iterations,
      loss: artifact.metrics.train.loss,
      energyRmse: artifact.metrics.train.energy_rmse_mev_per_atom,
      forceRmse: artifact.metrics.train.force_rmse_mev_per_a,
      etaSeconds: 0,
    };
    upsertSearchAttributes([{ key: SA_TEST_FORCE_RMSE, value: rmse }]);
    tell({ potential: potentialStory(artifact) });
    setStage('done');
    // The dataset step's program time joins the trainer's, so callers see where time went.
    return { ...artifact, kind: 'potential', timings: { ...artifact.timings, datasetSeconds: dataset.programSeconds } };
  } catch (err) {
    // The UI's stage column shows where it failed; a cancel is recorded as such by Temporal.
    if (!isCancellation(err)) setStage('failed');
    throw err;
  }
}

function potentialStory(a: GenerationArtifact): CurrentState['potential'] {
  return {
    path: a.path,
    testForceRmse: a.metrics.test?.force_rmse_mev_per_a ?? null,
    testEnergyRmse: a.metrics.test?.energy_rmse_mev_per_atom ?? null,
    trainForceRmse: a.metrics.train.force_rmse_mev_per_a,
  };
}

function selectionStory(x: ActiveSetSelection): CurrentState['selection'] {
  return { chosen: x.indices.length, poolSize: x.poolSize, byPaceSelect: x.counts.pace_select, byGamma: x.counts.gamma, ...(x.counts.random ? { byRandom: x.counts.random } : {}), selected: x.selected.path };
}
