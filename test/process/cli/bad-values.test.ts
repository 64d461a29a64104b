// Every command of the real CLI with bad values: one line naming the flag or field and the
// value, exit 2 for bad input and 1 for the environment, never a stack trace (unless MLIP_DEBUG=1).
// No Temporal server: an address nobody serves stands for an unreachable one.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../../src/paths.js';

const BIN = join(PROJECT_ROOT, 'bin', 'mlip-trainer.js');
const GOOD =
  '{"structure":{"symbols":["Cu","Ni"],"positions":[[0,0,0],[1.8,1.8,0]],"cell":[[3.6,0,0],[0,3.6,0],[0,0,3.6]],"pbc":[true,true,true]},"energy":-7.0,"forces":[[0,0,0],[0,0,0]]}';
const STACK_TRACE = /^\s+at .+\(.*:\d+:\d+\)$/m;

let dir = '';
const env = { MLIP_PACEMAKER: 'simulator', TEMPORAL_ADDRESS: '127.0.0.1:1' };
const mlip = (args: string[], extra: Record<string, string> = {}) =>
  execa('node', [BIN, ...args.map((a) => a.replaceAll('DIR', dir))], { reject: false, env: { ...env, ...extra } });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-bad-'));
  await mkdir(join(dir, 'folder'));
  await writeFile(join(dir, 'ok.yml'), 'elements: [Cu, Ni]\ncutoff: 5\n');
  await writeFile(join(dir, 'bad.yml'), 'elements: [Cu\n');
  await writeFile(join(dir, 'r.jsonl'), `${GOOD}\n`);
  await writeFile(join(dir, 'empty.jsonl'), '');
  await writeFile(join(dir, 'garbage.bin'), Buffer.from([0, 1, 2, 255, 254, 7, 0]));
  await writeFile(join(dir, 'deep.json'), `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
  await writeFile(join(dir, 'deep.jsonl'), `${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
  // An extended XYZ frame whose energy is far beyond physics.
  await writeFile(
    join(dir, 'absurd.extxyz'),
    '2\nLattice="3.6 0 0 0 3.6 0 0 0 3.6" Properties=species:S:1:pos:R:3:forces:R:3 energy=1e30 pbc="T T T"\n' +
      'Cu 0 0 0 0.1 0 0\nNi 1.8 1.8 0 -0.1 0 0\n',
  );
});

