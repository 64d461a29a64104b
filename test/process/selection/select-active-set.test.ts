// selectActiveSet against the pacemaker simulator and, when installed, the real pacemaker: real
// pools of EMT-labelled structures, real pace_select runs, pickles read back by pandas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PYTHON_SRC } from '../../../src/paths.js';
import { execa } from 'execa';
import { BadInputError } from '../../../src/errors.js';
import { DEFAULT_GAMMA_MAX, PacemakerTrainerConfig, type ActiveSetSelection } from '../../../src/domain/schemas.js';
import { labelEmt } from '../../../src/dataset/emt.js';
import { simulatorToolchain, type Toolchain } from '../../../src/pacemaker/toolchain.js';
import { selectActiveSet } from '../../../src/selection/select-active-set.js';
import { runPace, runSelectScript } from '../../../src/selection/programs.js';
import { realPacemakerOrSkip } from '../../helpers/real-pacemaker.js';

const config = (functions = 5) =>
  PacemakerTrainerConfig.parse({ elements: ['Cu', 'Ni'], cutoff: 5.0, order: 2, functions_per_element: functions, evaluator: 'pyace' });

async function pool(dir: string, count: number, toolchain: Toolchain, seed = 7, atoms = 8): Promise<string> {
  const out = join(dir, `pool-${count}-${seed}.jsonl`);
  await labelEmt({ out, count, elements: ['Cu', 'Ni'], seed, atoms, python: toolchain.python });
  return out;
}

/** Index and row count of a pickle as pandas (of the toolchain's Python) reads it. */
async function readBack(python: string, file: string): Promise<{ index: number[]; columns: string[] }> {
  const code = 'import sys, json, pandas as pd\nd = pd.read_pickle(sys.argv[1], compression="gzip")\nprint(json.dumps({"index": [int(i) for i in d.index], "columns": [str(c) for c in d.columns]}))';
  const r = await execa(python, ['-c', code, file]);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { index: number[]; columns: string[] };
}

function assertConsistent(r: ActiveSetSelection, n: number): void {
  assert.equal(r.indices.length, n);
  assert.equal(new Set(r.indices).size, n, 'no structure twice');
  assert.equal(r.chosenBy.length, n);
  assert.equal(r.gammaMax.length, n);
  assert.equal(r.counts.pace_select + r.counts.gamma + r.counts.random, n);
  assert.ok(r.indices.every((i) => i >= 0 && i < r.poolSize));
}

test('a pool of 10 random structures with n=2 gives exactly 2 (generation 0, unfitted potential, simulator)', async () => {
  const toolchain = simulatorToolchain();
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-'));
  const r = await selectActiveSet({ pool: await pool(dir, 10, toolchain), n: 2, potential: null, config: config(), workDir: join(dir, 'w'), toolchain });
  assertConsistent(r, 2);
  assert.equal(r.unfittedPotential, true);
  assert.equal(r.simulated, true);
  assert.equal(r.via, 'in-process');
  assert.equal(r.counts.pace_select, 2, 'pace_select alone supplies 2');
  const back = await readBack(toolchain.python, r.selected.path);
  assert.deepEqual(back.index, r.indices, 'the pickle holds the chosen structures, indexed by pool position');
  assert.ok(back.columns.includes('ase_atoms'));
});

test('n larger than pace_select returns still yields n: the rest are filled by the largest gamma, each one recorded (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-'));
  const r = await selectActiveSet({ pool: await pool(dir, 40, toolchain), n: 30, potential: null, config: config(), workDir: join(dir, 'w'), toolchain });
  assertConsistent(r, 30);
  assert.ok(r.paceSelectReturned < 30, `pace_select's cap is below n (returned ${r.paceSelectReturned})`);
  assert.equal(r.counts.pace_select, r.paceSelectReturned);
  assert.ok(r.counts.gamma > 0);
  assert.deepEqual(r.chosenBy.slice(0, r.counts.pace_select), Array<string>(r.counts.pace_select).fill('pace_select'));
  const filled = r.gammaMax.slice(r.counts.pace_select) as number[];
  assert.ok(filled.every((g) => typeof g === 'number'));
  assert.deepEqual(filled, [...filled].sort((a, b) => b - a), 'filled by decreasing gamma');
  assert.ok(r.poolGamma !== null && r.poolGamma.max !== null && filled[0]! <= r.poolGamma.max);
  assert.match(r.warnings.join('\n'), /pace_select returned \d+ structures for -m 30/);
  assert.deepEqual((await readBack(toolchain.python, r.selected.path)).index, r.indices);
});

