#!/usr/bin/env node
// Lints and type-checks the pacemaker simulator and its stand-in pyace (sim/src) with the project
// venv's ruff and mypy; their settings are in sim/pyproject.toml. Exits non-zero on any finding.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const python = join(root, '.venv', 'bin', 'python');
const sim = join(root, 'sim');
for (const args of [
  ['-m', 'ruff', 'check'],
  ['-m', 'mypy'],
]) {
  const r = spawnSync(python, args, { cwd: sim, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(
      `lint:sim: \`python ${args.join(' ')}\` in sim/ failed${r.error ? `: ${r.error.message}` : ''}`,
    );
    process.exit(r.status ?? 1);
  }
}
