import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readResultsFile } from '../../../src/dataset/results-file.js';
import { BadInputError } from '../../../src/errors.js';

const rec = (forces: string) =>
  `{"structure":{"symbols":["Cu","Ni"],"positions":[[0,0,0],[1.8,1.8,0]],"cell":[[3.6,0,0],[0,3.6,0],[0,0,3.6]],"pbc":[true,true,true]},"energy":-7.0,"forces":${forces}}`;

async function file(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'res-'));
  const f = join(dir, 'results.jsonl');
  await writeFile(f, text);
  return f;
}

test('JSONL and JSON arrays both read', async () => {
  const good = rec('[[0,0,0],[0,0,0]]');
  assert.equal((await readResultsFile(await file(`${good}\n${good}\n`))).length, 2);
  assert.equal((await readResultsFile(await file(`[${good}]`))).length, 1);
});

test('NaN written by Python json is reported with file, record, field and value', async () => {
  const f = await file(`${rec('[[0,0,0],[0,0,0]]')}\n${rec('[[0,0,NaN],[0,0,0]]')}\n`);
  await assert.rejects(readResultsFile(f), (err: Error) => {
    assert.ok(err instanceof BadInputError);
    assert.match(err.message, new RegExp(`${f.replaceAll('/', '\\/')}: results\\[1\\]\\.forces\\.0\\.2: .*\\(got NaN\\)`));
    return true;
  });
});

test('forces that do not match the atom count name the record', async () => {
  const f = await file(rec('[[0,0,0]]'));
  await assert.rejects(readResultsFile(f), /results\[0\]\.forces: has 1 rows but the structure has 2 atoms \(got 1\)/);
});

test('elements outside the configured ones are rejected', async () => {
  const f = await file(rec('[[0,0,0],[0,0,0]]'));
  await assert.rejects(readResultsFile(f, ['Cu']), /results\[0\]\.structure\.symbols\.1: element not among the configured elements \[Cu\] \(got "Ni"\)/);
});

test('a missing file and broken JSON are clear errors', async () => {
  await assert.rejects(readResultsFile('/nonexistent/r.jsonl'), /\/nonexistent\/r\.jsonl: cannot read results file: ENOENT/);
  await assert.rejects(readResultsFile(await file('{"structure": ')), /line 1 is not valid JSON/);
});