test('n larger than the pool returns the whole pool with a warning (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-'));
  const r = await selectActiveSet({ pool: await pool(dir, 6, toolchain), n: 9, potential: null, config: config(), workDir: join(dir, 'w'), toolchain });
  assertConsistent(r, 6);
  assert.deepEqual([...r.indices].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5]);
  assert.match(r.warnings.join('\n'), /the pool holds 6 structures, fewer than n = 9/);
});

test('a repeated selection with the same inputs returns the earlier answer without running pace_select again (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-'));
  const p = await pool(dir, 10, toolchain);
  const spawned: string[] = [];
  const record = (_pid: number, program: string) => {
    spawned.push(program);
  };
  const opts = { pool: p, n: 3, potential: null, config: config(), workDir: join(dir, 'w'), toolchain };
  const first = await selectActiveSet(opts);
  const second = await selectActiveSet({ ...opts, onSpawn: record });
  assert.deepEqual(second, first);
  assert.equal(spawned.length, 0, 'no program ran');
  const third = await selectActiveSet({ ...opts, n: 4, onSpawn: record });
  assert.equal(third.indices.length, 4);
  assert.ok(spawned.includes('mlip_select select'), `a different n selects again (ran: ${spawned.join(', ')})`);
});

test('bad input is a BadInputError naming the field and value: n <= 0, an empty pool, elements the potential lacks, a bad memory limit', async () => {
  const toolchain = simulatorToolchain();
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-'));
  const p = await pool(dir, 4, toolchain);
  const base = { pool: p, n: 2, potential: null, config: config(), workDir: join(dir, 'w'), toolchain };
  await assert.rejects(selectActiveSet({ ...base, n: 0 }), (e: unknown) => e instanceof BadInputError && /n: must be a positive integer \(got 0\)/.test(e.message));
  await assert.rejects(selectActiveSet({ ...base, n: -3 }), (e: unknown) => e instanceof BadInputError && /got -3/.test(e.message));
  const empty = join(dir, 'empty.jsonl');
  await writeFile(empty, '');
  await assert.rejects(selectActiveSet({ ...base, pool: empty }), (e: unknown) => e instanceof BadInputError && /empty\.jsonl/.test(e.message));
  await assert.rejects(
    selectActiveSet({ ...base, config: PacemakerTrainerConfig.parse({ elements: ['Cu'], cutoff: 5.0, evaluator: 'pyace' }) }),
    (e: unknown) => e instanceof BadInputError && /element\(s\) Ni that the potential lacks \(it has Cu\)/.test(e.message),
  );
  await assert.rejects(selectActiveSet({ ...base, memoryLimit: '__import__("os")' }), (e: unknown) => e instanceof BadInputError && /memoryLimit: must look like 8GB/.test(e.message));
  await assert.rejects(selectActiveSet({ ...base, pool: join(dir, 'nope.jsonl') }), (e: unknown) => e instanceof BadInputError && /pool: file not found/.test(e.message));
});

