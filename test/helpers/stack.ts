/**
 * A real Temporal dev server and workers for integration tests: the `temporal` CLI's
 * start-dev on free ports with its own SQLite file, started here and stopped after.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type NativeConnection, type Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { freePort, startDevServer, findTemporalCli, type DevServer } from '../../src/temporal/dev-server.js';
import { bundleWorkflows, createTrainerWorker } from '../../src/temporal/worker.js';
import type { Toolchain } from '../../src/pacemaker/toolchain.js';
import { execa } from 'execa';

export interface TestStack {
  server: DevServer;
  client: Client;
  dir: string;
  dbFile: string;
  bundle: WorkflowBundleOption;
  startWorker(o: { taskQueue: string; workspaceRoot: string; toolchain: Toolchain; env?: Record<string, string> }): Promise<RunningWorker>;
  stop(): Promise<void>;
}

export interface RunningWorker {
  worker: Worker;
  connection: NativeConnection;
  stop(): Promise<void>;
}

let bundlePromise: Promise<WorkflowBundleOption> | null = null;

let runtimeInstalled = false;

export async function startTestStack(): Promise<TestStack> {
  if (!runtimeInstalled) {
    // Expected activity failures (fault injection) would otherwise flood the test output.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const dir = await mkdtemp(join(tmpdir(), 'mlip-it-'));
  const dbFile = join(dir, 'temporal.sqlite');
  const port = await freePort();
  const server = await startDevServer({ port, headless: true, dbFile, logFile: join(dir, 'temporal.log'), searchAttributes: { MlipCampaign: 'Keyword' } });
  const cli = await findTemporalCli();
  const version = (await execa(cli, ['--version'])).stdout.trim();
  console.log(`real Temporal dev server: ${version}, at ${server.address}`);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  bundlePromise ??= bundleWorkflows();
  const bundle = await bundlePromise;
  const workers: RunningWorker[] = [];
  return {
    server,
    client,
    dir,
    dbFile,
    bundle,
    async startWorker(o) {
      const { worker, connection: wc } = await createTrainerWorker({
        address: server.address,
        namespace: server.namespace,
        workflowBundle: bundle,
        shutdownGraceTime: '2s',
        heartbeatEveryMs: 500,
        maxHeartbeatThrottleInterval: '1s',
        ...o,
      });
      const running = worker.run();
      let stopped: Promise<void> | null = null;
      const rw: RunningWorker = {
        worker,
        connection: wc,
        stop() {
          stopped ??= (async () => {
            if (worker.getState() === 'RUNNING') worker.shutdown();
            await running.catch(() => undefined);
            await wc.close();
          })();
          return stopped;
        },
      };
      workers.push(rw);
      return rw;
    },
    async stop() {
      for (const w of workers) await w.stop();
      await connection.close();
      await server.stop();
    },
  };
}