/** [what, arguments, exit status, what stderr must say] */
const CASES: [string, string[], number, RegExp][] = [
  ['label-emt --count beyond any integer', ['label-emt', '--out', 'DIR/x.jsonl', '--count', '99999999999999999999'], 2, /--count must be a positive integer, got "99999999999999999999"/],
  ['label-emt --count in exponent notation', ['label-emt', '--out', 'DIR/x.jsonl', '--count', '1e400'], 2, /--count must be a positive integer, got "1e400"/],
  ['label-emt --seed past 2^32', ['label-emt', '--out', 'DIR/x.jsonl', '--seed', '4294967296'], 2, /--seed must be at most 4294967295, got "4294967296"/],
  ['label-emt --elements EMT lacks', ['label-emt', '--out', 'DIR/x.jsonl', '--elements', 'Fe'], 2, /--elements: EMT supports .* \(got Fe\)/],
  ['label-emt --out a folder', ['label-emt', '--out', 'DIR/folder'], 2, /--out: is a directory; give a file name \(got ".*folder"\)/],
  ['dataset add a folder', ['dataset', 'add', 'DIR/folder', '--campaign', 'c', '--workspace', 'DIR/ws'], 2, /results file .*folder: is a directory, not a file/],
  ['dataset add a missing file', ['dataset', 'add', 'DIR/nope.extxyz', '--campaign', 'c', '--workspace', 'DIR/ws'], 2, /results file .*nope\.extxyz: file not found/],
  ['dataset add an empty file', ['dataset', 'add', 'DIR/empty.jsonl', '--campaign', 'c', '--workspace', 'DIR/ws'], 2, /results file .*empty\.jsonl holds no results \(the file is empty\)/],
  ['dataset add binary garbage', ['dataset', 'add', 'DIR/garbage.bin', '--campaign', 'c', '--workspace', 'DIR/ws'], 2, /garbage\.bin: not a file format ASE reads/],
  ['dataset add deeply nested JSON', ['dataset', 'add', 'DIR/deep.json', '--campaign', 'c', '--workspace', 'DIR/ws'], 2, /deep\.json: results\[0\]: .*nested too deeply to show/],
  ['dataset add deeply nested JSONL', ['dataset', 'add', 'DIR/deep.jsonl', '--campaign', 'c', '--workspace', 'DIR/ws'], 2, /deep\.jsonl: .*(nested too deeply|not valid JSON)/],
  ['dataset add an energy of 1e30 eV', ['dataset', 'add', 'DIR/absurd.extxyz', '--campaign', 'c', '--workspace', 'DIR/ws'], 2, /absurd\.extxyz: results\[0\]\.energy: \|energy\| \/ atoms = 5e\+29 eV\/atom exceeds the limit of 1000 eV\/atom .* \(got 1e\+30\)/],
  ['dataset add --test-size NaN', ['dataset', 'add', 'DIR/r.jsonl', '--campaign', 'c', '--workspace', 'DIR/ws', '--test-size', 'NaN'], 2, /--test-size must be a fraction in \[0, 1\), got "NaN"/],
  ['dataset add --max-force 0', ['dataset', 'add', 'DIR/r.jsonl', '--campaign', 'c', '--workspace', 'DIR/ws', '--max-force', '0'], 2, /--max-force must be a positive number, got "0"/],
  ['dataset add --max-energy-per-atom abc', ['dataset', 'add', 'DIR/r.jsonl', '--campaign', 'c', '--workspace', 'DIR/ws', '--max-energy-per-atom', 'abc'], 2, /--max-energy-per-atom must be a positive number, got "abc"/],
  ['dataset add --reference-energy Cu=x', ['dataset', 'add', 'DIR/r.jsonl', '--campaign', 'c', '--workspace', 'DIR/ws', '--reference-energy', 'Cu=x'], 2, /--reference-energy must be .*, got "Cu=x"/],
  ['dataset add --config a folder', ['dataset', 'add', 'DIR/r.jsonl', '--campaign', 'c', '--workspace', 'DIR/ws', '--config', 'DIR/folder'], 2, /folder: is a directory, not a file/],
  ['dataset add --config not YAML', ['dataset', 'add', 'DIR/r.jsonl', '--campaign', 'c', '--workspace', 'DIR/ws', '--config', 'DIR/bad.yml'], 2, /bad\.yml: not valid YAML: .* at line 2, column 1/],
  ['dataset add --campaign with a slash', ['dataset', 'add', 'DIR/r.jsonl', '--campaign', 'a/b', '--workspace', 'DIR/ws'], 2, /--campaign must be .* \(got "a\/b"\)/],
  ['dataset add --workspace a file', ['dataset', 'add', 'DIR/r.jsonl', '--campaign', 'c', '--workspace', 'DIR/garbage.bin'], 2, /--workspace: is a file, not a folder \(got ".*garbage\.bin"\)/],
  ['dataset export --format xyz', ['dataset', 'export', '--campaign', 'c', '--workspace', 'DIR/ws', '--out', 'DIR/x', '--format', 'xyz'], 2, /argument 'xyz' is invalid\. Allowed choices are extxyz, jsonl, pacemaker/],
  ['dataset export --out a folder', ['dataset', 'export', '--campaign', 'c', '--workspace', 'DIR/ws', '--out', 'DIR/folder'], 2, /--out: is a directory; give a file name/],
  ['dataset info of an empty campaign', ['dataset', 'info', '--campaign', 'nothing', '--workspace', 'DIR/ws'], 2, /dataset not found: .*nothing.* \(nothing has been added yet\)/],
  ['train --generation 1000', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--generation', '1000'], 2, /--generation must be at most 999, got "1000"/],
  ['train --campaign with a space', ['train', '--config', 'DIR/ok.yml', '--campaign', 'bad name'], 2, /--campaign must be .* \(got "bad name"\)/],
  ['train --heartbeat-timeout 99999', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--heartbeat-timeout', '99999'], 2, /--heartbeat-timeout must be at most 3600, got "99999"/],
  ['train --results a folder', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--results', 'DIR/folder'], 2, /--results: results file .*folder: is a directory, not a file/],
  ['train --results binary garbage', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--results', 'DIR/garbage.bin'], 2, /--results: .*garbage\.bin: not a file format ASE reads/],
  ['train --results an energy of 1e30 eV', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--results', 'DIR/absurd.extxyz'], 2, /absurd\.extxyz: results\[0\]\.energy: .* exceeds the limit of 1000 eV\/atom .* \(got 1e\+30\)/],
  ['train --initial-potential missing', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--initial-potential', 'DIR/nope.yaml'], 2, /--initial-potential: file not found \(got ".*nope\.yaml"\)/],
  ['train --config missing', ['train', '--config', 'DIR/nope.yml', '--campaign', 'c'], 2, /nope\.yml: file not found/],
  ['train --pool-random-fraction without --pool', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--pool-random-fraction', '0.5'], 2, /--pool-random-fraction goes with --pool FILE/],
  ['train --pool-random-fraction 1.5', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--pool', 'DIR/r.jsonl', '-n', '2', '--pool-random-fraction', '1.5'], 2, /--pool-random-fraction must be a number within \[0, 1\), got "1.5"/],
  ['train --pool-gamma-min above --pool-gamma-max', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--pool', 'DIR/r.jsonl', '-n', '2', '--pool-gamma-min', '4', '--pool-gamma-max', '3'], 2, /--pool-gamma-min \(4\) must be below --pool-gamma-max \(3\)/],
  ['train --type-map without --pool', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--type-map', '1=Cu'], 2, /--type-map goes with --pool FILE/],
  ['train --type-map malformed', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--pool', 'DIR/r.jsonl', '-n', '1', '--type-map', '1:Cu'], 2, /--type-map must be type=element pairs like 1=Cu,2=Ni, got "1:Cu"/],
  ['train --pool an empty file', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--pool', 'DIR/empty.jsonl', '-n', '1'], 2, /--pool: is empty \(got ".*empty\.jsonl"\)/],
  ['train with no server', ['train', '--config', 'DIR/ok.yml', '--campaign', 'c', '--results', 'DIR/r.jsonl'], 1, /^mlip-trainer: cannot reach the Temporal server at 127\.0\.0\.1:1 \(ECONNREFUSED\); start the embedded one with `mlip-trainer dev` .*TEMPORAL_ADDRESS/],
  ['status with no target', ['status'], 2, /name the generation: --campaign <name> --generation <n>, or --workflow-id <id>/],
  ['status with no server', ['status', '--campaign', 'c', '--generation', '0'], 1, /cannot reach the Temporal server at 127\.0\.0\.1:1/],
  ['watch --interval 0', ['watch', '--campaign', 'c', '--generation', '0', '--interval', '0'], 2, /--interval must be a positive integer, got "0"/],
  ['cancel --workflow-id empty', ['cancel', '--workflow-id', ''], 2, /--workflow-id must not be empty/],
  ['stop --generation -1', ['stop', '--campaign', 'c', '--generation', '-1'], 2, /--generation must be a non-negative integer, got "-1"/],
  ['list --status foo', ['list', '--status', 'foo'], 2, /--status must be one of Running, .*, got "foo"/],
  ['list --limit 999999', ['list', '--limit', '999999'], 2, /--limit must be at most 10000, got "999999"/],
  ['list with no server', ['list'], 1, /cannot reach the Temporal server at 127\.0\.0\.1:1/],
  ['worker --role foo', ['worker', '--workspace', 'DIR/w', '--role', 'foo'], 2, /--role must be 'data', 'training' or 'all', got "foo"/],
  ['worker --training-slots 5000', ['worker', '--workspace', 'DIR/w', '--training-slots', '5000'], 2, /--training-slots must be at most 1024, got "5000"/],
  ['worker --heartbeat-seconds NaN', ['worker', '--workspace', 'DIR/w', '--heartbeat-seconds', 'NaN'], 2, /--heartbeat-seconds must be a positive number, got "NaN"/],
  ['worker --workspace a file', ['worker', '--workspace', 'DIR/garbage.bin'], 2, /--workspace: is a file, not a folder/],
  ['worker with no server', ['worker', '--workspace', 'DIR/w', '--role', 'training'], 1, /cannot reach the Temporal server at 127\.0\.0\.1:1/],
  ['dev --config missing', ['dev', '--config', 'DIR/nope.yml'], 2, /nope\.yml: file not found/],
  ['select --pool a folder', ['select', '--pool', 'DIR/folder', '-n', '1', '--config', 'DIR/ok.yml'], 2, /--pool: is a directory, not a file/],
  ['select --pool binary garbage', ['select', '--pool', 'DIR/garbage.bin', '-n', '1', '--config', 'DIR/ok.yml', '--out', 'DIR/s1'], 2, /garbage\.bin: not a file format ASE reads/],
  ['select --pool deeply nested JSON', ['select', '--pool', 'DIR/deep.json', '-n', '1', '--config', 'DIR/ok.yml', '--out', 'DIR/s2'], 2, /deep\.json: JSON nested too deeply to read/],
  ['select -n 0', ['select', '--pool', 'DIR/r.jsonl', '-n', '0', '--config', 'DIR/ok.yml'], 2, /-n must be a positive integer, got "0"/],
  ['select --memory-limit 8G', ['select', '--pool', 'DIR/r.jsonl', '-n', '1', '--config', 'DIR/ok.yml', '--memory-limit', '8G'], 2, /--memory-limit must look like 8GB or 500MB, got "8G"/],
  ['select --random-fraction 1', ['select', '--pool', 'DIR/r.jsonl', '-n', '1', '--config', 'DIR/ok.yml', '--random-fraction', '1'], 2, /--random-fraction must be a number within \[0, 1\), got "1"/],
  ['select --random-fraction abc', ['select', '--pool', 'DIR/r.jsonl', '-n', '1', '--config', 'DIR/ok.yml', '--random-fraction', 'abc'], 2, /--random-fraction must be a number within \[0, 1\), got "abc"/],
  ['select --gamma-max -1', ['select', '--pool', 'DIR/r.jsonl', '-n', '1', '--config', 'DIR/ok.yml', '--gamma-max', '-1'], 2, /--gamma-max must be a number >= 0 or none, got "-1"/],
  ['select --gamma-min above --gamma-max', ['select', '--pool', 'DIR/r.jsonl', '-n', '1', '--config', 'DIR/ok.yml', '--gamma-min', '5', '--gamma-max', '2'], 2, /--gamma-min \(5\) must be below --gamma-max \(2\)/],
  ['select --gamma-max with --via program', ['select', '--pool', 'DIR/r.jsonl', '-n', '1', '--config', 'DIR/ok.yml', '--gamma-max', '5', '--via', 'program'], 2, /--gamma-min\/--gamma-max need --via in-process/],
  ['select --seed 1.5', ['select', '--pool', 'DIR/r.jsonl', '-n', '1', '--config', 'DIR/ok.yml', '--seed', '1.5'], 2, /--seed must be a non-negative integer, got "1.5"/],
  ['select --potential not YAML', ['select', '--pool', 'DIR/r.jsonl', '-n', '1', '--potential', 'DIR/garbage.bin', '--out', 'DIR/s3'], 2, /potential: cannot read .*garbage\.bin: /],
  ['select --out a file', ['select', '--pool', 'DIR/r.jsonl', '-n', '1', '--config', 'DIR/ok.yml', '--out', 'DIR/garbage.bin'], 2, /--out: is a file, not a folder/],
  ['demo --count abc', ['demo', '--count', 'abc'], 2, /--count must be a positive integer, got "abc"/],
];

describe('bad values on the command line', { concurrency: 2 }, () => {
  for (const [what, args, status, expected] of CASES) {
    test(`${what}: exit ${status}, the flag or field and the value named, no stack trace`, async () => {
      const r = await mlip(args);
      assert.equal(r.exitCode, status, r.stderr);
      assert.match(r.stderr, expected);
      assert.doesNotMatch(r.stderr, STACK_TRACE, 'no stack trace for a user mistake');
      const own = r.stderr.split('\n').filter((l) => l.startsWith('mlip-trainer: ') || l.startsWith('error: '));
      assert.equal(own.length, 1, `one error line: ${r.stderr}`);
    });
  }
});

test('MLIP_DEBUG=1 shows the trace behind the one line', async () => {
  const r = await mlip(['list'], { MLIP_DEBUG: '1' });
  assert.equal(r.exitCode, 1);
  assert.match(r.stderr, STACK_TRACE);
  assert.match(r.stderr, /cannot reach the Temporal server at 127\.0\.0\.1:1/);
});