test('with a real pacemaker, the structures chosen equal those pace_select chooses when called directly on the same inputs', async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-real-'));
  const p = await pool(dir, 30, toolchain, 11);
  // Generation 0 first: the dry-run shape, then the same potential and pool given to pace_select by hand.
  const n = 4;
  const r = await selectActiveSet({ pool: p, n, potential: null, config: config(), workDir: join(dir, 'w'), toolchain });
  assertConsistent(r, n);
  assert.equal(r.simulated, false);
  assert.equal(r.via, 'in-process', "pace_select's own function ran in the selection process");
  assert.ok(r.paceSelectReturned >= n, `pace_select returned ${r.paceSelectReturned} >= n`);
  const direct = join(dir, 'direct');
  const res = await runPace({ toolchain }, 'pace_select', ['-p', join(dir, 'w', 'potential.yaml'), '-m', String(n), '-o', 'direct.pkl.gz', join(dir, 'w', 'pool.pkl.gz')], direct);
  assert.equal(res.exitCode, 0);
  const back = await readBack(toolchain.python, join(direct, 'direct.pkl.gz'));
  assert.deepEqual(r.indices, back.index, 'same structures, same order');
  assert.deepEqual(r.chosenBy, Array<string>(n).fill('pace_select'));

  // And the fill with the real pyace: n above pace_select's cap still gives n, gammas from pyace.
  const big = await selectActiveSet({ pool: p, n: 25, potential: join(dir, 'w', 'potential.yaml'), workDir: join(dir, 'w25'), toolchain });
  assertConsistent(big, 25);
  assert.ok(big.counts.gamma > 0, `pace_select returned ${big.paceSelectReturned}`);
  // In process, the grades are against the active set pace_select's own maxvol ended with, which
  // leaves every pool atom within its tolerance (1.01).
  assert.equal(big.via, 'in-process');
  assert.ok(big.poolGamma !== null && big.poolGamma.max !== null && big.poolGamma.max <= 1.01 + 1e-6, `pool gamma max ${big.poolGamma?.max}`);
  // The pace_select program, run beside the projections, makes the same D-optimal choice.
  const viaProgram = await selectActiveSet({ pool: p, n: 25, potential: join(dir, 'w', 'potential.yaml'), workDir: join(dir, 'w25p'), toolchain, via: 'program' });
  assert.equal(viaProgram.via, 'program');
  assertConsistent(viaProgram, 25);
  assert.deepEqual(viaProgram.indices.slice(0, viaProgram.counts.pace_select), big.indices.slice(0, big.counts.pace_select));
  // Batch mode (projections above the memory limit): still pace_select's choice, and the fill
  // takes its grades from pace_select's own passes.
  const tight = await selectActiveSet({ pool: p, n: 25, potential: join(dir, 'w', 'potential.yaml'), workDir: join(dir, 'w25t'), toolchain, memoryLimit: '0.01MB' });
  assertConsistent(tight, 25);
  assert.match(await readFile(join(dir, 'w25t', 'mlip_select.log'), 'utf8'), /Batch mode/);
  // Under that limit the pool's atomic environments do not fit either: pyace made them one at a
  // time, and the choice below is still the pace_select program's.
  assert.ok(tight.warnings.some((w) => /made one structure at a time/.test(w)), tight.warnings.join('; '));
  const tightDirect = await runPace({ toolchain }, 'pace_select', ['-p', join(dir, 'w', 'potential.yaml'), '-m', '25', '-mem', '0.01MB', '-o', 'tight.pkl.gz', join(dir, 'w', 'pool.pkl.gz')], direct);
  assert.equal(tightDirect.exitCode, 0);
  assert.deepEqual(tight.indices.slice(0, tight.counts.pace_select), (await readBack(toolchain.python, join(direct, 'tight.pkl.gz'))).index);
  console.log(`real pacemaker: pace_select returned ${big.paceSelectReturned} for -m 25; filled ${big.counts.gamma} by gamma (pool gamma max ${big.poolGamma?.max})`);
});

test('a dataset-pickle pool goes to pace_select as it is; one with a foreign element is a BadInputError even while pace_select runs (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-'));
  const first = await selectActiveSet({ pool: await pool(dir, 10, toolchain), n: 2, potential: null, config: config(), workDir: join(dir, 'g0'), toolchain });
  const asPickle = first.selected.path.replace(/selected\.pckl\.gzip$/, 'pool.pkl.gz'); // the converted pool of generation 0
  const again = await selectActiveSet({ pool: asPickle, n: 3, potential: first.potential, workDir: join(dir, 'p'), toolchain });
  assert.equal(again.indices.length, 3);
  assert.equal(again.unfittedPotential, false);

  const foreign = join(dir, 'foreign.jsonl');
  await labelEmt({ out: foreign, count: 4, elements: ['Cu', 'Al'], seed: 1, python: toolchain.python });
  const foreignPickle = join(dir, 'foreign.pkl.gz');
  await runSelectScript({ toolchain }, 'prepare', ['--pool', foreign, '--out', foreignPickle], join(dir, 'prepare.log'));
  await assert.rejects(
    selectActiveSet({ pool: foreignPickle, n: 2, potential: first.potential, workDir: join(dir, 'f'), toolchain }),
    (e: unknown) => e instanceof BadInputError && /foreign\.pkl\.gz has element\(s\) Al that the potential lacks \(it has Cu, Ni\)/.test(e.message),
  );
});

