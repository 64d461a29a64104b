import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram, groupAlive } from '../../../src/process/run-program.js';

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
  const prog = await fakeProgram(dir, 'cr', String.raw`printf 'Eval 1: loss=3Eval 2: loss=2done
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
