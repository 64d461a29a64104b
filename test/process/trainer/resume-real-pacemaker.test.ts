// Resume of multi-cycle and ladder (extend) fits against a REAL pacemaker (MLIP_PACEMAKER=/path/bin
// or pacemaker on PATH); without one these print `skipped: no pacemaker` and skip. pacemaker is
// killed the way a dead node kills it (SIGKILL, at a chosen ladder step, fit cycle and iteration)
// by a `fit.callbacks` function, pacemaker's own per-iteration hook, here once per generation.
// Small on purpose: 6 EMT Cu/Ni structures, a few functions, 3 iterations per cycle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import type { TrainingProgress } from '../../../src/domain/progress.js';
import type { FitCheckpoint } from '../../../src/trainer/checkpoint.js';
import { countFunctions } from '../../../src/trainer/fit-position.js';
import { parseCurve } from '../../../src/trainer/learning-curve.js';
import { makeCampaign, runsOf } from './helpers.js';
import { realPacemakerOrSkip } from '../../helpers/real-pacemaker.js';

const REAL = { order: 2, evaluator: 'pyace' as const, test_size: 0 };
const owner = { workflowId: 'real-resume', activityId: '1', attempt: 1 };

const KILL_CALLBACK = `
import os, signal

def kill(basis_config, current_fit_iteration, current_fit_cycle, current_ladder_step):
    """SIGKILL pacemaker once (MLIP_TEST_KILL_ONCE marks it) after iteration i of cycle c of ladder step l is saved."""
    l, c, i = (int(x) for x in os.environ["MLIP_TEST_KILL_AT"].split(","))
    once = os.environ["MLIP_TEST_KILL_ONCE"]
    if (current_ladder_step, current_fit_cycle, current_fit_iteration + 1) == (l, c, i) and not os.path.exists(once):
        open(once, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
`;

/** Per pacemaker run appended to log.txt: the loss of each cycle's initial state and of every iteration (4 digits, as logged). */
async function lossesByRun(logFile: string): Promise<{ initial: number[]; iterations: number[] }[]> {
  const runs: { initial: number[]; iterations: number[] }[] = [];
  for (const line of (await readFile(logFile, 'utf8')).split('\n')) {
    if (/ I - Start pacemaker$/.test(line)) runs.push({ initial: [], iterations: [] });
    const m = /(Initial state:|Iteration)\s*#\d+\s+\(\d+ evals\):\s+Loss: (\S+)/.exec(line);
    if (m && runs.length > 0) (m[1] === 'Iteration' ? runs.at(-1)!.iterations : runs.at(-1)!.initial).push(Number(m[2]));
  }
  return runs;
}

async function killSetup(dir: string, at: string): Promise<Record<string, string>> {
  await writeFile(join(dir, 'mlip_test_kill.py'), KILL_CALLBACK);
  return { PYTHONPATH: dir, MLIP_TEST_KILL_AT: at, MLIP_TEST_KILL_ONCE: join(dir, `killed-${at}`) };
}

