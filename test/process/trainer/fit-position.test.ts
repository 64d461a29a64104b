// Following a fit through fit cycles and ladder steps on log.txt of a real pacemaker (fixtures in
// test/fixtures/pacemaker-resume, see its README). What a resume runs next from each place: run-plan.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { FitTracker, START_POSITION, countFunctions, withFitCycles, type FitPosition } from '../../../src/trainer/fit-position.js';
import { describePotential } from '../../../src/domain/potential.js';

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
