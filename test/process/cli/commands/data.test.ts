// `mlip-trainer dataset add | info | export` through the real CLI, on a temporary workspace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../../../src/paths.js';
import { labelEmt } from '../../../../src/dataset/emt.js';
import type { DatasetManifest, DatasetSummary } from '../../../../src/dataset/store.js';

const BIN = join(PROJECT_ROOT, 'bin', 'mlip-trainer.js');
const mlip = (args: string[]) => execa('node', [BIN, ...args], { reject: false, env: { MLIP_PACEMAKER: 'simulator' } });

test('dataset add, info and export: JSONL and extxyz in, duplicates skipped, extxyz out and back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ds-cli-'));
  const ws = ['--campaign', 'cuni', '--workspace', join(dir, 'ws')];
  const results = join(dir, 'r.jsonl');
  await labelEmt({ out: results, count: 12, seed: 31 });
  const config = join(dir, 'cfg.yml');
  await writeFile(config, 'elements: [Cu, Ni]\ncutoff: 5\ntest_size: 0.25\n');

  const add = await mlip(['dataset', 'add', results, '--config', config, '--json', ...ws]);
  assert.equal(add.exitCode, 0, add.stderr);
  const first = JSON.parse(add.stdout) as DatasetSummary;
  assert.equal(first.added, 12);
  assert.equal(first.trainPath, join(dir, 'ws', 'cuni', 'data', 'train.pckl.gzip'));

  const out = join(dir, 'all.extxyz');
  const exp = await mlip(['dataset', 'export', '--format', 'extxyz', '--out', out, ...ws]);
  assert.equal(exp.exitCode, 0, exp.stderr);
  assert.match(exp.stdout, /wrote 12 structure\(s\)/);
  assert.match(await readFile(out, 'utf8'), /Properties=species:S:1:pos:R:3:forces:R:3.* energy=/);

  const again = await mlip(['dataset', 'add', out, results, '--json', ...ws]);
  assert.equal(again.exitCode, 0, again.stderr);
  assert.deepEqual([(JSON.parse(again.stdout) as DatasetSummary).added, (JSON.parse(again.stdout) as DatasetSummary).duplicates], [0, 24]);

  const info = await mlip(['dataset', 'info', ...ws]);
  assert.equal(info.exitCode, 0, info.stderr);
  assert.match(info.stdout, /structures 12 \(train \d+, test \d+\)/);
  assert.match(info.stdout, /history \(2 update\(s\), newest last\):/);
  const json = JSON.parse((await mlip(['dataset', 'info', '--json', ...ws])).stdout) as DatasetManifest;
  assert.equal(json.testFraction, 0.25, 'the fraction given once is remembered');
  assert.equal(json.history[1]!.duplicates, 24);
});

test('dataset add with a bad record exits 2 naming file, record, field and value, and writes nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ds-cli-bad-'));
  const bad = join(dir, 'bad.jsonl');
  await writeFile(
    bad,
    '{"structure":{"symbols":["Cu","Cu"],"positions":[[0,0,0],[1.8,1.8,0]],"cell":[[3.6,0,0],[7.2,0,0],[0,0,3.6]],"pbc":[true,true,true]},"energy":-7.0,"forces":[[0,0,0],[0,0,0]]}\n',
  );
  const r = await mlip(['dataset', 'add', bad, '--elements', 'Cu', '--campaign', 'c', '--workspace', join(dir, 'ws')]);
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /bad\.jsonl: results\[0\]\.structure\.cell: periodic cell vectors \[0, 1, 2\] are linearly dependent \(degenerate cell\) \(got /);
  assert.deepEqual(await readdir(join(dir, 'ws', 'c', 'data')).catch(() => []), [], 'no dataset file was created');
  const flag = await mlip(['dataset', 'add', bad, '--test-size', '1.5', '--campaign', 'c', '--workspace', join(dir, 'ws')]);
  assert.equal(flag.exitCode, 2);
  assert.match(flag.stderr, /--test-size must be a fraction in \[0, 1\), got "1\.5"/);
});
