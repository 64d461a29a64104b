/**
 * Input files in every format users bring, made by python/tests/input_files.py (ASE writes most
 * of them; OUTCAR, vasprun.xml and LAMMPS dumps are written as text): labelled results, pools of
 * structures, and a pacemaker pickle with only energy_corrected.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT, PYTHON_SRC, VENV_PYTHON } from '../../src/paths.js';

/** Writes the files of `kind` into `dir`; returns {file name: structures in it}. */
export async function writeInputFiles(kind: 'labelled' | 'pool' | 'corrected' | 'vasp-runs', dir: string, python = VENV_PYTHON): Promise<Record<string, number>> {
  const r = await execa(python, [join(PROJECT_ROOT, 'python', 'tests', 'input_files.py'), kind, dir], {
    env: { PYTHONPATH: PYTHON_SRC },
  });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

/** LAMMPS atom types of the pool files. */
export const POOL_TYPE_MAP = { '1': 'Cu', '2': 'Ni' } as const;
