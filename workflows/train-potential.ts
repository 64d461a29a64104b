/**
 * trainPotentialWorkflow: one training generation, durable across worker crashes and server
 * restarts. Deterministic code only; activities are imported as types.
 */
import { ApplicationFailure, defineQuery, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { NON_RETRYABLE_TYPES } from '../src/errors.js';
import { INITIAL_PROGRESS, type TrainingProgress } from '../src/domain/progress.js';
import { TrainPotentialInput, describeIssues, type PotentialArtifact } from '../src/domain/schemas.js';

export const progressQuery = defineQuery<TrainingProgress>('progress');

const data = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES],
  },
});

const training = proxyActivities<Activities>({
  // Fits run for hours to days; a dead worker is noticed through the heartbeat timeout.
  startToCloseTimeout: '7 days',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '10 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES],
  },
});

export async function trainPotentialWorkflow(rawInput: unknown): Promise<PotentialArtifact> {
  let progress: TrainingProgress = { ...INITIAL_PROGRESS };
  setHandler(progressQuery, () => progress);

  const parsed = TrainPotentialInput.safeParse(rawInput, { reportInput: true });
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid workflow input:\n${describeIssues(parsed.error, 'input')}`, 'BadInput');
  }
  const input = parsed.data;

  progress = { ...progress, stage: 'updating-dataset' };
  const dataset = await data.updateDataset({
    campaign: input.campaign,
    generation: input.generation,
    config: input.config,
    results: input.results,
  });
  if (dataset.total === 0) {
    throw ApplicationFailure.nonRetryable(
      `campaign ${input.campaign} has no labelled structures: pass result files in input.results`,
      'BadInput',
    );
  }

  progress = { ...progress, stage: 'training', maxiter: input.config.pacemaker.max_epochs };
  const artifact = await training.trainPotential({
    campaign: input.campaign,
    generation: input.generation,
    config: input.config,
    data: { trainPath: dataset.trainPath, testPath: dataset.testPath, sha256: dataset.sha256 },
    initialPotential: input.initialPotential,
    parentVersion: input.parentVersion,
  });
  progress = {
    ...progress,
    stage: 'done',
    iteration: artifact.metrics.train.iterations,
    loss: artifact.metrics.train.loss,
    energyRmse: artifact.metrics.train.energy_rmse_mev_per_atom,
    forceRmse: artifact.metrics.train.force_rmse_mev_per_a,
    etaSeconds: 0,
  };
  // The dataset step's program time joins the trainer's, so callers see where time went.
  return { ...artifact, timings: { ...artifact.timings, datasetSeconds: dataset.programSeconds } };
}
