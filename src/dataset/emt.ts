/** Labelled test and demo data from ASE's EMT calculator: real energies and forces, in ms. */
import { runBridge } from './bridge.js';
import { VENV_PYTHON } from '../paths.js';

export interface LabelEmtOptions {
  out: string;
  count: number;
  elements?: string[];
  seed?: number;
  atoms?: number;
  python?: string;
}

export async function labelEmt(o: LabelEmtOptions): Promise<{ out: string; count: number; elements: string[] }> {
  return runBridge(
    'label-emt',
    [
      '--out', o.out,
      '--count', String(o.count),
      '--elements', (o.elements ?? ['Cu', 'Ni']).join(','),
      '--seed', String(o.seed ?? 0),
      '--atoms', String(o.atoms ?? 8),
    ],
    { python: o.python ?? VENV_PYTHON },
  );
}
