// Resume and fine-tuning through Temporal: a real dev server retries the trainPotential
// activity after the simulated pacemaker crashes, and the retry continues from the heartbeated
// checkpoint instead of starting over.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestStack, type TestStack } from '../../../helpers/stack.js';
import { simulatorToolchain } from '../../../../src/pacemaker/toolchain.js';
import { labelEmt } from '../../../../src/dataset/emt.js';
import { startTraining, waitForArtifact } from '../../../../src/client/train.js';
import type { PotentialArtifact, TrainerConfigInput } from '../../../../src/domain/schemas.js';
import type { TrainingProgress } from '../../../../src/domain/progress.js';
import { smallConfig } from '../../../helpers/wait.js';

let stack: TestStack;

before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.stop();
});

const config = smallConfig;

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

test('a crash at iteration 7 of 20 is retried by Temporal and resumes: 20 iterations in total plus at most one repeated', async () => {
  const toolchain = simulatorToolchain();
  const campaign = 'resume-crash';
  const workspaceRoot = join(stack.dir, 'workspace');
  const iterLog = join(stack.dir, `${campaign}-iterations.log`);
  // Simulated iterations of 0.1 s: long enough for progress to be sampled while the fit runs.
  const env = {
    PACEMAKER_SIM_CRASH_AT_ITER: '7',
    PACEMAKER_SIM_FAULT_ONCE: join(stack.dir, `${campaign}-crashed`),
    PACEMAKER_SIM_ITER_LOG: iterLog,
    PACEMAKER_SIM_ITER_SECONDS: '0.1',
  };
  const w = await stack.startWorker({ taskQueue: `q-${campaign}`, workspaceRoot, toolchain, env });
  try {
    const results = join(stack.dir, `${campaign}.jsonl`);
    await labelEmt({ out: results, count: 4, elements: ['Cu', 'Ni'], seed: 5, python: toolchain.python });
    const handle = await startTraining(stack.client, { campaign, generation: 0, config: config(20), results: [results] }, `q-${campaign}`);
    // Sampled as `mlip-trainer watch` samples it, every 300 ms, until the result arrives.
    const seen: TrainingProgress[] = [];
    const artifact = (await waitForArtifact(handle, (p) => seen.push(p), 300)) as PotentialArtifact;

    const iterations = lines(await readFile(iterLog, 'utf8')).map((l) => Number(l.split(' ')[1]));
    // The simulator numbers iterations by the state it resumed from. A checkpoint labelled one
    // iteration behind its content (the interim file was already rewritten when the log line
    // was read) costs exactly one extra iteration: 21, never more.
    assert.ok(iterations.length >= 20 && iterations.length <= 21, `${iterations.length} iterations executed: ${iterations.join(',')}`);
    assert.ok(iterations.at(-1)! >= 20 && iterations.at(-1)! <= 21, `no iteration lost: the final state holds ${iterations.at(-1)}`);
    assert.equal(artifact.metrics.train.iterations, 20);

    const genDir = join(workspaceRoot, campaign, 'potentials', 'generation_000');
    const runs = lines(await readFile(join(genDir, 'runs.jsonl'), 'utf8')).map((l) => JSON.parse(l) as { event: string; attempt: number; args?: string[]; offset?: number });
    const starts = runs.filter((r) => r.event === 'start');
    assert.equal(starts.length, 2, 'one crashed run, one resumed run');
    assert.equal(starts[1]!.attempt, 2, 'the resume is the second attempt of the activity');
    assert.deepEqual(starts[1]!.args!.slice(-2), ['-p', 'resume_potential.yaml']);
    assert.ok(starts[1]!.offset! >= 5, `resumed from iteration ${starts[1]!.offset}`);
    assert.ok(!starts.some((r) => r.args!.join(' ').includes('best_cycle')));
    assert.ok(artifact.files['learning_curve.tsv']);
    assert.ok(
      seen.some((p) => p.checkpoint && p.checkpoint.iteration >= 1),
      `the heartbeated progress carried a checkpoint (saw ${seen.length} progress records)`,
    );
  } finally {
    await w.stop();
  }
});

