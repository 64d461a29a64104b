// The accumulated dataset under stress: concurrent updaters, a writer killed mid-write, and the
// stable split seen from Node. Real bridge processes, real pickles read back by pandas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, watch, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetStore, type DatasetManifest } from '../../../src/dataset/store.js';
import { runBridge } from '../../../src/dataset/bridge.js';
import { labelEmt } from '../../../src/dataset/emt.js';
import { runProgram } from '../../../src/process/run-program.js';
import { VENV_PYTHON } from '../../../src/paths.js';
import { helperInvocation } from '../../../src/process/helper.js';
import { BadInputError } from '../../../src/errors.js';

const bridge = (dir: string) => ({ python: VENV_PYTHON, logFile: join(dir, 'bridge.log') });

async function exportedNames(store: DatasetStore, dir: string, split: 'all' | 'train' | 'test' = 'all'): Promise<string[]> {
  const out = join(dir, `export-${split}-${Date.now()}.jsonl`);
  const r = await store.export(out, 'jsonl', split);
  const names = (await readFile(out, 'utf8')).trim().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { name: string }).name);
  assert.equal(names.length, r.rows);
  return names;
}

test('4 concurrent updaters of 250 structures each leave exactly 1000', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ds-race-'));
  const files = await Promise.all(
    [1, 2, 3, 4].map(async (seed) => {
      const out = join(dir, `batch${seed}.jsonl`);
      await labelEmt({ out, count: 250, seed, atoms: 4 });
      return out;
    }),
  );
  const path = join(dir, 'data', 'accumulated.pckl.gzip');
  const results = await Promise.all(
    files.map((f, i) => new DatasetStore(path, bridge(dir), { testFraction: 0.1 }).appendFiles([f], ['Cu', 'Ni'], { via: `updater-${i}` })),
  );
  assert.deepEqual(results.map((r) => r.added), [250, 250, 250, 250]);
  assert.deepEqual(results.map((r) => r.total).sort((a, b) => a - b), [250, 500, 750, 1000]);
  const store = new DatasetStore(path, bridge(dir));
  const names = await exportedNames(store, dir);
  assert.equal(names.length, 1000, 'rows in the pickle, read back by pandas');
  assert.equal(new Set(names).size, 1000);
  const manifest = await store.info();
  assert.equal(manifest.total, 1000);
  assert.equal(manifest.structures.train + manifest.structures.test, 1000);
  assert.deepEqual(manifest.history.map((h) => h.via).sort(), ['updater-0', 'updater-1', 'updater-2', 'updater-3']);
  const train = await exportedNames(store, dir, 'train');
  const test = await exportedNames(store, dir, 'test');
  assert.equal(train.length + test.length, 1000);
  assert.ok(test.length > 50 && test.length < 150, `about 10% test, got ${test.length}`);
});

/** Starts an append and SIGKILLs it as soon as a temporary file named `prefix` appears. */
async function killDuring(dir: string, dataset: string, results: string, prefix: string): Promise<void> {
  const dataDir = join(dataset, '..');
  let pid = 0;
  let seen = false;
  const stopWatching = new AbortController();
  // The folder's change events (inotify), not a poll: the kill lands while the file is written.
  const watcher = (async () => {
    try {
      for await (const { filename } of watch(dataDir, { signal: stopWatching.signal })) {
        if (pid !== 0 && filename?.startsWith(prefix) && filename.endsWith('.tmp')) {
          seen = true;
          process.kill(pid, 'SIGKILL');
          return;
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  const helper = helperInvocation('dataset', VENV_PYTHON);
  const res = await runProgram({
    command: [...helper.command, 'append', '--dataset', dataset, '--results', results, '--test-fraction', '0.1'],
    env: helper.env,
    cwd: dir,
    logFile: join(dir, 'killed.log'),
    onSpawn: (p) => {
      pid = p;
    },
  });
  stopWatching.abort();
  await watcher;
  assert.ok(seen, `never saw a ${prefix}*.tmp file`);
  assert.equal(res.signal, 'SIGKILL', 'the writer was killed, not finished');
}

test('a writer killed mid-write leaves a readable dataset, and the next update completes it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ds-kill-'));
  const dataset = join(dir, 'data', 'accumulated.pckl.gzip');
  await runBridge('synthesize', ['--out', dataset, '--count', '3000', '--atoms', '64', '--seed', '7', '--test-fraction', '0.1'], bridge(dir));
  const batch = join(dir, 'batch.jsonl');
  await runBridge('synthesize-results', ['--out', batch, '--count', '200', '--atoms', '64', '--seed', '8'], bridge(dir));
  const before = await readFile(dataset);
  const store = new DatasetStore(dataset, bridge(dir), { testFraction: 0.1 });

  // Killed while writing the train file, then while writing the accumulated file itself.
  for (const prefix of ['.train.pckl.gzip.', '.accumulated.pckl.gzip.']) {
    await killDuring(dir, dataset, batch, prefix);
    assert.deepEqual(await readFile(dataset), before, `accumulated file unchanged after a kill during ${prefix}`);
    assert.equal((await exportedNames(store, dir)).length, 3000, 'pandas reads the previous dataset whole');
  }

  const done = await store.appendFiles([batch]);
  assert.equal(done.added, 200);
  assert.equal(done.total, 3200);
  const left = (await readdir(join(dir, 'data'))).filter((n) => n.endsWith('.tmp'));
  assert.deepEqual(left, [], 'temporary files of the killed writers are removed');
  const train = await exportedNames(store, dir, 'train');
  const test = await exportedNames(store, dir, 'test');
  assert.equal(train.length + test.length, 3200, 'train and test files are rebuilt to match');
  const manifest = JSON.parse(await readFile(join(dir, 'data', 'manifest.json'), 'utf8')) as DatasetManifest;
  const last = manifest.history.at(-1) as unknown as { indexRebuilt?: boolean; removedTemporaries?: string[] };
  assert.equal(last.indexRebuilt, true);
  assert.ok((last.removedTemporaries ?? []).length >= 1);
});

test('a bad record in any file rejects the batch with file, record, field and value, and touches nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ds-bad-'));
  const good = join(dir, 'good.jsonl');
  await labelEmt({ out: good, count: 6, seed: 3 });
  const path = join(dir, 'data', 'accumulated.pckl.gzip');
  const store = new DatasetStore(path, bridge(dir), { testFraction: 0.5 });
  await store.appendFiles([good], ['Cu', 'Ni']);
  const snapshot = async () => Promise.all(['accumulated.pckl.gzip', 'train.pckl.gzip', 'test.pckl.gzip', 'accumulated.index.json', 'manifest.json'].map((n) => readFile(join(dir, 'data', n))));
  const before = await snapshot();
  const more = join(dir, 'more.jsonl');
  await labelEmt({ out: more, count: 3, seed: 4 });
  const lines = (await readFile(more, 'utf8')).trim().split('\n');
  const rec = JSON.parse(lines[2]!) as { structure: { positions: number[][] } };
  rec.structure.positions[1] = [...rec.structure.positions[0]!];
  const bad = join(dir, 'bad.jsonl');
  await writeFile(bad, `${lines[0]}\n${lines[1]}\n${JSON.stringify(rec)}\n`);
  await assert.rejects(store.appendFiles([more, bad], ['Cu', 'Ni']), (err: Error) => {
    assert.ok(err instanceof BadInputError);
    assert.match(err.message, /bad\.jsonl: results\[2\]\.structure\.positions: atoms on top of each other .*\(got atoms 0 and 1 are 0 Å apart\)/);
    return true;
  });
  assert.deepEqual(await snapshot(), before);
});
