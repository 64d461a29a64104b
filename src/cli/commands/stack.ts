/** Commands that run Temporal pieces: the embedded dev stack, workers, the demo. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadDevStackConfig } from '../../config/load.js';
import { PROJECT_ROOT } from '../../paths.js';
import { resolveToolchain, SIMULATOR_NOTICE } from '../../pacemaker/toolchain.js';
import { createTrainerWorker } from '../../temporal/worker.js';
import { startDevStack } from '../../temporal/dev-stack.js';
import { runDemo } from '../demo.js';
import { positiveInt, untilSignal } from '../options.js';

export const DEFAULT_STACK = resolve(PROJECT_ROOT, 'temporal-dev.yml');

export function registerStackCommands(program: Command): void {
  program
    .command('dev')
    .description(
      'start the embedded Temporal dev server and a worker (temporal-dev.yml) and keep them running',
    )
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
    .description(
      'run a worker against any Temporal server (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* apply)',
    )
    .option(
      '--address <host:port>',
      'Temporal frontend (default: TEMPORAL_ADDRESS or localhost:7233)',
    )
    .option('--namespace <ns>', 'namespace (default: TEMPORAL_NAMESPACE or default)')
    .option('--task-queue <q>', 'task queue to poll', 'mlip-trainer')
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
      'activities run at once on this host',
      (v) => positiveInt('--max-concurrent', v),
      2,
    )
    .action(
      async (o: {
        address?: string;
        namespace?: string;
        taskQueue: string;
        workspace: string;
        pacemaker: string;
        maxConcurrent: number;
      }) => {
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
        console.log(
          `worker polling '${o.taskQueue}' with ${toolchain.kind === 'simulator' ? 'the pacemaker SIMULATOR' : `pacemaker ${toolchain.version}`}`,
        );
        const stop = () => worker.shutdown();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        await worker.run();
        await connection.close();
      },
    );

  program
    .command('demo')
    .description(
      'set up the embedded stack, label ~40 Cu/Ni structures with EMT, train one generation',
    )
    .option('--keep', 'keep the server and worker running afterwards')
    .option('--count <n>', 'structures to label', (v) => positiveInt('--count', v), 40)
    .action(async (o: { keep?: boolean; count: number }) => {
      await runDemo({ keep: o.keep ?? false, count: o.count, stackFile: DEFAULT_STACK });
    });
}
