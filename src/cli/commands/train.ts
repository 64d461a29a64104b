/** `train`: start (or attach to) one training generation. */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { loadTrainerConfig } from '../../config/load.js';
import { startTraining, waitForArtifact } from '../../client/train.js';
import { readResultsFile } from '../../dataset/results-file.js';
import { DEFAULT_GAMMA_MAX, describeIssues, MemoryLimit, type TrainerConfig, type TypeMap } from '../../domain/schemas.js';
import { TrainPotentialWorkflowInput, type TrainPotentialWorkflowInputRaw } from '../../domain/workflow-input.js';
import { isSelectionOnly, type GenerationResult } from '../../domain/generation-result.js';
import { ProgressPrinter } from '../progress.js';
import { connectCli } from '../connect.js';
import { checkResultFiles, localToolchain, lookAtPool } from '../checks.js';
import {
  campaignName,
  CliInputError,
  fraction,
  inputFile,
  MAX_GENERATION,
  MAX_SECONDS,
  MAX_STRUCTURES,
  nonNegativeInt,
  nonNegativeNumber,
  thresholdOrNone,
  positiveInt,
  positiveNumber,
  typeMap,
} from '../options.js';
import { selectionSummary } from '../selection-summary.js';
import { DEFAULT_STACK } from './stack.js';
import { campaignDirOf, printReport, reportCampaign } from './report.js';

/**
 * `--pool FILE -n N [--pool-memory-limit SIZE] [--type-map 1=Cu,2=Ni]` as the workflow input's
 * `pool`, or null. The flags and the file fail here; the pool's contents are looked at by
 * lookAtPool (its first structure) and checked whole by the workflow's first step.
 */
interface PoolFlags {
  pool?: string;
  n?: number;
  poolMemoryLimit?: string;
  typeMap?: TypeMap;
  poolRandomFraction?: number;
  poolGammaMin?: number;
  poolGammaMax?: number | null;
}

async function poolOption(o: PoolFlags): Promise<TrainPotentialWorkflowInputRaw['pool']> {
  if (o.pool === undefined) {
    const flags: [keyof PoolFlags, string][] = [
      ['n', '-n'],
      ['poolMemoryLimit', '--pool-memory-limit'],
      ['typeMap', '--type-map'],
      ['poolRandomFraction', '--pool-random-fraction'],
      ['poolGammaMin', '--pool-gamma-min'],
      ['poolGammaMax', '--pool-gamma-max'],
    ];
    const stray = flags.find(([key]) => o[key] !== undefined)?.[1] ?? null;
    if (stray !== null) throw new CliInputError(`${stray} goes with --pool FILE (the candidates to select from)`);
    return null;
  }
  if (o.n === undefined) throw new CliInputError(`--pool needs -n N, how many structures to select (got --pool ${JSON.stringify(o.pool)} alone)`);
  await inputFile('--pool', o.pool);
  if (o.poolMemoryLimit !== undefined && !MemoryLimit.safeParse(o.poolMemoryLimit).success) {
    throw new CliInputError(`--pool-memory-limit must look like 8GB or 500MB, got ${JSON.stringify(o.poolMemoryLimit)}`);
  }
  if (o.poolGammaMin !== undefined && typeof o.poolGammaMax === 'number' && o.poolGammaMin >= o.poolGammaMax) {
    throw new CliInputError(`--pool-gamma-min (${o.poolGammaMin}) must be below --pool-gamma-max (${o.poolGammaMax})`);
  }
  return {
    path: resolve(o.pool),
    n: o.n,
    ...(o.poolMemoryLimit !== undefined ? { memoryLimit: o.poolMemoryLimit } : {}),
    ...(o.poolRandomFraction !== undefined ? { randomFraction: o.poolRandomFraction } : {}),
    ...(o.poolGammaMin !== undefined ? { gammaMin: o.poolGammaMin } : {}),
    ...(o.poolGammaMax !== undefined ? { gammaMax: o.poolGammaMax } : {}),
    ...(o.typeMap !== undefined ? { typeMap: o.typeMap } : {}),
  };
}

