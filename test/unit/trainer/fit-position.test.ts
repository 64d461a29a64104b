// Following a fit through fit cycles and ladder steps on log.txt of a real pacemaker (fixtures in
// test/fixtures/pacemaker-resume, see its README), and what a resume runs next from each place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { FitTracker, START_POSITION, countFunctions, withFitCycles, type FitPosition } from '../../../src/trainer/fit-position.js';
import { describePotential } from '../../../src/domain/potential.js';
import { PacemakerTrainerConfig } from '../../../src/domain/schemas.js';
import { simulatorToolchain } from '../../../src/pacemaker/toolchain.js';
import { PacemakerTrainer } from '../../../src/trainer/pacemaker-trainer.js';
import type { FitCheckpoint } from '../../../src/trainer/checkpoint.js';
import { SMALL } from './helpers.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'pacemaker-resume');

/** log.txt split into the runs appended to it. */
async function runsOfLog(name: string): Promise<string[][]> {
  const lines = (await readFile(join(FIXTURES, name), 'utf8')).split('\n');
  const runs: string[][] = [];
  for (const line of lines) {
    if (/ I - Start pacemaker$/.test(line)) runs.push([]);
    runs.at(-1)?.push(line);
  }
  return runs;
}

function feed(t: FitTracker, lines: string[]): string[] {
  return lines.map((l) => t.feed(l)).filter((e) => e !== null).map((e) => (e.kind === 'iteration' ? `it${e.line.iteration}` : e.kind));
}

test('real pacemaker, fit_cycles 2: a run killed in cycle 1 and its resume are followed cycle by cycle', async () => {
  const [killed, resumed] = (await runsOfLog('fit-cycles-killed-and-resumed.log.txt')) as [string[], string[]];
  const t = new FitTracker(START_POSITION, false);
  assert.deepEqual(feed(t, killed), ['cycle-start', 'it1', 'it2', 'it3', 'cycle-end', 'cycle-start', 'it1', 'it2']);
  assert.deepEqual([t.cycle, t.local, t.runIterations, t.cycleEnded], [1, 2, 5, false]);
  assert.deepEqual(t.lastCycleEnd?.position, { ...START_POSITION, cycle: 0, cycleIteration: 3, stage: 'cycle-done' });
  assert.equal(t.lastCycleEnd?.file, 'interim_potential_0.yaml');
  // The resume: cycle 1 from its 2nd iteration, 1 iteration left.
  const r = new FitTracker({ ...START_POSITION, cycle: 1, cycleIteration: 2 }, false);
  assert.deepEqual(feed(r, resumed), ['cycle-start', 'it1', 'cycle-end']);
  assert.deepEqual(r.lastCycleEnd?.position, { ...START_POSITION, cycle: 1, cycleIteration: 3, stage: 'cycle-done' });
  assert.equal(r.runIterations, 1);
});

test('real pacemaker, ladder: steps, basis sizes and the ladder end are followed across the resume chain', async () => {
  const [killed, finish, grow] = (await runsOfLog('ladder-killed-and-resumed.log.txt')) as [string[], string[], string[]];
  const t = new FitTracker(START_POSITION, true);
  assert.deepEqual(feed(t, killed), ['cycle-start', 'it1', 'it2', 'cycle-end', 'step-saved', 'cycle-start', 'it1']);
  assert.deepEqual(t.lastStepSaved, {
    file: 'interim_potential_ladder_step_0.yaml',
    position: { ladderStep: 0, cycle: 0, cycleIteration: 2, stage: 'step-done', basisFunctions: 8, targetFunctions: 16 },
    runIterations: 2,
  });
  assert.deepEqual(t.positionAt(t.local), { ladderStep: 1, cycle: 0, cycleIteration: 1, stage: 'running', basisFunctions: 12, targetFunctions: 16 });
  assert.equal(t.estimatedSteps(), 3, '4 functions per step, 4 left after step 1');

  // The rest of step 1 with -p (no ladder lines; the sizes come from the checkpoint).
  const at: FitPosition = { ladderStep: 1, cycle: 0, cycleIteration: 1, stage: 'running', basisFunctions: 12, targetFunctions: 16 };
  const f = new FitTracker(at, false);
  assert.deepEqual(feed(f, finish), ['cycle-start', 'it1', 'cycle-end']);
  assert.deepEqual(f.lastCycleEnd?.position, { ...at, cycleIteration: 2, stage: 'cycle-done' });

  // The ladder continued from the finished step: pacemaker calls it step 0, it is step 2 of the generation.
  const g = new FitTracker({ ...START_POSITION, ladderStep: 2, basisFunctions: 12, targetFunctions: 16 }, true);
  assert.deepEqual(feed(g, grow), ['cycle-start', 'it1', 'it2', 'cycle-end', 'step-saved', 'ladder-done']);
  assert.deepEqual(g.lastStepSaved?.position, { ladderStep: 2, cycle: 0, cycleIteration: 2, stage: 'step-done', basisFunctions: 16, targetFunctions: 16 });
  assert.equal(g.estimatedSteps(), 3);
});

