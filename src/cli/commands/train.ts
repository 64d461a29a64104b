/** `train`: start (or attach to) one training generation. */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { loadTrainerConfig } from '../../config/load.js';
import { connectClient } from '../../temporal/worker.js';
import { startTraining, waitForArtifact } from '../../client/train.js';
import { readResultsFile } from '../../dataset/results-file.js';
import { ProgressPrinter } from '../progress.js';
import { nonNegativeInt, positiveInt } from '../options.js';

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
    .addOption(new Option('--json', 'print machine-readable JSON only'))
    .action(
      async (o: {
        config: string;
        results: string[];
        campaign: string;
        generation: number;
        initialPotential?: string;
        parentVersion?: string;
        address?: string;
        namespace?: string;
        taskQueue: string;
        pinQueue?: string;
        heartbeatTimeout?: number;
        wait?: boolean;
        json?: boolean;
      }) => {
        const config = await loadTrainerConfig(o.config);
        const results = o.results.map((f) => resolve(f));
        // Validate here too, so bad input fails at once with the file, field and value.
        for (const f of results) await readResultsFile(f, config.pacemaker.elements);
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
            ...(o.pinQueue ? { taskQueues: { data: o.pinQueue, training: o.pinQueue } } : {}),
            ...(o.heartbeatTimeout ? { tuning: { heartbeatTimeoutSeconds: o.heartbeatTimeout } } : {}),
          },
          o.taskQueue,
        );
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
        } finally {
          printer?.stop();
          await client.connection.close();
        }
      },
    );
}
