// `mlip-trainer select` as a user runs it: the real CLI process, the simulator, files on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { labelEmt } from '../../../../src/dataset/emt.js';
import { PROJECT_ROOT } from '../../../../src/paths.js';
import { ActiveSetSelection } from '../../../../src/domain/schemas.js';

const CLI = join(PROJECT_ROOT, 'bin', 'mlip-trainer.js');
const CONFIG = join(PROJECT_ROOT, 'examples', 'cu-ni.yml');

test('mlip-trainer select --pool FILE -n N picks exactly N, prints JSON with --json, and writes the pickle and indices (simulator)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-cli-'));
  const pool = join(dir, 'pool.jsonl');
  await labelEmt({ out: pool, count: 12, elements: ['Cu', 'Ni'], seed: 2 });
  const r = await execa(process.execPath, [CLI, 'select', '--pool', pool, '-n', '4', '--config', CONFIG, '--out', join(dir, 'sel'), '--pacemaker', 'simulator', '--json'], { reject: false });
  assert.equal(r.exitCode, 0, r.stderr);
  const sel = ActiveSetSelection.parse(JSON.parse(r.stdout));
  assert.equal(sel.indices.length, 4);
  assert.equal(sel.selected.path, join(dir, 'sel', 'selected.pckl.gzip'));
  assert.equal(sel.via, 'in-process');
  assert.match(r.stderr, /simulator/);
  // --via program runs the pace_select program instead, to the same D-optimal choice.
  const p = await execa(process.execPath, [CLI, 'select', '--pool', pool, '-n', '4', '--config', CONFIG, '--out', join(dir, 'prog'), '--pacemaker', 'simulator', '--via', 'program', '--json'], { reject: false });
  assert.equal(p.exitCode, 0, p.stderr);
  const prog = ActiveSetSelection.parse(JSON.parse(p.stdout));
  assert.equal(prog.via, 'program');
  assert.deepEqual(prog.indices.slice(0, prog.counts.pace_select), sel.indices.slice(0, sel.counts.pace_select));
});

test('mlip-trainer select rejects bad input with exit 2 and a message naming the flag and value', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mlip-sel-cli-'));
  const pool = join(dir, 'pool.jsonl');
  await labelEmt({ out: pool, count: 3, elements: ['Cu', 'Al'], seed: 2 });
  const run = (args: string[]) => execa(process.execPath, [CLI, 'select', '--pacemaker', 'simulator', ...args], { reject: false });
  const zero = await run(['--pool', pool, '-n', '0', '--config', CONFIG]);
  assert.equal(zero.exitCode, 2);
  assert.match(zero.stderr, /-n must be a positive integer, got "0"/);
  const noPotential = await run(['--pool', pool, '-n', '2']);
  assert.equal(noPotential.exitCode, 2);
  assert.match(noPotential.stderr, /give --potential FILE, or --config FILE/);
  const foreign = await run(['--pool', pool, '-n', '2', '--config', CONFIG, '--out', join(dir, 'x')]);
  assert.equal(foreign.exitCode, 2);
  assert.match(foreign.stderr, /element\(s\) Al that the potential lacks \(it has Cu, Ni\)/);
  const mem = await run(['--pool', pool, '-n', '2', '--config', CONFIG, '--memory-limit', 'lots']);
  assert.equal(mem.exitCode, 2);
  assert.match(mem.stderr, /memoryLimit: must look like 8GB or 500MB \(got "lots"\)/);
  const via = await run(['--pool', pool, '-n', '2', '--config', CONFIG, '--via', 'subprocess']);
  assert.equal(via.exitCode, 2);
  assert.match(via.stderr, /--via.*subprocess/);
});
