// pacemaker's own dataset pickles through `dataset add`, with a real pacemaker installation
// (MLIP_PACEMAKER=/path/bin; else one `skipped: no pacemaker` line): what the real `pace_collect`
// writes from folders of OUTCARs is read as total energies; its corrected-only form (the layout
// of pacemaker's examples) keeps energy_corrected exact, with the reference energies recorded
// when given; a pickle of pyace's own DataFrame class is read with the installation's Python,
// and refused in one line, saying what to do, without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../../src/paths.js';
import type { DatasetSummary } from '../../../src/dataset/store.js';
import { realPacemakerOrSkip } from '../../helpers/real-pacemaker.js';
import { writeInputFiles } from '../../helpers/input-files.js';

const BIN = join(PROJECT_ROOT, 'bin', 'mlip-trainer.js');

/** With the installation's Python: the pace_collect pickle as pacemaker's examples are, and as pyace's own class. */
const REWRITE = `
import sys, pandas as pd
from pyace.preparedata import DataFrameWithMetadata
df = pd.read_pickle(sys.argv[1], compression="gzip")
corrected = df[["name", "ase_atoms", "energy_corrected", "forces", "energy_corrected_per_atom"]]
corrected.to_pickle(sys.argv[2], compression="gzip", protocol=4)
DataFrameWithMetadata(corrected).to_pickle(sys.argv[3], compression="gzip", protocol=4)
`;

/** A column of a pickle, in row order, read with the installation's Python. */
const COLUMN = `
import sys, json, pandas as pd
df = pd.read_pickle(sys.argv[1], compression="gzip")
print(json.dumps(sorted(float(x) for x in df[sys.argv[2]])))
`;

test('real pacemaker: pace_collect output, its corrected-only form and a pyace-class pickle go through dataset add', async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  const dir = await mkdtemp(join(tmpdir(), 'pace-pickles-'));
  const runs = await writeInputFiles('vasp-runs', join(dir, 'calcs'));
  const collected = join(dir, 'collected.pckl.gzip');
  const collect = await execa(toolchain.python, [join(toolchain.binDir, 'pace_collect'), '-wd', join(dir, 'calcs'), '--free-atom-energy', 'Cu:-0.25', 'Ni:-0.5', '--output-dataset-filename', collected], { reject: false, cwd: dir });
  assert.equal(collect.exitCode, 0, collect.stderr);
  const [corrected, pyaceClass] = [join(dir, 'corrected.pckl.gzip'), join(dir, 'pyace-class.pckl.gzip')];
  await execa(toolchain.python, ['-c', REWRITE, collected, corrected, pyaceClass]);
  const column = async (file: string, name: string) => JSON.parse((await execa(toolchain.python, ['-c', COLUMN, file, name])).stdout) as number[];

  const env = { MLIP_PACEMAKER: toolchain.binDir, TEMPORAL_ADDRESS: '127.0.0.1:1' };
  const add = (campaign: string, ...args: string[]) =>
    execa('node', [BIN, 'dataset', 'add', ...args, '--json', '--campaign', campaign, '--workspace', join(dir, 'ws')], { reject: false, env });
  const accumulated = (campaign: string) => join(dir, 'ws', campaign, 'data', 'accumulated.pckl.gzip');

  // pace_collect's rows have energy (and its own energy_corrected): total energies, the OUTCARs' own.
  const total = await add('collected', collected);
  assert.equal(total.exitCode, 0, total.stderr);
  const totalSummary = JSON.parse(total.stdout) as DatasetSummary;
  assert.equal(totalSummary.added, Object.keys(runs).length);
  assert.equal(totalSummary.fittedEnergy, 'energy');
  assert.deepEqual(await column(accumulated('collected'), 'energy'), await column(collected, 'energy'));

  // Only energy_corrected: stored as it is, bit for bit, and the reference energies it was made with recorded.
  const exact = await add('corrected', corrected, '--reference-energy', 'Cu=-0.25,Ni=-0.5');
  assert.equal(exact.exitCode, 0, exact.stderr);
  const exactSummary = JSON.parse(exact.stdout) as DatasetSummary;
  assert.equal(exactSummary.fittedEnergy, 'energy_corrected');
  assert.deepEqual(exactSummary.referenceEnergy, { Cu: -0.25, Ni: -0.5 });
  assert.deepEqual(await column(accumulated('corrected'), 'energy_corrected'), await column(corrected, 'energy_corrected'));

  // pyace's DataFrame class: read with the installation's Python; without it, one line saying what to do.
  const viaPacemaker = await add('pyace-class', pyaceClass);
  assert.equal(viaPacemaker.exitCode, 0, viaPacemaker.stderr);
  assert.equal((JSON.parse(viaPacemaker.stdout) as DatasetSummary).added, Object.keys(runs).length);
  const without = await execa('node', [BIN, 'dataset', 'add', pyaceClass, '--campaign', 'plain', '--workspace', join(dir, 'ws')], { reject: false, env: { ...env, MLIP_PACEMAKER: 'simulator' } });
  assert.equal(without.exitCode, 2);
  const lines = without.stderr.trim().split('\n').filter((l) => !l.startsWith('pacemaker simulator in use'));
  assert.equal(lines.length, 1, without.stderr);
  assert.match(lines[0]!, /pyace-class\.pckl\.gzip needs pacemaker's Python package to load \(ModuleNotFoundError: No module named 'pyace.*set MLIP_PACEMAKER to pacemaker's bin folder/);
  console.log(`real pacemaker ${toolchain.version}: pace_collect of ${Object.keys(runs).length} OUTCARs read as total energies; corrected-only and pyace-class pickles read exactly`);
});
