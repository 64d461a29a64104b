/** Commands that run Temporal pieces: the embedded dev stack, workers, the demo. */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadDevStackConfig } from '../../config/load.js';
import { DEFAULT_STACK_FILE } from '../../paths.js';
import { resolveToolchain, SIMULATOR_NOTICE } from '../../pacemaker/toolchain.js';
import { createTrainerWorkers, type WorkerComposition, type WorkerRole } from '../../temporal/worker.js';
import { parseGpus, planSlots, SlotPool, type SlotResources } from '../../process/slots.js';
import { checkSearchAttributes } from '../../temporal/search-attributes.js';
import { ToolchainMissingError } from '../../errors.js';
import { startDevStack } from '../../temporal/dev-stack.js';
import { runDemo } from '../demo.js';
import { runDemoLoop } from '../demo-loop.js';
import { printReport, reportCampaign } from './report.js';
import { addressOf, connectCli, connectionFailureReason, isConnectionFailure, ServerUnreachableError, unreachableMessage } from '../connect.js';
import { CliInputError, MAX_SECONDS, outputFolder, positiveInt, positiveNumber, untilSignal } from '../options.js';

export const DEFAULT_STACK = DEFAULT_STACK_FILE;

/** `composition`: the activities and workflow code the started workers run (from app/cli.ts). */
export function registerStackCommands(program: Command, composition: WorkerComposition): void {
  program
    .command('dev')
    .description(
      'start the embedded Temporal dev server and a worker (temporal-dev.yml) and keep them running',
    )
    .option('--config <file>', 'dev stack description', DEFAULT_STACK)
    .action(async (o: { config: string }) => {
      const stack = await startDevStack(await loadDevStackConfig(o.config), { composition });
      if (stack.toolchain.kind === 'simulator') console.log(SIMULATOR_NOTICE);
      console.log('running; Ctrl-C stops server and worker');
      await untilSignal();
      await stack.stop();
    });

  program
    .command('worker')
    .description(
      'run a worker against any Temporal server (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* apply)',
    )
    .option(
      '--address <host:port>',
      'Temporal frontend (default: TEMPORAL_ADDRESS or localhost:7233)',
    )
    .option('--namespace <ns>', 'namespace (default: TEMPORAL_NAMESPACE or default)')
    .option(
      '--task-queue <q>',
      'base task queue: workflows and dataset work poll <q>, training polls <q>-training',
      'mlip-trainer',
    )
    .option(
      '--role <role>',
      "what this host serves: 'data' (workflows, dataset, selection), 'training' (pacemaker fits) or 'all'",
      (v) => parseRole(v),
      'all' as const,
    )
    .option(
      '--host-queue <q>',
      'also poll this host-only queue with every activity (pin campaigns here when there is no shared file system)',
    )
    .requiredOption(
      '--workspace <dir>',
      'workspace root shared by the workers (campaign folders live here)',
    )
    .option(
      '--pacemaker <location>',
      "'auto', 'simulator', a pacemaker bin folder or its python",
      process.env.MLIP_PACEMAKER ?? 'auto',
    )
    .option(
      '--max-concurrent <n>',
      'dataset/selection activities run at once on this host',
      (v) => positiveInt('--max-concurrent', v, 1024),
      2,
    )
    .option(
      '--training-slots <n>',
      'trainings run at once on this host: one per GPU',
      (v) => positiveInt('--training-slots', v, 1024),
      1,
    )
    .option(
      '--gpus <list>',
      "GPUs handed out one per training slot, e.g. 0,1,2,3 ('none': no pinning; default: CUDA_VISIBLE_DEVICES, else none)",
    )
    .option(
      '--cpus-per-slot <n>',
      "threads of each fit (TensorFlow's pools, OpenMP/BLAS); default: this host's cores / training slots",
      (v) => positiveInt('--cpus-per-slot', v, 4096),
    )
    .option(
      '--heartbeat-seconds <s>',
      'heartbeat period of running programs, s (keep it well below the workflow heartbeat timeout)',
      (v) => positiveNumber('--heartbeat-seconds', v, MAX_SECONDS),
      5,
    )
    .action(
      async (o: {
        address?: string;
        namespace?: string;
        taskQueue: string;
        role: 'all' | WorkerRole;
        hostQueue?: string;
        workspace: string;
        pacemaker: string;
        maxConcurrent: number;
        trainingSlots: number;
        gpus?: string;
        cpusPerSlot?: number;
        heartbeatSeconds: number;
      }) => {
        // Checked before anything starts: more slots than GPUs is refused with the counts.
        if (o.taskQueue.trim() === '') throw new CliInputError('--task-queue must not be empty');
        const gpus = parseGpus(o.gpus, process.env.CUDA_VISIBLE_DEVICES);
        const slots = planSlots({ slots: o.trainingSlots, gpus, cores: availableParallelism(), cpusPerSlot: o.cpusPerSlot ?? null });
        await outputFolder('--workspace', o.workspace);
        const toolchain = await resolveToolchain(o.pacemaker);
        if (toolchain.kind === 'simulator') console.log(SIMULATOR_NOTICE);
        if (o.role !== 'training') await requireSearchAttributes(o);
        const workers = await createTrainerWorkers({
          composition,
          ...(o.address ? { address: o.address } : {}),
          ...(o.namespace ? { namespace: o.namespace } : {}),
          taskQueue: o.taskQueue,
          roles: o.role === 'all' ? ['data', 'training'] : [o.role],
          ...(o.hostQueue ? { hostQueue: o.hostQueue } : {}),
          workspaceRoot: resolve(o.workspace),
          toolchain,
          maxConcurrentActivityTaskExecutions: o.maxConcurrent,
          trainingSlots: o.trainingSlots,
          slotPool: new SlotPool(slots),
          heartbeatEveryMs: Math.round(o.heartbeatSeconds * 1000),
          maxHeartbeatThrottleInterval: `${Math.max(1, Math.round(o.heartbeatSeconds * 2))}s`,
        }).catch((err: unknown) => {
          if (isConnectionFailure(err)) throw new ServerUnreachableError(unreachableMessage(addressOf(o), connectionFailureReason(err)));
          throw err;
        });
        console.log(
          `worker polling ${workers.queues.map((q) => `'${q}'`).join(', ')} with ${toolchain.kind === 'simulator' ? 'the pacemaker SIMULATOR' : `pacemaker ${toolchain.version}`} (pid ${process.pid})`,
        );
        if (o.role !== 'data') console.log(`training slots: ${describeSlots(slots)}`);
        const stop = () => workers.shutdown();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        await workers.run();
        await workers.connection.close();
      },
    );

  program
    .command('demo')
    .description(
      'set up the embedded stack, label ~40 Cu/Ni structures with EMT, train one generation',
    )
    .option('--keep', 'keep the server and worker running afterwards')
    .option('--count <n>', 'structures to label', (v) => positiveInt('--count', v, 100_000), 40)
    .option('--loop', 'a closed active-learning loop instead: select, label with the EMT oracle, fine-tune, three generations; ends with the campaign report')
    .option('--generations <n>', 'with --loop: generations', (v) => positiveInt('--generations', v, 1000), 3)
    .option('--per-generation <n>', 'with --loop: structures labelled per generation', (v) => positiveInt('--per-generation', v, 100_000), 8)
    .option('--pool-size <n>', 'with --loop: frames in the exploration pool', (v) => positiveInt('--pool-size', v, 1_000_000), 120)
    .option('--report', "make the campaign's report (HTML page and SVG figures) at the end (always with --loop)")
    .option('--json', 'end by printing the full artifact as JSON instead of the summary')
    .action(
      async (o: { keep?: boolean; count: number; loop?: boolean; generations: number; perGeneration: number; poolSize: number; report?: boolean; json?: boolean }) => {
        if (o.loop) {
          await runDemoLoop({
            keep: o.keep ?? false,
            stackFile: DEFAULT_STACK,
            composition,
            generations: o.generations,
            perGeneration: o.perGeneration,
            poolSize: o.poolSize,
            report: async ({ campaign, workspace }) =>
              printReport(await reportCampaign({ campaign, workspace, stack: DEFAULT_STACK }), (line) => console.log(line)),
          });
          return;
        }
        await runDemo({ keep: o.keep ?? false, count: o.count, report: o.report ?? false, json: o.json ?? false, stackFile: DEFAULT_STACK, composition });
      },
    );
}

