/** The `mlip-trainer` command line. */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TrainerError } from '../errors.js';
import { loadDevStackConfig, loadTrainerConfig } from '../config/load.js';
import { PROJECT_ROOT } from '../paths.js';
import { resolveToolchain, SIMULATOR_NOTICE } from '../pacemaker/toolchain.js';
import { createTrainerWorker, connectClient } from '../temporal/worker.js';
import { startDevStack } from '../temporal/dev-stack.js';
import { startTraining, waitForArtifact } from '../client/train.js';
import { readResultsFile } from '../dataset/results-file.js';
import { ProgressPrinter } from './progress.js';
import { runDemo } from './demo.js';
import { labelEmt } from '../dataset/emt.js';

// Worker chatter (state changes, retried attempts) stays out of the terminal unless asked for.
Runtime.install({ logger: new DefaultLogger((process.env.MLIP_LOG_LEVEL ?? 'WARN') as 'WARN') });

const program = new Command()
  .name('mlip-trainer')
  .description('Train and fine-tune ACE potentials with pacemaker, durably, on Temporal')
  .showHelpAfterError();

const DEFAULT_STACK = resolve(PROJECT_ROOT, 'temporal-dev.yml');

program
  .command('dev')
  .description('start the embedded Temporal dev server and a worker (temporal-dev.yml) and keep them running')
  .option('--config <file>', 'dev stack description', DEFAULT_STACK)
  .action(async (o: { config: string }) => {
    const stack = await startDevStack(await loadDevStackConfig(o.config));
    if (stack.toolchain.kind === 'simulator') console.log(SIMULATOR_NOTICE);
    console.log('running; Ctrl-C stops server and worker');
    await untilSignal();
    await stack.stop();
  });

program
  .command('worker')
  .description('run a worker against any Temporal server (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* apply)')
  .option('--address <host:port>', 'Temporal frontend (default: TEMPORAL_ADDRESS or localhost:7233)')
  .option('--namespace <ns>', 'namespace (default: TEMPORAL_NAMESPACE or default)')
  .option('--task-queue <q>', 'task queue to poll', 'mlip-trainer')
  .requiredOption('--workspace <dir>', 'workspace root shared by the workers (campaign folders live here)')
  .option('--pacemaker <location>', "'auto', 'simulator', a pacemaker bin folder or its python", process.env.MLIP_PACEMAKER ?? 'auto')
  .option('--max-concurrent <n>', 'activities run at once on this host', (v) => positiveInt('--max-concurrent', v), 2)
  .action(async (o: { address?: string; namespace?: string; taskQueue: string; workspace: string; pacemaker: string; maxConcurrent: number }) => {
    const toolchain = await resolveToolchain(o.pacemaker);
    if (toolchain.kind === 'simulator') console.log(SIMULATOR_NOTICE);
    const { worker, connection } = await createTrainerWorker({
      ...(o.address ? { address: o.address } : {}),
      ...(o.namespace ? { namespace: o.namespace } : {}),
      taskQueue: o.taskQueue,
      workspaceRoot: resolve(o.workspace),
      toolchain,
      maxConcurrentActivityTaskExecutions: o.maxConcurrent,
    });
    console.log(`worker polling '${o.taskQueue}' with ${toolchain.kind === 'simulator' ? 'the pacemaker SIMULATOR' : `pacemaker ${toolchain.version}`}`);
    const stop = () => worker.shutdown();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await worker.run();
    await connection.close();
  });

program
  .command('train')
  .description('start one training generation (attaches to it if it is already running)')
  .requiredOption('--config <file>', 'trainer config YAML (see examples/cu-ni.yml)')
  .option('--results <files...>', 'labelled results: JSON array or JSONL of CalculationResult', [])
  .requiredOption('--campaign <name>', 'campaign name (folder and workflow id)')
  .option('--generation <n>', 'generation number', (v) => nonNegativeInt('--generation', v), 0)
  .option('--initial-potential <yaml>', 'pacemaker potential YAML to fine-tune from')
  .option('--parent-version <v>', 'version of the initial potential, e.g. generation_004')
  .option('--address <host:port>', 'Temporal frontend')
  .option('--namespace <ns>', 'namespace')
  .option('--task-queue <q>', 'task queue of the workers', 'mlip-trainer')
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
        },
        o.taskQueue,
      );
      if (!o.wait) {
        console.log(o.json ? JSON.stringify({ workflowId: handle.workflowId }) : `started ${handle.workflowId}`);
        return;
      }
      const printer = o.json ? null : new ProgressPrinter(config.pacemaker.max_epochs);
      try {
        const artifact = await waitForArtifact(handle, printer ? (p) => printer.update(p) : undefined);
        printer?.stop();
        console.log(JSON.stringify(artifact, null, o.json ? undefined : 2));
      } finally {
        printer?.stop();
        await client.connection.close();
      }
    },
  );

program
  .command('demo')
  .description('set up the embedded stack, label ~40 Cu/Ni structures with EMT, train one generation')
  .option('--keep', 'keep the server and worker running afterwards')
  .option('--count <n>', 'structures to label', (v) => positiveInt('--count', v), 40)
  .action(async (o: { keep?: boolean; count: number }) => {
    await runDemo({ keep: o.keep ?? false, count: o.count, stackFile: DEFAULT_STACK });
  });

program
  .command('label-emt')
  .description("write labelled Cu/Ni structures from ASE's EMT calculator (real energies and forces) as JSONL")
  .requiredOption('--out <file>', 'output JSONL')
  .option('--count <n>', 'structures', (v) => positiveInt('--count', v), 40)
  .option('--elements <list>', 'comma-separated EMT elements (Cu, Ni, Al, Ag, Au, Pd, Pt)', 'Cu,Ni')
  .option('--seed <n>', 'random seed', (v) => nonNegativeInt('--seed', v), 0)
  .action(async (o: { out: string; count: number; elements: string; seed: number }) => {
    const r = await labelEmt({ out: resolve(o.out), count: o.count, elements: o.elements.split(','), seed: o.seed });
    console.log(JSON.stringify(r));
  });

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new TrainerInputError(`${flag} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}
function nonNegativeInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new TrainerInputError(`${flag} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}
class TrainerInputError extends Error {}

function untilSignal(): Promise<void> {
  return new Promise((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof TrainerError || err instanceof TrainerInputError) {
    console.error(`mlip-trainer: ${err.message}`);
    process.exit(2);
  }
  const failure = err as { cause?: { message?: string; type?: string }; message?: string };
  if (failure.cause?.type) {
    console.error(`mlip-trainer: ${failure.message ?? 'failed'}: [${failure.cause.type}] ${failure.cause.message ?? ''}`);
    process.exit(failure.cause.type === 'BadInput' ? 2 : 1);
  }
  console.error(err);
  process.exit(1);
}
