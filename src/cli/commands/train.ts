/** `train`: start (or attach to) one training generation. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { loadTrainerConfig } from '../../config/load.js';
import { connectClient } from '../../temporal/worker.js';
import { startTraining, waitForArtifact } from '../../client/train.js';
import { readResultsFile } from '../../dataset/results-file.js';
import { MemoryLimit } from '../../domain/schemas.js';
import type { TrainPotentialWorkflowInputRaw } from '../../domain/workflow-input.js';
import { isSelectionOnly, type GenerationResult } from '../../domain/generation-result.js';
import { ProgressPrinter } from '../progress.js';
import { CliInputError, nonNegativeInt, positiveInt } from '../options.js';
import { selectionSummary } from '../selection-summary.js';
import { campaignDirOf, printReport, reportCampaign } from './report.js';

const POOL_SUFFIXES = ['.json', '.jsonl', '.pckl.gzip', '.pkl.gz'];

/**
 * `--pool FILE -n N [--pool-memory-limit SIZE]` as the workflow input's `pool`, or null. What the
 * CLI can see at once (flags, the file) fails here; the pool's contents (structures, elements)
 * are checked by the workflow's first step.
 */
async function poolOption(o: { pool?: string; n?: number; poolMemoryLimit?: string }): Promise<TrainPotentialWorkflowInputRaw['pool']> {
  if (o.pool === undefined) {
    if (o.n !== undefined || o.poolMemoryLimit !== undefined) {
      throw new CliInputError(`${o.n !== undefined ? '-n' : '--pool-memory-limit'} goes with --pool FILE (the candidates to select from)`);
    }
    return null;
  }
  if (o.n === undefined) throw new CliInputError(`--pool needs -n N, how many structures to select (got --pool ${JSON.stringify(o.pool)} alone)`);
  if (!POOL_SUFFIXES.some((s) => o.pool!.endsWith(s))) {
    throw new CliInputError(`--pool must be a results file (.json, .jsonl) or a dataset pickle (.pckl.gzip, .pkl.gz), got ${JSON.stringify(o.pool)}`);
  }
  const path = resolve(o.pool);
  const file = await stat(path).catch(() => null);
  if (file === null) throw new CliInputError(`--pool: file not found (got ${JSON.stringify(o.pool)})`);
  if (!file.isFile()) throw new CliInputError(`--pool: not a file (got ${JSON.stringify(o.pool)})`);
  if (o.poolMemoryLimit !== undefined && !MemoryLimit.safeParse(o.poolMemoryLimit).success) {
    throw new CliInputError(`--pool-memory-limit must look like 8GB or 500MB, got ${JSON.stringify(o.poolMemoryLimit)}`);
  }
  return { path, n: o.n, ...(o.poolMemoryLimit !== undefined ? { memoryLimit: o.poolMemoryLimit } : {}) };
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
      'labelled results: JSON array or JSONL of CalculationResult',
      [],
    )
    .requiredOption('--campaign <name>', 'campaign name (folder and workflow id)')
    .option('--generation <n>', 'generation number', (v) => nonNegativeInt('--generation', v), 0)
    .option('--initial-potential <yaml>', 'pacemaker potential YAML to fine-tune from')
    .option('--parent-version <v>', 'version of the initial potential, e.g. generation_004')
    .option(
      '--pool <file>',
      'candidates to select the structures to label next from (results .json/.jsonl or a dataset .pckl.gzip/.pkl.gz); with no --results, generation 0 only selects',
    )
    .option('-n <count>', 'with --pool: how many structures to select', (v) => positiveInt('-n', v))
    .option('--pool-memory-limit <size>', 'with --pool: memory limit of pace_select and pace_activeset, e.g. 8GB (default) or 500MB')
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
      (v) => positiveInt('--heartbeat-timeout', v),
    )
    .option('--wait', 'wait for the artifact, showing progress')
    .option('--report', "with --wait: make the campaign's report at the end (see `report`)")
    .option('--report-out <dir>', 'with --report: where to write it (default: <workspace>/<campaign>/report)')
    .addOption(new Option('--json', 'print machine-readable JSON only'))
    .action(
      async (o: {
        config: string;
        results: string[];
        campaign: string;
        generation: number;
        initialPotential?: string;
        parentVersion?: string;
        pool?: string;
        n?: number;
        poolMemoryLimit?: string;
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
        const config = await loadTrainerConfig(o.config);
        const results = o.results.map((f) => resolve(f));
        // Validate here too, so bad input fails at once with the file, field and value.
        let newStructures = 0;
        for (const f of results) newStructures += (await readResultsFile(f, config.pacemaker.elements)).length;
        const pool = await poolOption(o);
        const client = await connectClient({
          ...(o.address ? { address: o.address } : {}),
          ...(o.namespace ? { namespace: o.namespace } : {}),
        });
        const handle = await startTraining(
          client,
          {
            campaign: o.campaign,
            generation: o.generation,
            config,
            results,
            initialPotential: o.initialPotential ? resolve(o.initialPotential) : null,
            parentVersion: o.parentVersion ?? null,
            ...(pool ? { pool } : {}),
            ...(o.pinQueue ? { taskQueues: { data: o.pinQueue, training: o.pinQueue } } : {}),
            ...(o.heartbeatTimeout ? { tuning: { heartbeatTimeoutSeconds: o.heartbeatTimeout } } : {}),
          },
          o.taskQueue,
          { newStructures },
        );
        if (o.report && !o.wait) throw new CliInputError('--report goes with --wait (the report is made when the generation ends); without --wait, run `mlip-trainer report --campaign ' + o.campaign + '` later');
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