test('real pacemaker: an extend fit SIGKILLed in ladder step 1 finishes that step from its checkpoint and grows the rest, losing no iteration', async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  const c = await makeCampaign(toolchain, 6, 31);
  const parent = await c.trainer({ config: { ...REAL, functions_per_element: 3, max_epochs: 3 } }).train(c.data, null, { owner });
  const config = { ...REAL, functions_per_element: 8, max_epochs: 3, input: { fit: { ladder_step: 1, callbacks: ['mlip_test_kill.kill'] } } };
  const env = await killSetup(c.dir, '1,0,2');
  let last: TrainingProgress | null = null;
  const trainer = c.trainer({ generation: 1, config, env, parentVersion: parent.version });
  await assert.rejects(trainer.train(c.data, { path: parent.potentialYaml, mode: 'extend' }, { owner, onProgress: (p) => (last = p) }), /SIGKILL/);
  const checkpoint = (last as TrainingProgress | null)?.checkpoint as FitCheckpoint | undefined;
  assert.equal(checkpoint?.position?.ladderStep, 1, 'the checkpoint is in ladder step 1');
  const { basisFunctions, targetFunctions } = checkpoint.position;
  assert.ok(basisFunctions !== null && targetFunctions !== null && basisFunctions < targetFunctions, `step 1 basis ${basisFunctions} of ${targetFunctions}`);
  assert.equal(countFunctions(yaml.load(await readFile(checkpoint.path, 'utf8'))), checkpoint.position.basisFunctions);

  const artifact = await c.trainer({ generation: 1, config, env, parentVersion: parent.version }).train(c.data, { path: parent.potentialYaml, mode: 'extend' }, {
    owner: { ...owner, attempt: 2 },
    resume: { checkpoint },
  });
  const dir = trainer.generationDir;
  const starts = (await runsOf(dir)).filter((r) => r.event === 'start');
  assert.deepEqual(starts.map((r) => r.kind), ['fine-tune', 'finish-cycle', 'next-steps']);
  const log = await readFile(join(dir, 'log.txt'), 'utf8');
  const sizes = [...log.matchAll(/Extended basis set size: (\d+) B-functions/g)].map((m) => Number(m[1]));
  const ladderSteps = new Set(sizes).size;
  console.log(`real pacemaker: extend ladder basis sizes ${sizes.join(' -> ')}; killed at step 1 iteration 2, checkpoint ${JSON.stringify(checkpoint.position)}`);
  assert.equal(artifact.metrics.train.iterations, ladderSteps * 3, `${ladderSteps} ladder steps of 3 iterations`);
  assert.equal(countFunctions(yaml.load(await readFile(artifact.potentialYaml, 'utf8'))), checkpoint.position.targetFunctions, 'the whole target basis');

  // Continuity across the chain: each run starts from the state the one before it ended in.
  const [killed, finish, grow] = await lossesByRun(join(dir, 'log.txt'));
  const atCheckpoint = killed!.iterations.slice(-2); // iteration 1 and 2 of step 1: the checkpoint holds one of them
  assert.ok(atCheckpoint.includes(finish!.initial[0]!), `finish run starts at ${finish!.initial[0]}, the killed run logged ${atCheckpoint.join(', ')}`);
  assert.equal(finish!.iterations.length, 3 - checkpoint.position.cycleIteration, 'the rest of step 1');
  assert.equal(grow!.initial[0], finish!.iterations.at(-1), 'the next step starts where step 1 ended (new functions start at zero)');
  assert.ok(artifact.metrics.train.loss! < finish!.initial[0]!, 'and the fit went on improving');
  const curve = parseCurve(await readFile(join(dir, 'learning_curve.tsv'), 'utf8'));
  assert.deepEqual(curve.map((p) => p.iteration), Array.from({ length: ladderSteps * 3 + 1 }, (_, i) => i));
});

test('real pacemaker: a fit with fit_cycles 3 SIGKILLed in cycle 1 resumes that cycle, then runs cycle 2, never from the best-cycle file', async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  const c = await makeCampaign(toolchain, 6, 32);
  const config = { ...REAL, functions_per_element: 6, max_epochs: 3, input: { fit: { fit_cycles: 3, callbacks: ['mlip_test_kill.kill'] } } };
  const env = await killSetup(c.dir, '0,1,1');
  let last: TrainingProgress | null = null;
  const trainer = c.trainer({ config, env });
  await assert.rejects(trainer.train(c.data, null, { owner, onProgress: (p) => (last = p) }), /SIGKILL/);
  const checkpoint = (last as TrainingProgress | null)?.checkpoint as FitCheckpoint | undefined;
  assert.equal(checkpoint?.position?.cycle, 1, 'the checkpoint follows cycle 1');
  assert.match(await readFile(checkpoint.path, 'utf8'), /^ {2}_fit_cycles: 1$/m, "pacemaker's cycle-1 interim file carries _fit_cycles: 1");

  const artifact = await c.trainer({ config, env }).train(c.data, null, { owner: { ...owner, attempt: 2 }, resume: { checkpoint } });
  const dir = trainer.generationDir;
  const starts = (await runsOf(dir)).filter((r) => r.event === 'start');
  assert.deepEqual(starts.map((r) => r.kind), ['fresh', 'finish-cycle', 'next-cycles']);
  for (const r of starts) assert.ok(!(r.args as string[]).some((a) => a.includes('best_cycle')));
  assert.equal(artifact.metrics.train.iterations, 9);
  const log = await readFile(join(dir, 'log.txt'), 'utf8');
  assert.doesNotMatch(log, /Number of finished fit cycles/);
  const [killed, finish, next] = await lossesByRun(join(dir, 'log.txt'));
  const atCheckpoint = killed!.iterations.slice(-2);
  console.log(`real pacemaker: cycles killed at cycle 1 iteration 1 (checkpoint ${JSON.stringify(checkpoint.position)}); runs' first losses ${[finish, next].map((r) => r!.initial[0]).join(', ')}; final ${artifact.metrics.train.loss}`);
  assert.ok(atCheckpoint.includes(finish!.initial[0]!), `finish run starts at ${finish!.initial[0]}, the killed run logged ${atCheckpoint.join(', ')}`);
  assert.equal(finish!.iterations.length, 3 - checkpoint.position.cycleIteration);
  assert.deepEqual([next!.initial.length, next!.iterations.length], [1, 3], 'one more cycle (cycle 2) of 3 iterations');
  assert.equal(next!.initial[0], finish!.iterations.at(-1), 'cycle 2 starts from the end of cycle 1');
  assert.match(log.split(' I - Start pacemaker').at(-1)!, /Number of fit attempts: 2\/3/);
});
