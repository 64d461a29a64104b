// The package as a user gets it: `npm pack` (which builds dist/), installed into an empty folder
// with npm, answers `mlip-trainer --help` and runs `mlip-trainer dev` (the embedded Temporal dev
// server and a worker) from the compiled code, without tsx and without writing into node_modules.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { PROJECT_ROOT } from '../../../src/paths.js';
import { findTemporalCli, freePort } from '../../../src/temporal/dev-server.js';
import { until } from '../../helpers/wait.js';

const { temporal } = proto;

let dir = '';
let installed = '';
let bin = '';
/** The environment of a user's shell: none of the npm script variables of the run that started this test. */
const userEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlip-pack-'));
  const packed = await execa('npm', ['pack', '--pack-destination', dir], { cwd: PROJECT_ROOT, env: userEnv(), extendEnv: false });
  const tarball = join(dir, packed.stdout.trim().split('\n').at(-1)!);
  const project = join(dir, 'project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'someones-project', version: '1.0.0', private: true }));
  // From npm's cache where it can; the registry for what the cache lacks.
  await execa('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project, env: userEnv(), extendEnv: false });
  installed = join(project, 'node_modules', 'mlip-trainer');
  bin = join(project, 'node_modules', '.bin', 'mlip-trainer');
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name))).sort();
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

test('the installed package holds the compiled code, the workflow bundle and the Python side, and no sources, tests or venv', async () => {
  const files = await filesUnder(installed);
  for (const f of ['bin/mlip-trainer.js', 'dist/app/cli.js', 'dist/workflow-bundle.js', 'temporal-dev.yml', 'examples/cu-ni.yml', 'python/requirements.txt', 'python/src/mlip_trainer/cli/dataset.py', 'sim/bin/pacemaker', 'sim/src/pyace/aceselect.py']) {
    assert.ok(files.includes(f), `${f} is missing from the package`);
  }
  for (const f of files) assert.doesNotMatch(f, /^(src|app|workflows|activities|test|bench|\.venv|\.mlip)\/|__pycache__/, `${f} should not ship`);
  const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  assert.equal(manifest.dependencies.tsx, undefined, 'tsx is needed by a clone only');
});

test('mlip-trainer --help answers from the installed package and puts the venv in the per-user folder', async () => {
  const data = join(dir, 'data');
  const r = await execa(bin, ['--help'], { cwd: join(dir, 'project'), env: { ...userEnv(), XDG_DATA_HOME: data }, extendEnv: false, reject: false });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /^Usage: mlip-trainer/);
  assert.match(r.stdout, /\n {2}dev \[options\]/);
  // `setup` names where the venv goes: the user's folder, never the package's under node_modules.
  assert.ok(r.stdout.replace(/\s+/g, ' ').includes(join(data, 'mlip-trainer', 'venv')), r.stdout);
});

test('mlip-trainer dev from the installed package serves: the dev server answers, the worker polls, and Ctrl-C stops both cleanly', async () => {
  const project = join(dir, 'project');
  const before = await filesUnder(installed);
  const port = await freePort();
  const uiPort = await freePort();
  await writeFile(
    join(project, 'temporal-dev.yml'),
    `server:\n  port: ${port}\n  uiPort: ${uiPort}\n  dbFile: state/temporal.sqlite\nworker:\n  workspace: state/workspace\n  pacemaker: simulator\n`,
  );
  const env = { ...userEnv(), XDG_DATA_HOME: join(dir, 'data'), MLIP_TEMPORAL: await findTemporalCli() };
  const dev = spawn(bin, ['dev', '--config', 'temporal-dev.yml'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  dev.stdout.on('data', (b: Buffer) => (out += b.toString()));
  dev.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = once(dev, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    // Ready when it says so; an early end fails with its output.
    await new Promise<void>((resolve, reject) => {
      dev.stdout.on('data', () => {
        if (out.includes('running; Ctrl-C stops server and worker')) resolve();
      });
      void exited.then(([code]) => reject(new Error(`mlip-trainer dev exited with ${code} before serving:\n${out}`)));
    });
    assert.match(out, /running; Ctrl-C stops server and worker/, out);
    assert.match(out, new RegExp(`Temporal dev server: 127\\.0\\.0\\.1:${port}`));
    assert.match(out, /worker on task queues 'mlip-trainer', 'mlip-trainer-training'/);

    const connection = await Connection.connect({ address: `127.0.0.1:${port}` });
    try {
      const pollers = await until('the worker to poll its workflow queue', async () => {
        const d = await connection.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: 'mlip-trainer' },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        });
        return (d.pollers ?? []).length > 0 ? d.pollers : null;
      });
      assert.ok(pollers.length >= 1);
    } finally {
      await connection.close();
    }

    dev.kill('SIGINT');
    const [code, signal] = await exited;
    assert.deepEqual([code, signal], [0, null], out);
    assert.equal(await canConnect(port), false, 'the dev server stopped with it');
  } finally {
    if (dev.exitCode === null && dev.signalCode === null) dev.kill('SIGKILL');
  }
  assert.deepEqual(await filesUnder(installed), before, 'nothing was written into node_modules');
});
