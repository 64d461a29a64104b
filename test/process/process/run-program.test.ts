import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram, groupAlive, programFailure } from '../../../src/process/run-program.js';
import { StallWatch } from '../../../src/process/stall.js';
import { OutOfMemoryError, StalledError } from '../../../src/errors.js';

async function fakeProgram(dir: string, name: string, body: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, `#!/bin/sh\n${body}\n`);
  await chmod(p, 0o755);
  return p;
}

test('runProgram passes arguments verbatim, logs every line and reports the exit code', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'run-'));
  const prog = await fakeProgram(dir, 'echoer', 'for a in "$@"; do echo "arg:$a"; done; echo oops >&2; exit 3');
  const lines: string[] = [];
  const r = await runProgram({ command: [prog, 'a b', '$HOME', ';rm -rf /'], cwd: dir, logFile: join(dir, 'log.txt'), onLine: (l) => lines.push(l) });
  assert.equal(r.exitCode, 3);
  assert.deepEqual(lines.filter((l) => l.startsWith('arg:')), ['arg:a b', 'arg:$HOME', 'arg:;rm -rf /']);
  assert.ok(lines.includes('oops'));
  const log = await readFile(join(dir, 'log.txt'), 'utf8');
  assert.match(log, /arg:a b/);
  assert.match(log, /oops/);
});

test('runProgram runs in the given working directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'run-'));
  const r = await runProgram({ command: ['pwd'], cwd: join(dir, 'sub'), logFile: join(dir, 'log.txt'), captureStdout: true });
  assert.equal(r.stdout.trim(), join(dir, 'sub'));
});

test("carriage-return records (SciPy's Eval lines) are separate lines", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'run-'));
  const prog = await fakeProgram(dir, 'cr', String.raw`printf 'Eval 1: loss=3
Eval 2: loss=2
done
'`);
  const lines: string[] = [];
  await runProgram({ command: [prog], cwd: dir, logFile: join(dir, 'log.txt'), onLine: (l) => lines.push(l) });
  assert.deepEqual(lines, ['Eval 1: loss=3', 'Eval 2: loss=2', 'done']);
});

test('cancelling kills the whole process group, grandchildren included', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'run-'));
  const prog = await fakeProgram(dir, 'spawner', `sleep 300 & echo "child:$!"; sleep 300`);
  const ac = new AbortController();
  let pgid = 0;
  let grandchild = 0;
  const done = runProgram({
    command: [prog],
    cwd: dir,
    logFile: join(dir, 'log.txt'),
    signal: ac.signal,
    killGraceMs: 500,
    onSpawn: (pid) => {
      pgid = pid;
    },
    onLine: (l) => {
      if (l.startsWith('child:')) {
        grandchild = Number(l.slice(6));
        ac.abort();
      }
    },
  });
  const r = await done;
  assert.equal(r.cancelled, true);
  assert.ok(grandchild > 0);
  assert.equal(groupAlive(pgid), false, 'process group still alive');
  assert.throws(() => process.kill(grandchild, 0), /ESRCH/);
});

test('a timeout stops the program and says so', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'run-'));
  const r = await runProgram({ command: ['sleep', '30'], cwd: dir, logFile: join(dir, 'log.txt'), timeoutMs: 300, killGraceMs: 200 });
  assert.equal(r.timedOut, true);
  assert.notEqual(r.exitCode, 0);
  assert.ok(r.durationMs < 10_000);
});

test('bad options are refused naming the option and value', async () => {
  await assert.rejects(runProgram({ command: ['true'], cwd: tmpdir(), logFile: join(tmpdir(), 'x.log'), timeoutMs: -1 }), /`timeoutMs` to be a positive number, got `-1`/);
  await assert.rejects(runProgram({ command: [], cwd: tmpdir(), logFile: join(tmpdir(), 'x.log') }), /`command` must not be empty/);
});

test('the stall watchdog kills a silent program and its whole group; the Stalled failure names the last line and the silence', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'run-'));
  // Talks, then hangs with a grandchild alive, as a wedged fit with a data-loader process would.
  const prog = await fakeProgram(dir, 'hangs', `echo "iteration 9 loss 0.1"; sleep 300 & echo "child:$!"; sleep 300`);
  let pgid = 0;
  let grandchild = 0;
  const stall = new StallWatch({ limitSeconds: 0.5 });
  const r = await runProgram({
    command: [prog],
    cwd: dir,
    logFile: join(dir, 'log.txt'),
    killGraceMs: 500,
    stall,
    onSpawn: (pid) => {
      pgid = pid;
    },
    onLine: (l) => {
      if (l.startsWith('child:')) grandchild = Number(l.slice(6));
    },
  });
  assert.ok(r.stalled, 'stopped by the watchdog');
  assert.equal(r.stalled.lastLine, `child:${grandchild}`);
  assert.ok(r.stalled.silentSeconds > 0.5, `silent ${r.stalled.silentSeconds} s`);
  assert.equal(groupAlive(pgid), false, 'process group still alive');
  assert.throws(() => process.kill(grandchild, 0), /ESRCH/);
  const err = programFailure(r, { program: 'pacemaker', logFile: join(dir, 'log.txt') });
  assert.ok(err instanceof StalledError);
  assert.equal(err.retryable, true);
  assert.match(err.message, /^pacemaker stalled: no output for [\d.]+ s \(limit 0.5 s\), so its process group was killed; last line: "child:\d+"/);
  assert.equal(err.details.lastLine, `child:${grandchild}`);
});

test('the stall watchdog leaves a program alone while it writes lines, however long it runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'run-'));
  // 40 lines 0.1 s apart: 4 s in all, longer than the limit, but never 2 s silent.
  const prog = await fakeProgram(dir, 'talks', 'i=0; while [ $i -lt 40 ]; do echo "line $i"; i=$((i+1)); sleep 0.1; done');
  const r = await runProgram({ command: [prog], cwd: dir, logFile: join(dir, 'log.txt'), stall: new StallWatch({ limitSeconds: 2 }) });
  assert.equal(r.exitCode, 0);
  assert.equal(r.stalled, null);
});

test('a SIGKILL the worker did not send is named as the kernel out-of-memory kill and is an OutOfMemory failure', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'run-'));
  const prog = await fakeProgram(dir, 'oomkilled', 'echo "iteration 1"; kill -9 $$');
  const r = await runProgram({ command: [prog], cwd: dir, logFile: join(dir, 'log.txt') });
  assert.equal(r.signal, 'SIGKILL');
  const err = programFailure(r, { program: 'pacemaker', logFile: join(dir, 'log.txt') });
  assert.ok(err instanceof OutOfMemoryError);
  assert.match(err.message, /exited with SIGKILL \[OutOfMemory: killed by the kernel/);
});