test('the pace_select program path: under a small memory limit the pool projections are not kept but recomputed in batches, with the same choice (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-'));
  const p = await pool(dir, 30, toolchain, 21);
  const roomy = await selectActiveSet({ pool: p, n: 20, potential: null, config: config(), workDir: join(dir, 'roomy'), toolchain, memoryLimit: '8GB', via: 'program' });
  const tight = await selectActiveSet({ pool: p, n: 20, potential: null, config: config(), workDir: join(dir, 'tight'), toolchain, memoryLimit: '0.01MB', batchSize: 4, via: 'program' });
  assert.equal(roomy.via, 'program');
  assert.ok(roomy.counts.gamma > 0, 'the fill ran');
  assert.deepEqual(tight.indices, roomy.indices);
  assert.deepEqual(tight.chosenBy, roomy.chosenBy);
  assert.equal(tight.memoryLimit, '0.01MB');
});

test("in process, pace_select's selection makes the same choice as the pace_select program, in one shot and in batch mode under a small memory limit (simulator)", async () => {
  const toolchain = simulatorToolchain();
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-'));
  const p = await pool(dir, 30, toolchain, 23);
  const spawned: string[] = [];
  const record = (_pid: number, program: string) => {
    spawned.push(program);
  };
  const base = { pool: p, n: 20, potential: null, config: config(), toolchain };
  for (const memoryLimit of ['8GB', '0.01MB']) {
    spawned.length = 0;
    const inProcess = await selectActiveSet({ ...base, workDir: join(dir, `in-${memoryLimit}`), memoryLimit, onSpawn: record });
    assert.equal(inProcess.via, 'in-process');
    assert.deepEqual(spawned.filter((x) => x !== 'pacemaker'), ['mlip_select prepare', 'mlip_select select'], 'one selection process, no pace_select program');
    const program = await selectActiveSet({ ...base, workDir: join(dir, `program-${memoryLimit}`), memoryLimit, via: 'program' });
    assertConsistent(inProcess, 20);
    assert.ok(inProcess.counts.gamma > 0, 'the fill ran');
    assert.equal(inProcess.paceSelectReturned, program.paceSelectReturned);
    assert.deepEqual(inProcess.indices.slice(0, inProcess.counts.pace_select), program.indices.slice(0, program.counts.pace_select), `same D-optimal choice at -mem ${memoryLimit}`);
    const log = await readFile(join(dir, `in-${memoryLimit}`, 'mlip_select.log'), 'utf8');
    assert.match(log, memoryLimit === '8GB' ? /Single-shot mode/ : /Batch mode/);
  }
});

