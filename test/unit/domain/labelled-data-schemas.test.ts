// The schemas of what users bring: results known only by their corrected energy, LAMMPS type
// maps, pools with them, and values too deeply nested to print. Pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CalculationResult, SelectionPool, TypeMap, describeIssues, shortRepr, typeMapArgument } from '../../../src/domain/schemas.js';

const structure = { symbols: ['Cu'], positions: [[0, 0, 0]], cell: [[3, 0, 0], [0, 3, 0], [0, 0, 3]], pbc: [true, true, true] };

test('a result has a total energy or, failing that, a corrected one', () => {
  assert.equal(CalculationResult.parse({ structure, energy_corrected: -0.2, forces: [[0, 0, 0]] }).energy_corrected, -0.2);
  const r = CalculationResult.safeParse({ structure, forces: [[0, 0, 0]] }, { reportInput: true });
  assert.equal(r.success, false);
  assert.match(describeIssues(r.error, 'results[0]'), /results\[0\]\.energy: expected a finite number \(eV\), or energy_corrected/);
});

test('a type map maps LAMMPS types to elements, and a pool may carry one', () => {
  assert.equal(typeMapArgument(TypeMap.parse({ '2': 'Ni', '1': 'Cu' })), '1=Cu,2=Ni');
  for (const bad of [{}, { '0': 'Cu' }, { a: 'Cu' }, { '1': 'Kk' }]) assert.equal(TypeMap.safeParse(bad).success, false, JSON.stringify(bad));
  assert.deepEqual(SelectionPool.parse({ path: '/p/dump.lammpstrj', n: 5, typeMap: { '1': 'Cu' } }).typeMap, { '1': 'Cu' });
});

test('a value nested too deeply to print is cut, not a stack overflow', () => {
  let deep: unknown = 0;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.match(shortRepr(deep), /nested too deeply to show/);
});
