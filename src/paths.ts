/** Where this package's own files are, wherever it is run from. */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const VENV_DIR = join(PROJECT_ROOT, '.venv');
export const VENV_PYTHON = join(VENV_DIR, 'bin', 'python');
export const SIMULATOR_BIN = join(PROJECT_ROOT, 'sim', 'bin');