test('randomFraction: floor(n x share) drawn at random after D-optimality and the fill chose the rest, the same draw for the same inputs, on both paths (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-'));
  const p = await pool(dir, 30, toolchain, 29);
  const base = { pool: p, potential: null, config: config(), toolchain };
  const plain = await selectActiveSet({ ...base, n: 6, workDir: join(dir, 'plain') });
  const mixed = await selectActiveSet({ ...base, n: 11, workDir: join(dir, 'mixed'), strategy: { randomFraction: 0.5 } });
  assertConsistent(mixed, 11);
  assert.equal(mixed.counts.random, 5, 'floor(11 x 0.5)');
  assert.deepEqual(mixed.chosenBy.slice(6), Array<string>(5).fill('random'));
  assert.deepEqual(mixed.indices.slice(0, 6), plain.indices, 'the other 6 are what the selection alone picks for n = 6');
  assert.ok(mixed.strategy && mixed.strategy.random === 5 && Number.isInteger(mixed.strategy.seed));
  assert.deepEqual((await readBack(toolchain.python, mixed.selected.path)).index, mixed.indices);
  const again = await selectActiveSet({ ...base, n: 11, workDir: join(dir, 'again'), strategy: { randomFraction: 0.5 } });
  assert.deepEqual(again.indices, mixed.indices, 'the seed is derived from the inputs: a retry elsewhere draws the same');
  const seeds = await Promise.all([1, 2, 3].map((seed) => selectActiveSet({ ...base, n: 11, workDir: join(dir, `seed-${seed}`), strategy: { randomFraction: 0.5, seed } })));
  assert.ok(new Set(seeds.map((r) => JSON.stringify(r.indices.slice(6)))).size > 1, 'other seeds draw other structures');
  const program = await selectActiveSet({ ...base, n: 11, workDir: join(dir, 'program'), via: 'program', strategy: { randomFraction: 0.5, seed: 1 } });
  assertConsistent(program, 11);
  assert.equal(program.counts.random, 5);
  const out = await readFile(join(dir, 'program', 'pace_select.out'), 'utf8');
  assert.match(out, /Selection top 6 structures/, 'pace_select is asked (-m) for the 6 that are not random');
});