/** The config with the command line's sanity limits over its own. */
function withLimits(config: TrainerConfig, o: { maxEnergyPerAtom?: number; maxForce?: number }): TrainerConfig {
  return {
    ...config,
    pacemaker: {
      ...config.pacemaker,
      ...(o.maxEnergyPerAtom !== undefined ? { max_energy_per_atom_ev: o.maxEnergyPerAtom } : {}),
      ...(o.maxForce !== undefined ? { max_force_ev_per_a: o.maxForce } : {}),
    },
  };
}

/** After --wait: what the generation selected to label next (its result JSON is on stdout). */
function printSelectionOf(r: GenerationResult): void {
  const selection = r.selection;
  if (!selection) return;
  console.error(isSelectionOnly(r) ? `${r.version}: ${r.reason}` : `${r.version}: trained ${r.path}; structures to label next, selected with it:`);
  for (const line of selectionSummary(selection)) console.error(line);
}

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('start one training generation (attaches to it if it is already running)')
    .requiredOption('--config <file>', 'trainer config YAML (see examples/cu-ni.yml)')
    .option(
      '--results <files...>',
      'labelled results: CalculationResult JSON/JSONL, a pacemaker dataset pickle, or any file ASE reads with energies and forces (extxyz, .traj, OUTCAR, vasprun.xml)',
      [],
    )
    .requiredOption('--campaign <name>', 'campaign name (folder and workflow id)', (v) => campaignName('--campaign', v))
    .option('--generation <n>', 'generation number (0-999)', (v) => nonNegativeInt('--generation', v, MAX_GENERATION), 0)
    .option('--initial-potential <yaml>', 'pacemaker potential YAML to fine-tune from')
    .option('--parent-version <v>', 'version of the initial potential, e.g. generation_004')
    .option(
      '--pool <file>',
      'candidates to select the structures to label next from: any file of structures, labelled or not (extxyz, .traj, POSCAR, XDATCAR, LAMMPS dump/data with --type-map, CIF, JSON/JSONL of Structure) or a dataset pickle; with no --results, generation 0 only selects',
    )
    .option('-n <count>', 'with --pool: how many structures to select', (v) => positiveInt('-n', v, MAX_STRUCTURES))
    .option('--pool-memory-limit <size>', 'with --pool: memory limit of pace_select and pace_activeset, e.g. 8GB (default) or 500MB')
    .option('--type-map <types>', 'with a LAMMPS --pool: atom type -> element, e.g. 1=Cu,2=Ni', (v) => typeMap('--type-map', v))
    .option('--pool-random-fraction <share>', 'with --pool: of the n, floor(n x share) drawn at random (batch diversity; default 0)', (v) => fraction('--pool-random-fraction', v))
    .option('--pool-gamma-min <grade>', "with --pool: only structures graded at least this against the new potential's active set are candidates", (v) => nonNegativeNumber('--pool-gamma-min', v))
    .option('--pool-gamma-max <grade>', `with --pool: only structures graded at most this are candidates (default ${DEFAULT_GAMMA_MAX ?? 'none'}; none: no threshold)`, (v) => thresholdOrNone('--pool-gamma-max', v))
    .option('--max-energy-per-atom <eV>', 'refuse results with |energy|/atom above this (default: the config, else 1000)', (v) => positiveNumber('--max-energy-per-atom', v))
    .option('--max-force <eV/Å>', 'refuse results with any |force component| above this (default: the config, else 1000)', (v) => positiveNumber('--max-force', v))
    .option('--address <host:port>', 'Temporal frontend')
    .option('--namespace <ns>', 'namespace')
    .option('--task-queue <q>', 'base task queue of the workers (training goes to <q>-training)', 'mlip-trainer')
    .option(
      '--pin-queue <q>',
      "run every step on the worker polling this host queue (its --host-queue): for sites without a shared file system",
    )
    .option(
      '--heartbeat-timeout <s>',
      'seconds without a heartbeat before a training worker counts as dead and another resumes',
      (v) => positiveInt('--heartbeat-timeout', v, MAX_SECONDS),
    )
    .option('--wait', 'wait for the artifact, showing progress')
    .option('--report', "with --wait: make the campaign's report at the end (see `report`)")
    .option('--report-out <dir>', 'with --report: where to write it (default: <workspace>/<campaign>/report)')
    .addOption(new Option('--json', 'print machine-readable JSON only'))
    .action(
      async (o: PoolFlags & {
        config: string;
        results: string[];
        campaign: string;
        generation: number;
        initialPotential?: string;
        parentVersion?: string;
        maxEnergyPerAtom?: number;
        maxForce?: number;
        address?: string;
        namespace?: string;
        taskQueue: string;
        pinQueue?: string;
        heartbeatTimeout?: number;
        wait?: boolean;
        report?: boolean;
        reportOut?: string;
        json?: boolean;
      }) => {
        // Everything is checked here, before any connection: flags, config, files and their
        // contents, and the whole workflow input.
        const config = withLimits(await loadTrainerConfig(o.config), o);
        const results = o.results.map((f) => resolve(f));
        // JSON first, where zod names the JSON path of a bad field; then every file by the one reader.
        for (const f of results) if (/\.(json|jsonl|ndjson)$/i.test(f)) await readResultsFile(f, config.pacemaker.elements).catch(skipUnreadable);
        const pool = await poolOption(o);
        if (o.initialPotential !== undefined) await inputFile('--initial-potential', o.initialPotential);
        if (o.report && !o.wait) throw new CliInputError('--report goes with --wait (the report is made when the generation ends); without --wait, run `mlip-trainer report --campaign ' + o.campaign + '` later');
        let newStructures = 0;
        if (results.length > 0 || pool) {
          const toolchain = await localToolchain(DEFAULT_STACK);
          // The structures the files hold, for the generation's summary in the Temporal UI.
          if (results.length > 0) newStructures = await checkResultFiles(results, config.pacemaker, toolchain);
          if (pool) await lookAtPool(pool.path, o.typeMap, config.pacemaker, toolchain);
        }
        const input: TrainPotentialWorkflowInputRaw = {
          campaign: o.campaign,
          generation: o.generation,
          config,
          results,
          initialPotential: o.initialPotential ? resolve(o.initialPotential) : null,
          parentVersion: o.parentVersion ?? null,
          ...(pool ? { pool } : {}),
          ...(o.pinQueue ? { taskQueues: { data: o.pinQueue, training: o.pinQueue } } : {}),
          ...(o.heartbeatTimeout ? { tuning: { heartbeatTimeoutSeconds: o.heartbeatTimeout } } : {}),
        };
        const parsed = TrainPotentialWorkflowInput.safeParse(input, { reportInput: true });
        if (!parsed.success) throw new CliInputError(`invalid workflow input: ${describeIssues(parsed.error, 'input').replaceAll('\n', '; ')}`);
        if (o.taskQueue.trim() === '') throw new CliInputError('--task-queue must not be empty');
        const client = await connectCli({
          ...(o.address ? { address: o.address } : {}),
          ...(o.namespace ? { namespace: o.namespace } : {}),
        });
        const handle = await startTraining(client, input, o.taskQueue, { newStructures });
        if (!o.wait) {
          console.log(
            o.json
              ? JSON.stringify({ workflowId: handle.workflowId })
              : `started ${handle.workflowId}`,
          );
          return;
        }
        const printer = o.json ? null : new ProgressPrinter(config.pacemaker.max_epochs);
        try {
          const artifact = await waitForArtifact(
            handle,
            printer ? (p) => printer.update(p) : undefined,
          );
          printer?.stop();
          console.log(JSON.stringify(artifact, null, o.json ? undefined : 2));
          if (!o.json) printSelectionOf(artifact);
          if (o.report) printReport(await reportCampaign({ campaignDir: campaignDirOf(artifact), ...(o.reportOut ? { out: o.reportOut } : {}) }));
        } finally {
          printer?.stop();
          await client.connection.close();
        }
      },
    );
}

/** The JSON pre-check reports bad records; a file it cannot read is left to the one reader, which says why. */
function skipUnreadable(err: unknown): void {
  if (err instanceof Error && / cannot read results file: /.test(err.message)) return;
  throw err;
}
