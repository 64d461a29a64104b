// What the Temporal UI says about a generation: summary, details, current details, activity summaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  activitySummaries,
  currentDetails,
  describeStart,
  generationDetails,
  generationSummary,
  groupThousands,
  loopDetails,
  loopStaticDetails,
  loopSummary,
  trainingLine,
} from '../../../src/domain/generation-story.js';

const facts = {
  campaign: 'cuni',
  generation: 3,
  config: {
    pacemaker: {
      elements: ['Cu', 'Ni'],
      cutoff: 5,
      order: 2,
      functions_per_element: 5,
      max_epochs: 60,
      evaluator: 'pyace',
    },
  },
  results: ['/data/g3/dft.jsonl'],
  initialPotential: '/ws/cuni/potentials/generation_002/output_potential.yaml',
  parentVersion: 'generation_002',
  fineTune: 'continue' as const,
  pool: { path: '/data/pool.jsonl', n: 10 },
};

test('the summary names elements, generation, how it starts, its new data and its pool', () => {
  assert.equal(
    generationSummary(facts, { newStructures: 1240 }),
    'Cu-Ni gen 3: fine-tune (continue) of generation_002 on 1,240 new structures; select 10 from pool.jsonl',
  );
  assert.equal(
    generationSummary({ ...facts, initialPotential: null, pool: null, results: [] }),
    'Cu-Ni gen 3: from scratch on the dataset as it is',
  );
  assert.equal(
    describeStart({ initialPotential: '/x/y/start.yaml' }),
    'fine-tune (continue) of start.yaml',
  );
  assert.equal(groupThousands(1234567), '1,234,567');
});

test('the details (Markdown) give config, start, data version, pool and where the files are', () => {
  const md = generationDetails(facts, { workspace: '/ws' });
  assert.match(md, /^\*\*Cu-Ni generation 3\*\* \(`generation_003`\) of campaign `cuni`/);
  assert.match(
    md,
    /- \*\*Config:\*\* elements Cu, Ni; cutoff 5 Å; order 2; 5 functions\/element; max_epochs 60; evaluator pyace/,
  );
  assert.match(md, /- \*\*Data version:\*\*/);
  assert.match(md, /- \*\*Pool:\*\* `\/data\/pool\.jsonl`: select 10\n/, 'no options set: none named');
  const withOptions = generationDetails({ ...facts, pool: { ...facts.pool, randomFraction: 0.25, gammaMax: 10 } }, { workspace: '/ws' });
  assert.match(withOptions, /- \*\*Pool:\*\* `\/data\/pool\.jsonl`: select 10; 25 % at random, gamma <= 10\n/);
  assert.match(md, /`\/ws\/cuni\/potentials\/generation_003\/`/);
  assert.match(md, /`\/ws\/cuni\/journal\/generation_003\.jsonl`/);
  assert.match(md, /mlip-trainer report --campaign cuni/);
});

test('the current details follow the stage; during training they show the figures, or the stall instead of the ETA', () => {
  const at = '2026-12-03T10:00:00.000Z';
  const training = {
    iteration: 12,
    maxiter: 60,
    loss: 0.01234,
    energyRmse: 3.21,
    forceRmse: 45.6,
    etaSeconds: 300,
    at,
  };
  const md = currentDetails({
    stage: 'training',
    at,
    dataset: { total: 40, train: 36, test: 4, added: 40, sha256: 'abcdef0123456789' },
    training,
  });
  assert.match(md, /^\*\*Stage:\*\* training · updated 2026-12-03T10:00:00Z/);
  assert.match(md, /40 structures \(train 36, test 4\), 40 new; version `abcdef012345`/);
  assert.match(
    md,
    /iteration 12\/60 · loss 0\.01234 · RMSE E 3\.2 meV\/atom, F 45\.6 meV\/Å · ETA 5 min/,
  );
  assert.match(
    trainingLine({ ...training, silentSeconds: 1500, stallLimitSeconds: 1800 }),
    /\*\*no progress for 25 min\*\* \(stalled after 30 min\)$/,
  );
  // Once past training, the training line goes; what the later steps left stays.
  const done = currentDetails({
    stage: 'done',
    at,
    training,
    potential: { path: '/p.yace', testForceRmse: 40.123, testEnergyRmse: 2.5, trainForceRmse: 39 },
  });
  assert.doesNotMatch(done, /Training:/);
  assert.match(done, /test RMSE E 2\.50 meV\/atom, F 40\.12 meV\/Å/);
});

test('activity summaries say what each step does to what', () => {
  assert.equal(
    activitySummaries.trainPotential(facts, 1240),
    'pacemaker: fine-tune (continue) of generation_002 on 1,240 structures, max_epochs 60',
  );
  assert.equal(activitySummaries.updateDataset(facts), "append 1 result file(s) to cuni's dataset");
  assert.equal(
    activitySummaries.selectActiveSet(facts, 'the new potential'),
    'select 10 from pool.jsonl with the new potential',
  );
  assert.equal(
    activitySummaries.collectLabelledResults(2),
    'collect labelled results of generation_002',
  );
});

test("the loop's details list each finished generation's headline", () => {
  const md = loopDetails({
    campaign: 'cuni',
    running: 2,
    maxGenerations: 5,
    targetForceRmse: 20,
    finished: [
      { version: 'generation_000', forceRmse: null, path: null },
      { version: 'generation_001', forceRmse: 31.5, path: '/p1.yace' },
    ],
    at: '2026-12-03T10:00:00.000Z',
  });
  assert.match(
    md,
    /running generation 2 \(`train-cuni-generation_002`\) of at most 5; target F ≤ 20 meV\/Å/,
  );
  assert.match(md, /- generation_000: selection only/);
  assert.match(md, /- generation_001: F 31\.50 meV\/Å, `\/p1\.yace`/);
});

test("a loop's summary says what it selects, who labels and when it stops; its details say where everything is", () => {
  const closed = {
    campaign: 'cuni',
    config: { pacemaker: { elements: ['Cu', 'Ni'] } },
    maxGenerations: 5,
    targetForceRmse: 50,
    labelledDir: '/data/cuni/labelled',
    labeller: { kind: 'oracle', calculator: 'emt' },
    pool: { path: '/data/cuni/pool.extxyz', n: 1200 },
  };
  assert.equal(loopSummary(closed), 'Cu-Ni loop: up to 5 generations, select 1,200 per generation from pool.extxyz, labelled by the emt oracle, until F ≤ 50 meV/Å');
  const prepared = { campaign: 'al', config: { pacemaker: { elements: ['Al'] } }, maxGenerations: 3, targetForceRmse: null, labelledDir: '/data/al/labelled' };
  assert.equal(loopSummary(prepared), 'Al loop: up to 3 generations, labels read from labelled/');
  const details = loopStaticDetails(closed);
  assert.match(details, /^\*\*Active-learning loop cuni\*\* \(elements Cu, Ni\)/);
  assert.ok(details.includes('stops at test F ≤ 50 meV/Å'));
  assert.ok(details.includes('`/data/cuni/labelled` (written by the emt oracle)'));
  assert.ok(details.includes('`/data/cuni/pool.extxyz`, 1,200 selected per generation'));
  assert.ok(loopStaticDetails(prepared).includes('pool: none (nothing is selected)'));
  assert.ok(loopStaticDetails(prepared).includes('(prepared by the labelling stage)'));
});