test('gammaMin/gammaMax: only structures graded within them are candidates; bad options are BadInputErrors naming pool.<field> (simulator)', async () => {
  const toolchain = simulatorToolchain();
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-'));
  const p = await pool(dir, 30, toolchain, 31);
  // A potential with an active set: generation 0's unfitted shape, its .asi from pace_activeset on another pool.
  const shape = await selectActiveSet({ pool: p, n: 1, potential: null, config: config(), workDir: join(dir, 'shape'), toolchain });
  const train = await pool(dir, 12, toolchain, 32);
  const asiDir = join(dir, 'asi');
  await execa('mkdir', ['-p', asiDir]);
  await writeFile(join(asiDir, 'pot.yaml'), await readFile(shape.potential));
  const trainPickle = join(dir, 'train.pckl.gzip');
  await runSelectScript({ toolchain }, 'prepare', ['--pool', train, '--out', trainPickle], join(dir, 'prep.log'));
  const made = await runPace({ toolchain }, 'pace_activeset', ['pot.yaml', '-d', trainPickle, '-a'], asiDir);
  assert.equal(made.exitCode, 0, made.tail.join('\n'));
  const base = { pool: p, n: 8, potential: join(asiDir, 'pot.yaml'), activeSet: join(asiDir, 'pot.asi'), toolchain };
  const all = await selectActiveSet({ ...base, workDir: join(dir, 'all'), strategy: { gammaMax: null } });
  assert.equal(all.candidates, null, 'gammaMax null: no threshold');
  // Absent: the default upper threshold, graded against the .asi.
  const byDefault = await selectActiveSet({ ...base, workDir: join(dir, 'default') });
  assert.equal(byDefault.strategy?.gammaMax, DEFAULT_GAMMA_MAX);
  assert.ok(byDefault.candidates, 'the default threshold was applied');
  assert.equal(byDefault.candidates.kept + byDefault.candidates.below + byDefault.candidates.above, 30);
  const kept = await selectActiveSet({ ...base, workDir: join(dir, 'kept'), strategy: { gammaMax: 1e12 } });
  assert.deepEqual(kept.candidates, { kept: 30, below: 0, above: 0 });
  assert.deepEqual(kept.indices, all.indices, 'a threshold that keeps everything changes nothing');
  // The pool's grades against the .asi before selecting, computed independently: the cut is their median.
  const grades = await poolGrades(toolchain.python, p, join(asiDir, 'pot.yaml'), join(asiDir, 'pot.asi'));
  const cut = [...grades].sort((a, b) => a - b)[15]!;
  const capped = await selectActiveSet({ ...base, workDir: join(dir, 'capped'), strategy: { gammaMax: cut } });
  const floored = await selectActiveSet({ ...base, workDir: join(dir, 'floored'), strategy: { gammaMin: cut, gammaMax: null } });
  for (const r of [capped, floored]) {
    assert.ok(r.candidates !== null && r.candidates !== undefined);
    assert.equal(r.candidates.kept + r.candidates.below + r.candidates.above, 30);
    assert.equal(r.indices.length, Math.min(8, r.candidates.kept));
    assert.equal(new Set(r.indices).size, r.indices.length);
  }
  assert.ok(capped.candidates!.above > 0 && capped.candidates!.below === 0);
  assert.ok(floored.candidates!.below > 0 && floored.candidates!.above === 0);
  assert.ok(capped.indices.every((i) => grades[i]! <= cut), 'capped: nothing graded above gammaMax');
  assert.ok(floored.indices.every((i) => grades[i]! >= cut), 'floored: nothing graded below gammaMin');
  assert.equal(capped.candidates!.above, grades.filter((g) => g > cut).length);
  assert.equal(floored.candidates!.below, grades.filter((g) => g < cut).length);
  await assert.rejects(selectActiveSet({ ...base, workDir: join(dir, 'none'), strategy: { gammaMin: Math.max(...grades) * 10, gammaMax: null } }), (e: unknown) => e instanceof BadInputError && /no structure of the pool .* has a grade within/.test(e.message));
  await assert.rejects(selectActiveSet({ ...base, workDir: join(dir, 'b1'), strategy: { randomFraction: 1 } }), (e: unknown) => e instanceof BadInputError && /pool\.randomFraction: must be within \[0, 1\)/.test(e.message));
  await assert.rejects(selectActiveSet({ ...base, workDir: join(dir, 'b2'), strategy: { gammaMin: 3, gammaMax: 2 } }), (e: unknown) => e instanceof BadInputError && /pool\.gammaMin: must be below gammaMax \(2\); got 3/.test(e.message));
  await assert.rejects(selectActiveSet({ ...base, workDir: join(dir, 'b3'), strategy: { gammaMax: -1 } }), (e: unknown) => e instanceof BadInputError && /pool\.gammaMax: must be a finite number >= 0/.test(e.message));
  await assert.rejects(selectActiveSet({ ...base, workDir: join(dir, 'b4'), via: 'program', strategy: { gammaMax: 5 } }), (e: unknown) => e instanceof BadInputError && /need the in-process selection/.test(e.message));
  // Generation 0 has no active set to grade against: thresholds given are not applied, and a warning says so;
  // the default is not applied either, silently; nor on the program path.
  const unfitted = await selectActiveSet({ pool: p, n: 3, potential: null, config: config(), workDir: join(dir, 'gen0'), toolchain, strategy: { gammaMax: 2 } });
  assert.equal(unfitted.indices.length, 3);
  assert.match(unfitted.warnings.join('\n'), /gamma thresholds were not applied: the potential has no active set/);
  const unfittedDefault = await selectActiveSet({ pool: p, n: 3, potential: null, config: config(), workDir: join(dir, 'gen0-default'), toolchain });
  assert.equal(unfittedDefault.candidates, null);
  assert.doesNotMatch(unfittedDefault.warnings.join('\n'), /gamma threshold/);
  const programDefault = await selectActiveSet({ ...base, workDir: join(dir, 'program-default'), via: 'program' });
  assert.equal(programDefault.candidates, null);
  assert.equal(programDefault.strategy, undefined, 'no option applied');
});

/** Every pool structure's largest grade against a potential's .asi, by the selection package's own functions. */
async function poolGrades(python: string, poolFile: string, potential: string, asi: string): Promise<number[]> {
  const code = [
    'import sys, json',
    'from mlip_trainer.selection.pool import read_pool',
    'from mlip_trainer.selection.projections import pyace_projector',
    'from mlip_trainer.selection.gamma import active_set_inverses, pool_gamma_by_batches',
    'frame = read_pool(sys.argv[1])',
    'project, nfuncs = pyace_projector(sys.argv[2])',
    'g = pool_gamma_by_batches(list(frame["ase_atoms"]), project, active_set_inverses(nfuncs, sys.argv[3], {}), 50)',
    'print(json.dumps([float(x) for x in g]))',
  ].join('\n');
  const r = await execa(python, ['-c', code, poolFile, potential, asi], { env: { PYTHONPATH: [...(simulatorToolchain().pythonPath ?? []), PYTHON_SRC].join(delimiter) } });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as number[];
}
