/** Where this package's own files are, wherever it is run from. */
import { fileURLToPath } from 'node:url';
import { delimiter, dirname, join } from 'node:path';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const VENV_DIR = join(PROJECT_ROOT, '.venv');
export const VENV_PYTHON = join(VENV_DIR, 'bin', 'python');
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
