// Bad input through the real CLI: a non-zero exit and one message naming file, field and value,
// before anything is started or written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../../src/paths.js';

const BIN = join(PROJECT_ROOT, 'bin', 'mlip-trainer.js');
const GOOD_RESULT =
  '{"structure":{"symbols":["Cu","Ni"],"positions":[[0,0,0],[1.8,1.8,0]],"cell":[[3.6,0,0],[0,3.6,0],[0,0,3.6]],"pbc":[true,true,true]},"energy":-7.0,"forces":[[0,0,0],[0,0,0]]}';

async function cli(files: Record<string, string>, args: (dir: string) => string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'cli-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  // An address nobody serves: validation must fail before any connection is tried.
  return execa('node', [BIN, ...args(dir)], { reject: false, env: { TEMPORAL_ADDRESS: '127.0.0.1:1' } });
}

const trainArgs = (config: string) => (dir: string) => ['train', '--config', join(dir, config), '--results', join(dir, 'r.jsonl'), '--campaign', 'c'];

for (const [label, yaml, expected] of [
  ['a negative cutoff', 'elements: [Cu, Ni]\ncutoff: -1\n', /pacemaker\.cutoff: must be > 0 and <= 20 Å \(got -1\)/],
  ['an element pacemaker does not know', 'elements: [Cu, Kk]\ncutoff: 5\n', /pacemaker\.elements\.1: unknown chemical symbol \(got "Kk"\)/],
  ['max_epochs: 0', 'elements: [Cu, Ni]\ncutoff: 5\nmax_epochs: 0\n', /pacemaker\.max_epochs: must be at least 1 \(got 0\)/],
] as const) {
  test(`a config with ${label} exits 2 naming the file, field and value`, async () => {
    const r = await cli({ 'bad.yml': yaml, 'r.jsonl': GOOD_RESULT }, trainArgs('bad.yml'));
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, /bad\.yml: invalid configuration/);
    assert.match(r.stderr, expected);
  });
}

test('a results file whose forces do not match its atom count exits 2 naming the file, record and field', async () => {
  const bad = GOOD_RESULT.replace('"forces":[[0,0,0],[0,0,0]]', '"forces":[[0,0,0]]');
  const r = await cli({ 'ok.yml': 'elements: [Cu, Ni]\ncutoff: 5\n', 'r.jsonl': `${GOOD_RESULT}\n${bad}\n` }, trainArgs('ok.yml'));
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /r\.jsonl: results\[1\]\.forces: has 1 rows but the structure has 2 atoms \(got 1\)/);
});

test('a results file holding NaN exits 2 naming the component', async () => {
  const bad = GOOD_RESULT.replace('"energy":-7.0', '"energy":NaN');
  const r = await cli({ 'ok.yml': 'elements: [Cu, Ni]\ncutoff: 5\n', 'r.jsonl': bad }, trainArgs('ok.yml'));
  assert.equal(r.exitCode, 2, r.stderr);
  assert.match(r.stderr, /r\.jsonl: results\[0\]\.energy: .*\(got NaN\)/);
});

test('a bad flag value names the flag', async () => {
  const r = await cli({}, () => ['label-emt', '--out', '/tmp/x.jsonl', '--count', 'many']);
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /--count must be a positive integer, got "many"/);
});

const poolArgs = (...rest: string[]) => (dir: string) => [...trainArgs('ok.yml')(dir), ...rest.map((a) => a.replace('DIR', dir))];
for (const [label, args, expected] of [
  ['-n 0', poolArgs('--pool', 'DIR/pool.jsonl', '-n', '0'), /-n must be a positive integer, got "0"/],
  ['-n many', poolArgs('--pool', 'DIR/pool.jsonl', '-n', 'many'), /-n must be a positive integer, got "many"/],
  ['a missing pool file', poolArgs('--pool', 'DIR/missing.jsonl', '-n', '2'), /--pool: file not found \(got ".*\/missing\.jsonl"\)/],
  ['a pool that is neither results nor a dataset pickle', poolArgs('--pool', 'DIR/pool.xyz', '-n', '2'), /--pool must be a results file \(\.json, \.jsonl\) or a dataset pickle \(\.pckl\.gzip, \.pkl\.gz\), got ".*\/pool\.xyz"/],
  ['--pool without -n', poolArgs('--pool', 'DIR/pool.jsonl'), /--pool needs -n N, how many structures to select \(got --pool ".*\/pool\.jsonl" alone\)/],
  ['-n without --pool', poolArgs('-n', '2'), /-n goes with --pool FILE/],
  ['a bad --pool-memory-limit', poolArgs('--pool', 'DIR/pool.jsonl', '-n', '2', '--pool-memory-limit', '8G'), /--pool-memory-limit must look like 8GB or 500MB, got "8G"/],
] as const) {
  test(`train with ${label} exits 2 naming the flag and value`, async () => {
    const r = await cli({ 'ok.yml': 'elements: [Cu, Ni]\ncutoff: 5\n', 'r.jsonl': GOOD_RESULT, 'pool.jsonl': GOOD_RESULT, 'pool.xyz': '1\n\nCu 0 0 0\n' }, args);
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, expected);
  });
}
