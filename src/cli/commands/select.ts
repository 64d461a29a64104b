/** `mlip-trainer select`: choose structures to label from a pool, outside any workflow. */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { loadDevStackConfig, loadTrainerConfig } from '../../config/load.js';
import type { ActiveSetSelection, TypeMap } from '../../domain/schemas.js';
import { DEFAULT_GAMMA_MAX, DEFAULT_RANDOM_FRACTION, DEFAULT_SELECTION_MEMORY_LIMIT, MemoryLimit } from '../../domain/schemas.js';
import { resolveToolchain, SIMULATOR_NOTICE } from '../../pacemaker/toolchain.js';
import { selectActiveSet } from '../../selection/select-active-set.js';
import { CliInputError, fraction, inputFile, MAX_STRUCTURES, nonNegativeInt, nonNegativeNumber, outputFolder, thresholdOrNone, positiveInt, typeMap } from '../options.js';
import { selectionSummary } from '../selection-summary.js';
import { DEFAULT_STACK } from './stack.js';

interface SelectOptions {
  pool: string;
  n: number;
  potential?: string;
  activeSet?: string;
  config?: string;
  out: string;
  memoryLimit: string;
  pacemaker?: string;
  stack: string;
  via: 'in-process' | 'program';
  typeMap?: TypeMap;
  json?: boolean;
  randomFraction: number;
  gammaMin?: number;
  gammaMax?: number | null;
  seed?: number;
}

function printSelection(r: ActiveSetSelection): void {
  for (const line of selectionSummary(r)) console.log(line);
}

export function registerSelectCommands(program: Command): void {
  program
    .command('select')
    .description('choose n structures to label from a pool by D-optimality (pace_select), filled up by extrapolation grade')
    .requiredOption('--pool <file>', 'candidates: any file of structures, labelled or not (extxyz, .traj, POSCAR, XDATCAR, LAMMPS dump/data with --type-map, CIF, JSON/JSONL of Structure) or a dataset pickle')
    .requiredOption('-n <count>', 'structures to select', (v) => positiveInt('-n', v, MAX_STRUCTURES))
    .option('--type-map <types>', 'for a LAMMPS pool: atom type -> element, e.g. 1=Cu,2=Ni', (v) => typeMap('--type-map', v))
    .option('--potential <file>', 'potential YAML to select with (default: the unfitted shape of --config, generation 0)')
    .option('--active-set <file>', "the potential's .asi (default: <potential>.asi when it exists)")
    .option('--config <file>', 'trainer config (needed without --potential)')
    .option('--out <dir>', 'folder for the selection files', 'selection')
    .option('--memory-limit <size>', 'pace_select memory limit, e.g. 8GB or 500MB', DEFAULT_SELECTION_MEMORY_LIMIT)
    .option('--pacemaker <location>', "pacemaker bin folder, Python, 'auto' or 'simulator' (default: temporal-dev.yml)")
    .option('--stack <file>', 'dev stack description giving the default pacemaker', DEFAULT_STACK)
    .addOption(
      new Option('--via <how>', "in-process: pace_select's own function in one process; program: the pace_select program")
        .choices(['in-process', 'program'])
        .default('in-process'),
    )
    .option('--random-fraction <share>', 'of the n, floor(n x share) drawn at random from what is left (batch diversity)', (v) => fraction('--random-fraction', v), DEFAULT_RANDOM_FRACTION)
    .option('--gamma-min <grade>', "only structures whose extrapolation grade against the potential's active set is at least this are candidates", (v) => nonNegativeNumber('--gamma-min', v))
    .option('--gamma-max <grade>', `only structures graded at most this are candidates (keeps out wild extrapolations; default ${DEFAULT_GAMMA_MAX ?? 'none'}; none: no threshold)`, (v) => thresholdOrNone('--gamma-max', v))
    .option('--seed <int>', 'seed of the random draw (default: derived from the inputs)', (v) => nonNegativeInt('--seed', v, 2 ** 31 - 1))
    .addOption(new Option('--json', 'print machine-readable JSON only'))
    .action(async (o: SelectOptions) => {
      if (o.gammaMin !== undefined && typeof o.gammaMax === 'number' && o.gammaMin >= o.gammaMax) {
        throw new CliInputError(`--gamma-min (${o.gammaMin}) must be below --gamma-max (${o.gammaMax})`);
      }
      if ((o.gammaMin !== undefined || typeof o.gammaMax === 'number') && o.via === 'program') {
        throw new CliInputError('--gamma-min/--gamma-max need --via in-process (the pace_select program reads the whole pool)');
      }
      if (o.potential === undefined && o.config === undefined) {
        throw new CliInputError('give --potential FILE, or --config FILE to select with the unfitted generation-0 potential');
      }
      await inputFile('--pool', o.pool);
      if (o.potential !== undefined) await inputFile('--potential', o.potential);
      if (o.activeSet !== undefined) await inputFile('--active-set', o.activeSet);
      if (!MemoryLimit.safeParse(o.memoryLimit).success) throw new CliInputError(`--memory-limit must look like 8GB or 500MB, got ${JSON.stringify(o.memoryLimit)}`);
      await outputFolder('--out', o.out);
      const config = o.config !== undefined ? (await loadTrainerConfig(o.config)).pacemaker : undefined;
      const location = o.pacemaker ?? (await loadDevStackConfig(o.stack)).worker.pacemaker;
      const toolchain = await resolveToolchain(location);
      if (toolchain.kind === 'simulator') console.error(SIMULATOR_NOTICE);
      const r = await selectActiveSet({
        pool: resolve(o.pool),
        ...(o.typeMap ? { typeMap: o.typeMap } : {}),
        n: o.n,
        potential: o.potential !== undefined ? resolve(o.potential) : null,
        ...(o.activeSet !== undefined ? { activeSet: resolve(o.activeSet) } : {}),
        ...(config ? { config } : {}),
        workDir: resolve(o.out),
        memoryLimit: o.memoryLimit,
        via: o.via,
        strategy: {
          randomFraction: o.randomFraction,
          ...(o.gammaMin !== undefined ? { gammaMin: o.gammaMin } : {}),
          ...(o.gammaMax !== undefined ? { gammaMax: o.gammaMax } : {}),
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
        },
        toolchain,
      });
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else printSelection(r);
    });
}
