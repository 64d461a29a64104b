/**
 * What a command checks on this machine before it starts anything on the server: the result
 * files read by the one reader of labelled data, and a first look at a pool, with the Python
 * the workers would use (the pacemaker installation's, from temporal-dev.yml or MLIP_PACEMAKER).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDevStackConfig } from '../config/load.js';
import { BadInputError, ToolchainMissingError } from '../errors.js';
import { resolveToolchain, simulatorToolchain, type Toolchain } from '../pacemaker/toolchain.js';
import { DatasetStore, type DataLimits } from '../dataset/store.js';
import type { PacemakerTrainerConfig, TypeMap } from '../domain/schemas.js';
import { inspectPool } from '../selection/inspect-pool.js';
import { limitsOf } from '../trainer/pacemaker-trainer.js';

/**
 * The installation whose Python reads the files here: the stack's; when that is not usable on
 * this machine, the project's own Python (enough for every format but pickles that need pyace,
 * whose error then says so).
 */
export async function localToolchain(stackFile: string): Promise<Toolchain> {
  try {
    return await resolveToolchain((await loadDevStackConfig(stackFile)).worker.pacemaker);
  } catch (err) {
    if (err instanceof ToolchainMissingError) return simulatorToolchain();
    throw err;
  }
}

/** Reads and validates result files as the generation's dataset step will; nothing is written. */
export async function checkResultFiles(
  files: readonly string[],
  config: PacemakerTrainerConfig,
  toolchain: Toolchain,
  field = '--results',
): Promise<number> {
  const reference = config.reference_energy;
  const limits: DataLimits = limitsOf(config);
  const store = new DatasetStore(
    join(tmpdir(), 'mlip-trainer-check', 'unused.pckl.gzip'),
    { python: toolchain.python, logFile: join(tmpdir(), 'mlip-trainer-check.log') },
    { ...(reference !== 'auto' ? { referenceEnergy: reference } : {}), limits },
  );
  try {
    return (await store.checkFiles(files, config.elements)).records;
  } catch (err) {
    if (err instanceof BadInputError) throw new BadInputError(`${field}: ${err.message}`);
    throw err;
  }
}

/** The first structure of a pool, read as the selection reads it: a file that is no pool fails here. */
export async function lookAtPool(
  pool: string,
  typeMap: TypeMap | undefined,
  config: PacemakerTrainerConfig,
  toolchain: Toolchain,
  field = '--pool',
): Promise<void> {
  await inspectPool({
    pool,
    ...(typeMap ? { typeMap } : {}),
    elements: config.elements,
    limit: 1,
    field,
    logFile: join(tmpdir(), 'mlip-trainer-check.log'),
    toolchain,
  });
}
