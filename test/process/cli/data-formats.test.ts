// Every format through the command line's entry points, with test-made files: `dataset add` and
// `train --results` take every labelled format, `select --pool` every pool format, and what
// `dataset export` writes reads back as the same results. No Temporal server: `train` is run
// against an address nobody serves, so reaching the connection means every file was accepted.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT, VENV_PYTHON } from '../../../src/paths.js';
import type { DatasetManifest, DatasetSummary } from '../../../src/dataset/store.js';
import type { ActiveSetSelection } from '../../../src/domain/schemas.js';
import { writeInputFiles } from '../../helpers/input-files.js';

const BIN = join(PROJECT_ROOT, 'bin', 'mlip-trainer.js');
const mlip = (args: string[]) =>
  execa('node', [BIN, ...args], { reject: false, env: { MLIP_PACEMAKER: 'simulator', TEMPORAL_ADDRESS: '127.0.0.1:1' } });

let dir = '';
let labelled: Record<string, number> = {};
let pools: Record<string, number> = {};
const ws = (campaign: string) => ['--campaign', campaign, '--workspace', join(dir, 'ws')];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'formats-'));
  labelled = await writeInputFiles('labelled', join(dir, 'labelled'));
  pools = await writeInputFiles('pool', join(dir, 'pool'));
  await writeInputFiles('corrected', join(dir, 'corrected'));
  await writeFile(join(dir, 'cfg.yml'), 'elements: [Cu, Ni]\ncutoff: 5\ntest_size: 0.25\n');
});

/** The content hashes of a campaign's dataset, in order. */
async function hashes(campaign: string): Promise<string[]> {
  const code = 'import sys, json, pandas as pd\nprint(json.dumps(list(pd.read_pickle(sys.argv[1], compression="gzip")["mlip_hash"])))';
  const r = await execa(VENV_PYTHON, ['-c', code, join(dir, 'ws', campaign, 'data', 'accumulated.pckl.gzip')]);
  return JSON.parse(r.stdout) as string[];
}

test('dataset add takes every labelled format: JSON, JSONL, extxyz, .traj, OUTCAR, vasprun.xml, a pacemaker pickle', async () => {
  const files = Object.keys(labelled).map((f) => join(dir, 'labelled', f));
  assert.deepEqual(Object.keys(labelled).sort(), ['OUTCAR', 'collected.pckl.gzip', 'md.extxyz', 'md.traj', 'results.json', 'results.jsonl', 'vasprun.xml']);
  const r = await mlip(['dataset', 'add', ...files, '--config', join(dir, 'cfg.yml'), '--json', ...ws('all')]);
  assert.equal(r.exitCode, 0, r.stderr);
  const s = JSON.parse(r.stdout) as DatasetSummary;
  assert.equal(s.added, Object.values(labelled).reduce((a, b) => a + b, 0));
  assert.equal(s.fittedEnergy, 'energy');
  const info = JSON.parse((await mlip(['dataset', 'info', '--json', ...ws('all')])).stdout) as DatasetManifest;
  assert.deepEqual(info.history[0]!.sources, files);
});

test('train --results takes every labelled format before it connects', async () => {
  const files = Object.keys(labelled).map((f) => join(dir, 'labelled', f));
  const r = await mlip(['train', '--config', join(dir, 'cfg.yml'), '--campaign', 'c', '--results', ...files]);
  assert.equal(r.exitCode, 1, r.stderr);
  assert.match(r.stderr, /^mlip-trainer: cannot reach the Temporal server at 127\.0\.0\.1:1/);
});

