/**
 * Where this package's own files are, wherever it is run from: a clone runs the TypeScript
 * sources (this file is src/paths.ts), an installed package the compiled dist/src/paths.js.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { delimiter, dirname, join } from 'node:path';

/** Run from the TypeScript sources (a clone), not compiled to dist/ (an installed package). */
export const FROM_SOURCES = import.meta.url.endsWith('.ts');

/** The package folder: package.json, sim/, python/, examples/, temporal-dev.yml. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), ...(FROM_SOURCES ? ['..'] : ['..', '..']));

/**
 * This user's data of an installed package, which never writes into its own folder under
 * node_modules: $XDG_DATA_HOME/mlip-trainer, by default ~/.local/share/mlip-trainer.
 */
export const USER_DATA_DIR = join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'mlip-trainer');

/**
 * The Python venv (numpy, pandas, ase; the temporal CLI when it is not on PATH): a clone's
 * `.venv` (scripts/setup.mjs makes it), else, for an installed package without one, the per-user
 * venv `mlip-trainer setup` makes.
 */
export const VENV_DIR =
  FROM_SOURCES || existsSync(join(PROJECT_ROOT, '.venv')) ? join(PROJECT_ROOT, '.venv') : join(USER_DATA_DIR, 'venv');
export const VENV_PYTHON = join(VENV_DIR, 'bin', 'python');

/** The dev stack description `dev`, `demo`, `dataset` and `select` use unless given another. */
export const DEFAULT_STACK_FILE = join(PROJECT_ROOT, 'temporal-dev.yml');
/**
 * What the relative paths of DEFAULT_STACK_FILE (server state, workspace) resolve against: the
 * clone itself (its `.mlip/`), or for an installed package the per-user folder.
 */
export const DEFAULT_STACK_BASE = FROM_SOURCES ? PROJECT_ROOT : USER_DATA_DIR;

export const SIMULATOR_BIN = join(PROJECT_ROOT, 'sim', 'bin');
/** The project's Python package (`mlip_trainer`), run from the source tree, uninstalled. */
export const PYTHON_SRC = join(PROJECT_ROOT, 'python', 'src');

/** The helper programs: `dataset` (mlip-dataset) and `select` (mlip-select). */
export type PythonHelper = 'dataset' | 'select';

/**
 * The arguments after the Python interpreter that run one of the project's helper programs, and
 * the environment they need: PYTHONPATH with python/src first, so any Python with numpy, pandas
 * and ase (a pacemaker installation's own, or the project's .venv) runs them without installing
 * anything. `env` is the caller's extra environment; its PYTHONPATH, else this process's, is kept
 * after python/src. Append the command and its arguments to `args`.
 */
export function pythonHelper(
  helper: PythonHelper,
  env: Record<string, string> = {},
): { args: string[]; env: Record<string, string> } {
  const inherited = env.PYTHONPATH ?? process.env.PYTHONPATH;
  return {
    args: ['-m', `mlip_trainer.cli.${helper}`],
    env: { ...env, PYTHONPATH: inherited ? `${PYTHON_SRC}${delimiter}${inherited}` : PYTHON_SRC },
  };
}
/** The simulator's Python sources, its stand-in `pyace` among them. */
export const SIMULATOR_SRC = join(PROJECT_ROOT, 'sim', 'src');
