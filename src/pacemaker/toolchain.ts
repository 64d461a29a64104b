/**
 * Finds the pacemaker installation to run: a configured bin folder or Python, else `pacemaker`
 * on PATH, else the simulator shipped with this project (which then says so, loudly).
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { execa } from 'execa';
import { ToolchainMissingError } from '../errors.js';
import { PROJECT_ROOT, SIMULATOR_BIN, SIMULATOR_SRC, VENV_PYTHON } from '../paths.js';

export const PACEMAKER_PROGRAMS = ['pacemaker', 'pace_yaml2yace', 'pace_activeset', 'pace_select'] as const;
export type PacemakerProgram = (typeof PACEMAKER_PROGRAMS)[number];

export interface Toolchain {
  kind: 'pacemaker' | 'simulator';
  /** Folder holding the programs. */
  binDir: string;
  /** Python that runs the dataset bridge: the installation's own when it has one. */
  python: string;
  /** What `pacemaker -v` printed (or the simulator's version). */
  version: string;
  command(program: PacemakerProgram): string[];
  /** First on PYTHONPATH for this project's Python helpers (the simulator's stand-in `pyace`). */
  pythonPath?: string[];
}

/**
 * Environment for this project's Python helpers run with `toolchain`: the simulator's puts its
 * stand-in `pyace` first on PYTHONPATH, so the helpers' in-process selection imports it; a real
 * installation adds nothing, its helpers import its own pyace.
 */
export function helperEnv(toolchain: Toolchain): Record<string, string> {
  const dirs = toolchain.pythonPath ?? [];
  if (dirs.length === 0) return {};
  const inherited = process.env.PYTHONPATH;
  return { PYTHONPATH: [...dirs, ...(inherited ? [inherited] : [])].join(delimiter) };
}

/**
 * `auto` looks for a real installation and falls back to the simulator; `simulator` forces it;
 * anything else is a bin folder or a Python executable of a pacemaker installation.
 */
export type PacemakerLocation = 'auto' | 'simulator' | (string & {});

export const SIMULATOR_NOTICE =
  'pacemaker simulator in use (no real pacemaker found, or `simulator` configured): potentials are SIMULATED; put pacemaker on PATH or set MLIP_PACEMAKER to use the real one';

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '' || resolve(dir) === SIMULATOR_BIN) continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

async function fromBinDir(binDir: string, python: string | null): Promise<Toolchain> {
  const missing: string[] = [];
  for (const p of PACEMAKER_PROGRAMS) if (!(await isExecutable(join(binDir, p)))) missing.push(p);
  if (missing.length > 0) {
    throw new ToolchainMissingError(
      `pacemaker installation at ${binDir} lacks ${missing.join(', ')}; install pacemaker from source (ICAMS/python-ace, pip install .) — PyPI's python-ace 0.2.8 has no pace_select/pace_activeset`,
    );
  }
  const py = python ?? ((await isExecutable(join(binDir, 'python'))) ? join(binDir, 'python') : VENV_PYTHON);
  const v = await execa(join(binDir, 'pacemaker'), ['-v'], { reject: false, timeout: 60_000 });
  const version = `${v.stdout}\n${v.stderr}`.trim().split('\n').find((l) => /\d+\.\d+/.test(l)) ?? 'unknown';
  return {
    kind: 'pacemaker',
    binDir,
    python: py,
    version: version.trim(),
    command: (program) => [join(binDir, program)],
  };
}

export function simulatorToolchain(): Toolchain {
  // The simulator's programs (sim/bin) run the Python of $MLIP_SIM_PYTHON, else a clone's .venv;
  // an installed package's venv is elsewhere (VENV_DIR), so they are told, through the
  // environment every program of this process inherits.
  if (!process.env.MLIP_SIM_PYTHON && VENV_PYTHON !== join(PROJECT_ROOT, '.venv', 'bin', 'python')) process.env.MLIP_SIM_PYTHON = VENV_PYTHON;
  return {
    kind: 'simulator',
    binDir: SIMULATOR_BIN,
    python: VENV_PYTHON,
    version: 'pacemaker-simulator (mlip-trainer)',
    command: (program) => [join(SIMULATOR_BIN, program)],
    pythonPath: [SIMULATOR_SRC],
  };
}

export async function resolveToolchain(location: PacemakerLocation = 'auto'): Promise<Toolchain> {
  if (location === 'simulator') return simulatorToolchain();
  if (location !== 'auto') {
    const abs = resolve(location);
    if (await isExecutable(join(abs, 'pacemaker'))) return fromBinDir(abs, null);
    // A Python executable of the installation: its programs sit beside it.
    if ((await isExecutable(abs)) && /python[\d.]*$/.test(abs)) return fromBinDir(dirname(abs), abs);
    throw new ToolchainMissingError(
      `pacemaker location ${JSON.stringify(location)} is neither a folder with a pacemaker program nor a Python executable; set it to 'auto', 'simulator', a bin folder or a Python path`,
    );
  }
  const onPath = await findOnPath('pacemaker');
  if (onPath !== null) return fromBinDir(dirname(onPath), null);
  return simulatorToolchain();
}
