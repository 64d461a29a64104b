#!/usr/bin/env node
// Lints and type-checks the project's Python with the venv's ruff and mypy (`npm run lint:python`).
// Every step runs, so one run shows every problem; the exit status is 1 if any step failed.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, '.venv', 'bin', name);

/**
 * Each entry is a folder with its own pyproject.toml (the ruff and mypy configuration): `ruff`
 * lists what ruff checks and format-checks there; `mypy` lists one argument list per mypy run
 * (an empty list checks what the configuration names, strictly). Add an entry to check a folder.
 */
const PROJECTS = [
  {
    dir: 'python',
    ruff: ['src', 'tests'],
    // The package strictly; the tests with untyped test functions and fixtures allowed.
    mypy: [
      [],
      ['tests', '--allow-untyped-defs', '--allow-incomplete-defs', '--allow-untyped-calls'],
    ],
  },
  {
    // The pacemaker simulator and its stand-in pyace (settings in sim/pyproject.toml).
    dir: 'sim',
    ruff: ['src'],
    mypy: [[]],
  },
];

const failed = [];
for (const project of PROJECTS) {
  const cwd = join(root, project.dir);
  const steps = [
    ['ruff', ['check', ...project.ruff]],
    ['ruff', ['format', '--check', ...project.ruff]],
    ...project.mypy.map((args) => ['mypy', args]),
  ];
  for (const [tool, args] of steps) {
    const label = `${project.dir}: ${tool} ${args.join(' ')}`.trim();
    console.log(`lint:python: ${label}`);
    const r = spawnSync(bin(tool), args, { cwd, stdio: 'inherit' });
    if (r.error)
      console.error(
        `lint:python: cannot run ${bin(tool)} (${r.error.message}); run node scripts/setup.mjs`,
      );
    if (r.status !== 0) failed.push(label);
  }
}
if (failed.length > 0) {
  console.error(`lint:python: failed: ${failed.join('; ')}`);
  process.exit(1);
}
