// The selection's pacemaker programs run under the stall watchdog: a pace_select or
// pace_activeset that goes silent (a hung file system, a wedged driver) is stopped, with its
// whole process group, and fails retryably as Stalled instead of waiting out the activity timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failureOf, runPace } from '../../../src/selection/programs.js';
import { groupAlive } from '../../../src/process/run-program.js';
import { StalledError } from '../../../src/errors.js';
import type { PacemakerProgram, Toolchain } from '../../../src/pacemaker/toolchain.js';

test('a silent pace_select or pace_activeset is stopped with its process group and fails as Stalled', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pace-stall-'));
  const hang = join(dir, 'hang');
  // Writes its pid, a line, starts a silent grandchild and waits on it, as a hung program would.
  await writeFile(
    hang,
    `#!/bin/sh\necho "$$" > "$PWD/pid"\necho "Loading dataset from pool.pckl.gzip"\nsleep 300 &\nwait\n`,
  );
  await chmod(hang, 0o755);
  const toolchain: Toolchain = {
    kind: 'simulator',
    binDir: dir,
    python: 'python3',
    version: 'stand-in',
    command: (_: PacemakerProgram) => [hang],
  };
  for (const program of ['pace_select', 'pace_activeset'] as const) {
    const res = await runPace(
      { toolchain, stallLimitSeconds: 0.5 },
      program,
      ['potential.yaml'],
      dir,
    );
    assert.ok(res.stalled, `${program} stopped by the watchdog`);
    const pgid = Number((await readFile(join(dir, 'pid'), 'utf8')).trim());
    assert.equal(groupAlive(pgid), false, `${program}'s process group is gone`);
    const err = failureOf(program, res);
    assert.ok(err instanceof StalledError, `${program}: ${err.message}`);
    assert.equal(err.retryable, true);
    assert.equal(err.details.program, program);
    assert.equal(err.details.lastLine, 'Loading dataset from pool.pckl.gzip');
    assert.equal(err.details.logFile, join(dir, `${program}.out`));
  }
});