test("withFitCycles edits only the metadata line of pacemaker's own interim file", async () => {
  const text = await readFile(join(FIXTURES, 'interim_potential_1.yaml'), 'utf8');
  const fitCycles = (t: string) => describePotential(yaml.load(t))?.fitCycles;
  assert.equal(fitCycles(text), 1);
  for (const n of [0, 1, 2]) {
    const edited = withFitCycles(text, n);
    assert.equal(fitCycles(edited), n);
    assert.equal(countFunctions(yaml.load(edited)), countFunctions(yaml.load(text)));
    const removed = (t: string) => t.split('\n').filter((l) => !/^ {2}_fit_cycles:/.test(l));
    assert.deepEqual(removed(edited), removed(text), 'every other line unchanged');
  }
  assert.equal(fitCycles(withFitCycles('species: []\n', 2)), 2);
  assert.equal(fitCycles(withFitCycles('metadata: {}\nspecies: []\n', 3)), 3);
});

test('from each place in a fit with a ladder and 2 fit cycles, planRun runs the rest: the cycle, the cycles, the steps', () => {
  const config = PacemakerTrainerConfig.parse({ ...SMALL, max_epochs: 5, input: { fit: { fit_cycles: 2, ladder_step: 1 } } });
  const trainer = new PacemakerTrainer({ config, campaignDir: '/nonexistent', toolchain: simulatorToolchain(), generation: 1 });
  const data = { trainPath: '/data/train.pckl.gzip', testPath: null, sha256: 'x' };
  const cp = (iteration: number, position: Partial<FitPosition> | null): FitCheckpoint => ({
    path: '/x/checkpoint_potential.yaml',
    sha256: 'y',
    iteration,
    runKey: 'k',
    batchSize: 10,
    ...(position ? { position: { ...START_POSITION, basisFunctions: 12, targetFunctions: 16, ...position } } : {}),
  });
  const plan = (checkpoint: FitCheckpoint | null) => trainer.planRun(data, { mode: 'extend', checkpoint, batchSize: 10 });
  const fit = (p: ReturnType<typeof plan>) => p.input.fit;

  const first = plan(null);
  assert.deepEqual([first.kind, first.completes, first.input.potential.initial_potential, fit(first).ladder_step], ['fine-tune', true, 'initial_potential.yaml', 1]);

  // Killed after iteration 3 of cycle 1 of ladder step 1: the rest of cycle 1, with -p, no ladder.
  const a = plan(cp(13, { ladderStep: 1, cycle: 1, cycleIteration: 3 }));
  assert.deepEqual([a.kind, a.args, a.maxiter, a.resumeFitCycles, fit(a).fit_cycles, fit(a).ladder_step, a.completes], ['finish-cycle', ['-p', 'resume_potential.yaml'], 2, 1, 2, undefined, false]);
  assert.equal(a.input.potential.initial_potential, undefined);
  // Cycle 0 of step 1 ended: cycle 1 in full, still without the ladder.
  const b = plan(cp(15, { ladderStep: 1, cycle: 0, cycleIteration: 5, stage: 'cycle-done' }));
  assert.deepEqual([b.kind, b.maxiter, b.resumeFitCycles, fit(b).fit_cycles, b.start.cycle, b.completes], ['next-cycles', 5, 1, 2, 1, false]);
  // Step 1 ended (its last cycle, or its ladder-step file): the ladder goes on from it.
  for (const ended of [cp(20, { ladderStep: 1, cycle: 1, cycleIteration: 5, stage: 'cycle-done' }), cp(20, { ladderStep: 1, cycle: 1, stage: 'step-done' })]) {
    const c = plan(ended);
    assert.deepEqual([c.kind, c.args, c.maxiter, c.resumeFitCycles, fit(c).fit_cycles, fit(c).ladder_step, c.start.ladderStep, c.completes], ['next-steps', [], 5, 0, 2, 1, 2, true]);
    assert.equal(c.input.potential.initial_potential, 'resume_potential.yaml');
  }
  // A cycle that stopped early (convergence, early stopping) is ended too.
  assert.equal(plan(cp(12, { ladderStep: 1, cycle: 0, cycleIteration: 2, stage: 'cycle-done' })).kind, 'next-cycles');
  // Everything fitted, no output yet: one iteration for pacemaker's outputs.
  const d = plan(cp(30, { ladderStep: 2, cycle: 1, stage: 'step-done', basisFunctions: 16 }));
  assert.deepEqual([d.kind, d.maxiter, d.resumeFitCycles, d.completes], ['outputs', 1, 1, true]);
  // A checkpoint written before positions were recorded: mid-cycle in cycle 0.
  const legacy = new PacemakerTrainer({ config: PacemakerTrainerConfig.parse({ ...SMALL, max_epochs: 20 }), campaignDir: '/nonexistent', toolchain: simulatorToolchain(), generation: 0 });
  const l = legacy.planRun(data, { mode: null, checkpoint: cp(7, null), batchSize: 10 });
  assert.deepEqual([l.kind, l.maxiter, l.resumeFitCycles, (l.input.fit).fit_cycles, l.completes], ['finish-cycle', 13, 0, undefined, true]);
});
