#!/usr/bin/env node
// Runs the Python tests (bridge and simulator) with the project venv's pytest.
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const r = spawnSync(join(root, '.venv', 'bin', 'python'), ['-m', 'pytest', '-q', '-rs', 'python/tests'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
