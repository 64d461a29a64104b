/** `mlip-trainer setup`: the Python venv and temporal CLI of an installed package (see src/setup/python-env.ts). */
import type { Command } from 'commander';
import { setUpPythonEnv } from '../../setup/python-env.js';
import { VENV_DIR } from '../../paths.js';

export function registerSetupCommand(program: Command): void {
  program
    .command('setup')
    .description(
      `create or update the Python venv (numpy, pandas, ase; the temporal CLI when none is on PATH) in ${VENV_DIR}`,
    )
    .option('--python <python>', 'the Python 3.9-3.12 to make the venv from (default: MLIP_PYTHON or python3)')
    .action(async (o: { python?: string }) => {
      const env = await setUpPythonEnv({ ...(o.python ? { basePython: o.python } : {}), log: (l) => console.log(`setup: ${l}`) });
      console.log(`setup: ready: ${env.python}`);
    });
}
