// The Python helpers' protocol, against tiny fake helpers (a shell script standing in for Python):
// one JSON document on the last stdout line, exit 2 bad input, exit 3 the helper's special case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { InProcessUnavailableError, runHelper, type HelperName } from '../../../src/process/helper.js';
import { BadInputError, OutputMissingError, ProgramFailedError } from '../../../src/errors.js';

/** A stand-in for Python that ignores the helper it is given and answers with `body`. */
async function fakePython(body: string): Promise<{ python: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'helper-'));
  const python = join(dir, 'python');
  await writeFile(python, `#!/bin/sh\n${body}\n`);
  await chmod(python, 0o755);
  return { python, dir };
}

const Reply = z.object({ rows: z.number() });

async function call(body: string, helper: HelperName = 'dataset', reply: z.ZodType<{ rows: number }> = Reply) {
  const { python, dir } = await fakePython(body);
  return runHelper({ helper, python, command: 'info', args: ['--dataset', 'x'], reply, logFile: join(dir, 'helper.log'), cwd: dir });
}

test('the reply on the last stdout line is checked by its schema and comes back with the run time', async () => {
  const r = await call(`echo progress; echo '{"rows": 3, "extra": true}'`);
  assert.equal(r.rows, 3);
  assert.ok(r.programSeconds >= 0);
  assert.equal('extra' in r, false, 'fields the schema does not name are dropped');
});

test('exit 2 is bad input: the message and every problem, naming file, record, field and value', async () => {
  const doc = JSON.stringify({
    error: {
      kind: 'bad_input',
      message: '2 invalid records',
      problems: [
        { index: 4, file: '/d/b.jsonl', record: 1, field: 'forces', value: '[[0.1]]', reason: 'expected 2 rows' },
        { index: -1, field: '--test-fraction', value: '2', reason: 'expected a number in [0, 1)' },
      ],
    },
  });
  await assert.rejects(call(`echo '${doc}'; exit 2`), (err: unknown) => {
    assert.ok(err instanceof BadInputError);
    assert.equal(err.message, '2 invalid records\n  /d/b.jsonl: results[1].forces: expected 2 rows (got [[0.1]])\n  --test-fraction: expected a number in [0, 1) (got 2)');
    return true;
  });
});

test("exit 3 is the helper's special case: a locked dataset is retried, an unavailable in-process selection falls back", async () => {
  const busy = JSON.stringify({ error: { kind: 'busy', message: 'dataset lock held for 1200 s by host a pid 7', problems: [] } });
  await assert.rejects(call(`echo '${busy}'; exit 3`), (err: unknown) => {
    assert.ok(err instanceof ProgramFailedError && err.retryable);
    assert.equal(err.details.known, 'dataset-locked');
    assert.equal(err.message, 'dataset lock held for 1200 s by host a pid 7');
    return true;
  });
  await assert.rejects(call(`echo '{"unavailable": "no select_structures_maxvol"}'; exit 3`, 'select'), (err: unknown) => {
    assert.ok(err instanceof InProcessUnavailableError);
    assert.equal(err.message, 'no select_structures_maxvol');
    return true;
  });
});

test('a crash, a missing reply and a reply of the wrong shape are failures that say what happened', async () => {
  await assert.rejects(call('echo Traceback >&2; echo "KeyError: 7" >&2; exit 1'), (err: unknown) => {
    assert.ok(err instanceof ProgramFailedError && err.retryable);
    assert.match(err.message, /^mlip-dataset info exited with 1; last output:\nTraceback\nKeyError: 7\nfull output: .*helper\.log$/);
    return true;
  });
  await assert.rejects(call('echo done'), (err: unknown) => err instanceof ProgramFailedError && /mlip-dataset info exited with 0 but printed no JSON reply/.test(err.message));
  await assert.rejects(call(`echo '{"rows": "three"}'`), (err: unknown) => {
    assert.ok(err instanceof OutputMissingError);
    assert.match(err.message, /mlip-dataset info replied with a document this version does not understand:\n {2}reply\.rows: .*\(got "three"\)/);
    return true;
  });
});
