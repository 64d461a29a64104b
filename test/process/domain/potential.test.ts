// Reading back potentials a real pacemaker wrote (test/fixtures/potentials): the files are
// pacemaker's own output, kept verbatim. The pure cases are in test/unit/domain/potential.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { describePotential, withoutAutoRepulsion } from '../../../src/domain/potential.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'potentials');

test("withoutAutoRepulsion gives back the state a real pacemaker fitted in: the fitted output minus repulsion: auto's inner cutoff equals its last interim potential but for metadata and coefficients", async () => {
  // Both written by pacemaker 0.2.7+172 in one fit (fit.repulsion: auto): interim_potential_0.yaml
  // before the repulsion was set (saved a few evaluations before the end, so one coefficient
  // differs in its last digits), output_potential.yaml after.
  const fitted = await readFile(join(FIXTURES, 'cu-ni-auto-repulsion.yaml'), 'utf8');
  const before = await readFile(join(FIXTURES, 'cu-ni-before-repulsion.yaml'), 'utf8');
  assert.match(fitted, /inner_cutoff_type: zbl/);
  const restored = withoutAutoRepulsion(fitted);
  const body = (t: string) => t.split('\n').filter((l) => !/^\s*(_loss|intermediate_time):/.test(l) && !/\bc: \[/.test(l)).join('\n');
  assert.equal(body(restored), body(before));
  assert.doesNotMatch(restored, /zbl/);
  // The coefficients keep pacemaker's own digits, and the result still parses as a potential.
  const coeffs = (t: string) => t.split('\n').filter((l) => /\bc: \[|radcoefficients/.test(l));
  assert.deepEqual(coeffs(restored), coeffs(fitted));
  assert.deepEqual(describePotential(yaml.load(restored))?.elements, ['Cu', 'Ni']);
  // A config's own embedding cut-offs are restored instead of pacemaker's defaults.
  assert.match(withoutAutoRepulsion(fitted, { rho_core_cut: 3000, drho_core_cut: 5 }), /^ {4}rho_core_cut: 3000\n {4}drho_core_cut: 5$/m);
  // So are its own bond settings (potential.bonds.ALL), lists in pacemaker's flow style.
  const bonds = withoutAutoRepulsion(fitted, { r_in: 1.5, delta_in: 0.2, inner_cutoff_type: 'distance', 'core-repulsion': [100, 5] });
  assert.equal(bonds.match(/^ {4}r_in: 1\.5\n {4}delta_in: 0\.2\n {4}inner_cutoff_type: distance$/gm)?.length, 4, 'every bond block');
  assert.equal(bonds.match(/^ {4}core-repulsion: \[100, 5\]$/gm)?.length, 4);
});
