#!/usr/bin/env node
// Runs the Python tests (bridge, selection, simulator) with the project venv's pytest.
// Arguments are passed to pytest (files, -k EXPR, ...); without any, all of python/tests run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
// A file or folder among them (test_x.py, test_x.py::name) means the caller chose what runs.
const targets = args.some((a) => existsSync(join(root, a.split('::')[0]))) ? args : [...args, 'python/tests'];
const r = spawnSync(join(root, '.venv', 'bin', 'python'), ['-m', 'pytest', '-q', '-rs', ...targets], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
