// selectActiveSet against the pacemaker simulator and, when installed, the real pacemaker: real
// pools of EMT-labelled structures, real pace_select runs, pickles read back by pandas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { BadInputError } from '../../../src/errors.js';
import { PacemakerTrainerConfig, type ActiveSetSelection } from '../../../src/domain/schemas.js';
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
  assert.equal(r.counts.pace_select + r.counts.gamma, n);
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
