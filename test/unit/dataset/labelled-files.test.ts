// Which files of a labelled folder the loop's collector reads: every format of the one reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isLabelledResultName } from '../../../src/dataset/labelled-files.js';

test('results in every format are collected, by the names VASP and the tools give them', () => {
  for (const name of ['dft.json', 'dft.jsonl', 'r.ndjson', 'md.extxyz', 'md.xyz', 'md.traj', 'OUTCAR', 'OUTCAR.relax', 'vasprun.xml', 'vasprun_3.xml', 'collected.pckl.gzip', 'data.pkl.gz', 'X.PKL.GZ']) {
    assert.ok(isLabelledResultName(name), name);
  }
});

test('inputs, logs, hidden files and the rest are not', () => {
  for (const name of ['POSCAR', 'INCAR', 'KPOINTS', 'OSZICAR', 'README.md', 'run.log', '.hidden.json', 'OUTCARS', 'vasprun.xml.bak', 'job.sh']) {
    assert.equal(isLabelledResultName(name), false, name);
  }
});