/** `2 x (GPU 0 | GPU 1), 8 threads each`, `1, not pinned to a GPU, 2 threads`: what the worker says at start. */
function describeSlots(slots: readonly SlotResources[]): string {
  const threads = slots[0]?.threads;
  const each = threads === null || threads === undefined ? "the programs' default threads" : `${threads} thread${threads === 1 ? '' : 's'} each`;
  const gpus = slots.every((s) => s.gpu === null) ? 'not pinned to a GPU' : slots.map((s) => `GPU ${s.gpu}`).join(' | ');
  return `${slots.length} (${gpus}), ${each}`;
}

function parseRole(v: string): 'all' | WorkerRole {
  if (v === 'all' || v === 'data' || v === 'training') return v;
  throw new CliInputError(`--role must be 'data', 'training' or 'all', got ${JSON.stringify(v)}`);
}

/** A workflow worker on a server without the search attributes would fail every workflow task: refuse to start. */
async function requireSearchAttributes(o: { address?: string; namespace?: string }): Promise<void> {
  const client = await connectCli({
    ...(o.address ? { address: o.address } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
  });
  try {
    const check = await checkSearchAttributes(client, client.options.namespace);
    if (check.unknown) {
      console.error('warning: could not list the search attributes of this namespace; make sure MlipCampaign, MlipGeneration, MlipStage, MlipElements and MlipTestForceRmse are registered');
    } else if (check.missing.length > 0) {
      throw new ToolchainMissingError(
        `namespace ${client.options.namespace} lacks the search attributes ${check.missing.join(', ')}, which the workflow sets; register them first:\n${check.fix.join('\n')}`,
      );
    }
  } finally {
    await client.connection.close();
  }
}
