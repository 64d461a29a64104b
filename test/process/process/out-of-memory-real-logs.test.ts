// Out-of-memory recognised from what the real pacemaker (tensorpot, TensorFlow 2.15 on CPU)
// wrote when it ran out of memory: the logs are replayed by a stand-in program through the one
// program runner, so the tail the failure is judged on is cut exactly as in production.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { programFailure, runProgram } from '../../../src/process/run-program.js';
import { OutOfMemoryError } from '../../../src/errors.js';
import { PROJECT_ROOT } from '../../../src/paths.js';

const LOGS = join(PROJECT_ROOT, 'test', 'fixtures', 'pacemaker-logs');

/** A program that writes `log` to stderr and then ends as `end` says (`exit 1`, `kill -ABRT $$`). */
async function replay(log: string, end: string) {
  const dir = await mkdtemp(join(tmpdir(), 'oom-'));
  const prog = join(dir, 'pacemaker');
  await writeFile(prog, `#!/bin/sh\ncat '${join(LOGS, log)}' >&2\n${end}\n`);
  await chmod(prog, 0o755);
  const logFile = join(dir, 'pacemaker.out');
  const res = await runProgram({ command: [prog], cwd: dir, logFile });
  return { res, logFile };
}

test("TensorFlow's ResourceExhaustedError / OOM when allocating tensor, as the real tensorpot fit wrote it, is an OutOfMemory failure", async () => {
  const text = await readFile(join(LOGS, 'tensorpot-oom-cpu.log'), 'utf8');
  assert.match(text, /tensorflow\.python\.framework\.errors_impl\.ResourceExhaustedError/);
  assert.match(text, /OOM when allocating tensor with shape\[798756,6,25\]/);
  const { res, logFile } = await replay('tensorpot-oom-cpu.log', 'exit 1');
  assert.equal(res.exitCode, 1);
  const err = programFailure(res, { program: 'pacemaker', logFile });
  assert.ok(err instanceof OutOfMemoryError, err.message);
  assert.equal(err.retryable, true);
  assert.match(err.message, /^pacemaker exited with 1 \[OutOfMemory: pacemaker ran out of memory; a smaller backend.batch_size uses less\]/);
  assert.match(err.message, /OOM when allocating tensor/);
});

test("an allocation failing outside TensorFlow's allocator (std::bad_alloc, then SIGABRT), as the real program wrote it, is an OutOfMemory failure", async () => {
  const { res, logFile } = await replay('tensorpot-bad-alloc.log', 'kill -ABRT $$');
  assert.equal(res.signal, 'SIGABRT');
  const err = programFailure(res, { program: 'pacemaker', logFile });
  assert.ok(err instanceof OutOfMemoryError, err.message);
  assert.match(err.message, /exited with SIGABRT \[OutOfMemory/);
});