test('a pacemaker pickle with only energy_corrected is added as corrected energy, and total energies join it only with reference energies', async () => {
  const r = await mlip(['dataset', 'add', join(dir, 'corrected', 'old.pckl.gzip'), '--config', join(dir, 'cfg.yml'), '--json', ...ws('corrected')]);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as DatasetSummary).fittedEnergy, 'energy_corrected');
  const mixed = await mlip(['dataset', 'add', join(dir, 'labelled', 'md.extxyz'), ...ws('corrected')]);
  assert.equal(mixed.exitCode, 2);
  assert.match(mixed.stderr, /the dataset has corrected energies only \(energy_corrected, no energy: 12 result\(s\)\) and .*md\.extxyz total energies \(4\); .*reference_energy in the config .* or --reference-energy/);
  const exact = await mlip(['dataset', 'add', join(dir, 'labelled', 'md.extxyz'), '--reference-energy', 'Cu=-0.25,Ni=-0.5', '--json', ...ws('corrected')]);
  assert.equal(exact.exitCode, 0, exact.stderr);
  assert.deepEqual((JSON.parse(exact.stdout) as DatasetSummary).referenceEnergy, { Cu: -0.25, Ni: -0.5 });
  const info = await mlip(['dataset', 'info', ...ws('corrected')]);
  assert.match(info.stdout, /energy_corrected, fitted as stored .* 12 structure\(s\) without a total energy/);
});

describe('dataset export reads back as the same results', { concurrency: 1 }, () => {
  for (const [format, name] of [['pacemaker', 'export.pckl.gzip'], ['extxyz', 'export.extxyz'], ['jsonl', 'export.jsonl']] as const) {
    test(`${format}: added to a fresh campaign, the same content hashes${format === 'pacemaker' ? ' and the same dataset version' : ''}`, async () => {
      const out = join(dir, `${format}-${name}`);
      const exp = await mlip(['dataset', 'export', '--format', format, '--out', out, ...ws('all')]);
      assert.equal(exp.exitCode, 0, exp.stderr);
      const add = await mlip(['dataset', 'add', out, '--config', join(dir, 'cfg.yml'), '--json', ...ws(`fresh-${format}`)]);
      assert.equal(add.exitCode, 0, add.stderr);
      assert.deepEqual(await hashes(`fresh-${format}`), await hashes('all'));
      if (format === 'pacemaker') {
        const before = JSON.parse((await mlip(['dataset', 'info', '--json', ...ws('all')])).stdout) as DatasetManifest;
        assert.equal((JSON.parse(add.stdout) as DatasetSummary).sha256, before.sha256, 'the same version, byte for byte');
      }
    });
  }
});

describe('select --pool takes every file of structures, labelled or not', { concurrency: 2 }, () => {
  for (const name of ['md.extxyz', 'md.traj', 'POSCAR', 'CONTCAR', 'XDATCAR', 'dump.lammpstrj', 'structure.data', 'structure.cif', 'structures.json', 'structures.jsonl', 'pool.pckl.gzip']) {
    test(`${name}: exactly min(n, pool) structures`, async () => {
      const out = join(dir, `select-${name}`);
      const lammps = /lammpstrj|\.data$/.test(name) ? ['--type-map', '1=Cu,2=Ni'] : [];
      const r = await mlip(['select', '--pool', join(dir, 'pool', name), '-n', '3', '--config', join(dir, 'cfg.yml'), '--out', out, '--json', ...lammps]);
      assert.equal(r.exitCode, 0, r.stderr);
      const s = JSON.parse(r.stdout) as ActiveSetSelection;
      assert.equal(s.poolSize, pools[name]);
      assert.equal(s.indices.length, Math.min(3, pools[name]!));
      assert.ok((await readdir(out)).includes('selected.pckl.gzip'));
    });
  }
  test('a LAMMPS pool without --type-map is refused naming the flag', async () => {
    const r = await mlip(['select', '--pool', join(dir, 'pool', 'dump.lammpstrj'), '-n', '3', '--config', join(dir, 'cfg.yml'), '--out', join(dir, 'nomap')]);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /dump\.lammpstrj is a LAMMPS file \(lammps-dump-text\): its atoms have type numbers, not elements; give the type map \(--type-map 1=Cu,2=Ni/);
  });
});