test('a fine-tune through the workflow passes -p and no ladder, and fineTune: extend uses a ladder', async () => {
  const toolchain = simulatorToolchain();
  const campaign = 'finetune-wf';
  const workspaceRoot = join(stack.dir, 'workspace');
  const w = await stack.startWorker({ taskQueue: `q-${campaign}`, workspaceRoot, toolchain });
  try {
    const results = join(stack.dir, `${campaign}.jsonl`);
    await labelEmt({ out: results, count: 4, elements: ['Cu', 'Ni'], seed: 6, python: toolchain.python });
    const g0 = (await (await startTraining(stack.client, { campaign, generation: 0, config: config(4), results: [results] }, `q-${campaign}`)).result()) as PotentialArtifact;
    const withLadder: TrainerConfigInput = { engine: 'pacemaker', pacemaker: { ...config(4).pacemaker, input: { fit: { ladder_step: 2 } } } };
    const g1 = (await (
      await startTraining(
        stack.client,
        { campaign, generation: 1, config: withLadder, results: [], initialPotential: g0.potentialYaml, parentVersion: g0.version },
        `q-${campaign}`,
      )
    ).result()) as PotentialArtifact;
    assert.equal(g1.parentVersion, 'generation_000');
    const dir1 = join(workspaceRoot, campaign, 'potentials', 'generation_001');
    const start1 = JSON.parse(lines(await readFile(join(dir1, 'runs.jsonl'), 'utf8'))[0]!) as { args: string[] };
    assert.deepEqual(start1.args.slice(-2), ['-p', 'initial_potential.yaml']);
    assert.doesNotMatch(await readFile(join(dir1, 'input.yaml'), 'utf8'), /ladder_step/);

    await (
      await startTraining(
        stack.client,
        {
          campaign,
          generation: 2,
          config: { engine: 'pacemaker', pacemaker: { ...config(4).pacemaker, order: 3, functions_per_element: 9 } },
          results: [],
          initialPotential: g0.potentialYaml,
          parentVersion: g0.version,
          fineTune: 'extend',
        },
        `q-${campaign}`,
      )
    ).result();
    const dir2 = join(workspaceRoot, campaign, 'potentials', 'generation_002');
    const input2 = await readFile(join(dir2, 'input.yaml'), 'utf8');
    assert.match(input2, /initial_potential: initial_potential\.yaml/);
    assert.match(input2, /ladder_step:/);
  } finally {
    await w.stop();
  }
});

test('an extend fine-tune with 2 fit cycles, crashed in cycle 1 of ladder step 1, is retried by Temporal and resumes there: that cycle, then the remaining steps', async () => {
  const toolchain = simulatorToolchain();
  const campaign = 'resume-ladder';
  const workspaceRoot = join(stack.dir, 'workspace');
  const iterLog = join(stack.dir, `${campaign}-iterations.log`);
  const w0 = await stack.startWorker({ taskQueue: `q-${campaign}-0`, workspaceRoot, toolchain });
  let g0: PotentialArtifact;
  const results = join(stack.dir, `${campaign}.jsonl`);
  try {
    await labelEmt({ out: results, count: 4, elements: ['Cu', 'Ni'], seed: 7, python: toolchain.python });
    g0 = (await (await startTraining(stack.client, { campaign, generation: 0, config: config(3), results: [results] }, `q-${campaign}-0`)).result()) as PotentialArtifact;
  } finally {
    await w0.stop();
  }
  // Step 0 is 2 cycles of 3 iterations (1-6); the crash comes after iteration 1 of cycle 1 of step 1.
  // Simulated iterations of 0.05 s, so heartbeats carry checkpoints between them.
  const env = { PACEMAKER_SIM_CRASH_AT_ITER: '11', PACEMAKER_SIM_FAULT_ONCE: join(stack.dir, `${campaign}-crashed`), PACEMAKER_SIM_ITER_LOG: iterLog, PACEMAKER_SIM_ITER_SECONDS: '0.05' };
  const w = await stack.startWorker({ taskQueue: `q-${campaign}`, workspaceRoot, toolchain, env });
  try {
    const pacemaker = { ...config(3).pacemaker, functions_per_element: 10, input: { fit: { ladder_step: 1, fit_cycles: 2 } } };
    const handle = await startTraining(
      stack.client,
      { campaign, generation: 1, config: { engine: 'pacemaker', pacemaker }, results: [], initialPotential: g0.potentialYaml, parentVersion: g0.version, fineTune: 'extend' },
      `q-${campaign}`,
    );
    const artifact = (await handle.result()) as PotentialArtifact;
    const genDir = join(workspaceRoot, campaign, 'potentials', 'generation_001');
    const runs = lines(await readFile(join(genDir, 'runs.jsonl'), 'utf8')).map((l) => JSON.parse(l) as { event: string; attempt: number; kind?: string; start?: { ladderStep: number; cycle: number } });
    const starts = runs.filter((r) => r.event === 'start');
    // The checkpoint is iteration 10 (cycle 1, iteration 1: the rest of that cycle follows), or,
    // when the crash came before iteration 10's interim file was copied, one iteration behind it
    // (the end of cycle 0: cycle 1 then starts afresh, repeating that one iteration).
    const retry = starts[1]?.kind;
    assert.ok(retry === 'finish-cycle' || retry === 'next-cycles', `retry kind ${retry}`);
    assert.deepEqual(starts.map((r) => [r.attempt, r.kind]), [[1, 'fine-tune'], [2, retry], [2, 'next-steps']]);
    assert.deepEqual([starts[1]!.start?.ladderStep, starts[1]!.start?.cycle], [1, 1], 'the retry entered ladder step 1, cycle 1');
    assert.equal(starts[2]!.start?.ladderStep, 2);
    const saves = (await readFile(join(genDir, 'log.txt'), 'utf8')).match(/Save current ladder step potential/g)?.length ?? 0;
    assert.equal(artifact.metrics.train.iterations, (saves + 1) * 6, 'every ladder step: 2 cycles of 3 iterations');
    const iterations = lines(await readFile(iterLog, 'utf8'));
    assert.ok(iterations.length <= artifact.metrics.train.iterations + 1, `${iterations.length} iterations executed for ${artifact.metrics.train.iterations}`);
  } finally {
    await w.stop();
  }
});
