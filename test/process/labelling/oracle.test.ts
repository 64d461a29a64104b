// The oracle through the dataset helper, as the labelSelection activity runs it, and the
// calculator registry the workflow checks its input against, held equal to the Python one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBridge } from '../../../src/dataset/bridge.js';
import { labelEmt } from '../../../src/dataset/emt.js';
import { ORACLE_CALCULATORS } from '../../../src/domain/labeller.js';
import { labelWithOracle } from '../../../src/labelling/oracle.js';
import { BadInputError } from '../../../src/errors.js';
import { VENV_PYTHON } from '../../../src/paths.js';

test('the workflow-side calculator registry equals the oracle\'s own (mlip-dataset calculators)', async () => {
  const reply = await runBridge('calculators', [], { python: VENV_PYTHON });
  assert.deepEqual(
    Object.fromEntries(reply.calculators.map((c) => [c.name, [...c.elements].sort()])),
    Object.fromEntries(Object.entries(ORACLE_CALCULATORS).map(([k, v]) => [k, [...v].sort()])),
  );
});

test('labelWithOracle labels a results file once, writes the rest of the pool, and a second call labels nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mlip-oracle-'));
  const pool = join(dir, 'pool.jsonl');
  await labelEmt({ out: pool, count: 5, seed: 9 });
  const common = {
    structures: pool,
    out: join(dir, 'labelled', 'generation_001', 'oracle-emt.jsonl'),
    calculator: 'emt',
    ledger: join(dir, 'labelled'),
    pool,
    remaining: join(dir, 'rest.pckl.gzip'),
    lock: join(dir, 'o.lock'),
    log: join(dir, 'audit.jsonl'),
    python: VENV_PYTHON,
    logFile: join(dir, 'oracle.log'),
  };
  const first = await labelWithOracle(common);
  assert.deepEqual(first.labelled, [0, 1, 2, 3, 4]);
  assert.equal(first.remaining?.rows, 0);
  const second = await labelWithOracle(common);
  assert.deepEqual([second.labelled, second.skipped.length, second.records], [[], 5, 5]);
  assert.equal((await readFile(common.log, 'utf8')).trim().split('\n').length, 5);
  await assert.rejects(labelWithOracle({ ...common, calculator: 'dft' }), (err: unknown) => err instanceof BadInputError && /unknown calculator 'dft'/.test(err.message));
});
