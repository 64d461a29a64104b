// Which environment the project's Python helpers get from a toolchain (pure: no programs run).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { delimiter, join } from 'node:path';
import { helperEnv, simulatorToolchain, type Toolchain } from '../../../src/pacemaker/toolchain.js';
import { PROJECT_ROOT } from '../../../src/paths.js';

const real: Toolchain = {
  kind: 'pacemaker',
  binDir: '/opt/pace/bin',
  python: '/opt/pace/bin/python',
  version: '0.2.7',
  command: (program) => [join('/opt/pace/bin', program)],
};

function withPythonPath<T>(value: string | undefined, body: () => T): T {
  const saved = process.env.PYTHONPATH;
  if (value === undefined) delete process.env.PYTHONPATH;
  else process.env.PYTHONPATH = value;
  try {
    return body();
  } finally {
    if (saved === undefined) delete process.env.PYTHONPATH;
    else process.env.PYTHONPATH = saved;
  }
}

test("the simulator toolchain puts its stand-in pyace (sim/src) first on the helpers' PYTHONPATH", () => {
  const src = join(PROJECT_ROOT, 'sim', 'src');
  assert.deepEqual(
    withPythonPath(undefined, () => helperEnv(simulatorToolchain())),
    { PYTHONPATH: src },
  );
  assert.deepEqual(
    withPythonPath('/mine', () => helperEnv(simulatorToolchain())),
    { PYTHONPATH: [src, '/mine'].join(delimiter) },
  );
});

test('a real pacemaker installation adds nothing to the helpers environment: they import its own pyace', () => {
  assert.deepEqual(
    withPythonPath('/mine', () => helperEnv(real)),
    {},
  );
});
