// The trainPotential activity on its own (MockActivityEnvironment, no server): a retried
// attempt takes its checkpoint from Temporal's heartbeatDetails, and heartbeats carry the
// checkpoint it keeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createTrainingActivities } from '../../../activities/training.js';
import { simulatorToolchain } from '../../../src/pacemaker/toolchain.js';
import type { TrainingProgress } from '../../../src/domain/progress.js';
import { TrainerConfig, type PotentialArtifact } from '../../../src/domain/schemas.js';
import { CHECKPOINT_RECORD, type FitCheckpoint } from '../../../src/trainer/checkpoint.js';
import { iterationLog, makeCampaign, runsOf, SMALL, type Campaign } from '../trainer/helpers.js';

type ActivityInput = Parameters<ReturnType<typeof createTrainingActivities>['trainPotential']>[0];

/**
 * Runs attempt 1 of trainPotential with the simulator crashing once at global iteration
 * `crashAt`; returns its heartbeats and a runner for further attempts with the same workers' deps.
 */
async function firstAttemptCrashes(c: Campaign, crashAt: number, input: ActivityInput) {
  const iterLog = join(c.dir, 'iterations.log');
  // Simulated iterations of 0.05 s, so heartbeats (every 100 ms) carry checkpoints between them.
  const deps = {
    workspaceRoot: c.dir,
    toolchain: simulatorToolchain(),
    heartbeatEveryMs: 100,
    env: { PACEMAKER_SIM_CRASH_AT_ITER: String(crashAt), PACEMAKER_SIM_FAULT_ONCE: join(c.dir, 'crashed'), PACEMAKER_SIM_ITER_LOG: iterLog, PACEMAKER_SIM_ITER_SECONDS: '0.05' },
  };
  const train = (i: ActivityInput) => createTrainingActivities(deps).trainPotential(i);
  const first = new MockActivityEnvironment({ attempt: 1 });
  const beats: TrainingProgress[] = [];
  first.on('heartbeat', (d: TrainingProgress | null) => d && beats.push(d));
  await assert.rejects(first.run(train, input), new RegExp(`simulated crash at iteration ${crashAt}`));
  return { beats, iterLog, train };
}

test('a retried trainPotential attempt resumes from the checkpoint in heartbeatDetails and heartbeats its own', async () => {
  const c = await makeCampaign(simulatorToolchain());
  const input = {
    campaign: 'campaign',
    generation: 0,
    // Parsed like the workflow parses it, so the config has its defaults and checked types.
    config: TrainerConfig.parse({ engine: 'pacemaker', pacemaker: { ...SMALL, max_epochs: 12, order: 2 } }),
    data: c.data,
    initialPotential: null,
    parentVersion: null,
  };
  const { beats, iterLog, train } = await firstAttemptCrashes(c, 5, input);
  const checkpoint = beats.map((b) => b.checkpoint).filter((cp) => cp).at(-1);
  assert.ok(checkpoint, `a heartbeat carried a checkpoint (${beats.length} heartbeats)`);

  // Only the heartbeat knows the checkpoint now: the record on disk is gone.
  const genDir = join(c.dir, 'campaign', 'potentials', 'generation_000');
  await rm(join(genDir, CHECKPOINT_RECORD));
  const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beats.at(-1) });
  const artifact: PotentialArtifact = await second.run(train, input);
  assert.equal(artifact.metrics.train.iterations, 12);
  const starts = (await runsOf(genDir)).filter((r) => r.event === 'start');
  assert.equal(starts[1]!.offset, checkpoint.iteration, 'resumed from the heartbeated checkpoint');
  assert.equal((await iterationLog(iterLog)).length, 4 + 12 - checkpoint.iteration);
});

test("a retried attempt resumes a multi-cycle ladder fit from the heartbeated checkpoint's place: ladder step, cycle and iteration", async () => {
  const c = await makeCampaign(simulatorToolchain());
  const parent = await c.trainer({ config: { max_epochs: 3 } }).train(c.data, null, { owner: { workflowId: 'p', activityId: '1', attempt: 1 } });
  const input = {
    campaign: 'campaign',
    generation: 1,
    config: TrainerConfig.parse({ engine: 'pacemaker', pacemaker: { ...SMALL, max_epochs: 3, functions_per_element: 10, input: { fit: { ladder_step: 1, fit_cycles: 2 } } } }),
    data: c.data,
    initialPotential: parent.potentialYaml,
    parentVersion: parent.version,
    fineTune: 'extend' as const,
  };
  // Step 0 is 2 cycles of 3 iterations (1-6); the crash comes after iteration 2 of cycle 1 of step 1
  // (a checkpoint may be one iteration behind its log line, so it is then at iteration 1 or 2 of that cycle).
  const { beats, iterLog, train } = await firstAttemptCrashes(c, 12, input);
  const checkpoint = beats.at(-1)?.checkpoint as FitCheckpoint | undefined;
  assert.deepEqual([checkpoint?.position?.ladderStep, checkpoint?.position?.cycle], [1, 1], 'the last heartbeat says: ladder step 1, cycle 1');

  const genDir = join(c.dir, 'campaign', 'potentials', 'generation_001');
  await rm(join(genDir, CHECKPOINT_RECORD));
  const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beats.at(-1) });
  const artifact: PotentialArtifact = await second.run(train, input);
  const starts = (await runsOf(genDir)).filter((r) => r.event === 'start');
  assert.deepEqual(starts.map((r) => r.kind), ['fine-tune', 'finish-cycle', 'next-steps']);
  const steps = (await readFile(join(genDir, 'log.txt'), 'utf8')).match(/Save current ladder step potential/g)?.length ?? 0;
  // Steps of 2 cycles x 3 iterations: the 2 steps before the resume and what the continued ladder saved.
  assert.equal(artifact.metrics.train.iterations, (steps + 1) * 6, `${steps} ladder-step saves in log.txt`);
  const iterations = await iterationLog(iterLog);
  assert.ok(iterations.length <= artifact.metrics.train.iterations + 1, `${iterations.length} iterations executed for ${artifact.metrics.train.iterations}`);
});
