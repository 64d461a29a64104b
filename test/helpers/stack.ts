/**
 * A real Temporal dev server and workers for integration tests: the `temporal` CLI's
 * start-dev on free ports with its own SQLite file, started here and stopped after.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type NativeConnection, type Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { freePort, startDevServer, findTemporalCli, type DevServer } from '../../src/temporal/dev-server.js';
import { createTrainerWorkers, type WorkerRole } from '../../src/temporal/worker.js';
import { bundleWorkflowSources, composition } from '../../app/worker.js';
import { SEARCH_ATTRIBUTES } from '../../src/domain/search-attributes.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import type { Toolchain } from '../../src/pacemaker/toolchain.js';
import { execa } from 'execa';

export interface StartWorkerOptions {
  taskQueue: string;
  workspaceRoot: string;
  toolchain: Toolchain;
  env?: Record<string, string>;
  roles?: WorkerRole[];
  hostQueue?: string;
  trainingSlots?: number;
  gpus?: string[];
  cpusPerSlot?: number;
}

export interface TestStack {
  server: DevServer;
  client: Client;
  dir: string;
  dbFile: string;
  bundle: WorkflowBundleOption;
  startWorker(o: StartWorkerOptions): Promise<RunningWorker>;
  /** `node bin/mlip-trainer.js worker ...` as its own process (own process group), for SIGKILL tests. */
  spawnWorkerProcess(o: { taskQueue: string; workspaceRoot: string; env?: Record<string, string>; logName: string; args?: string[] }): Promise<ChildProcess>;
  /** Stops the server and starts it again on the same port and SQLite file (workers reconnect). */
  restartServer(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface RunningWorker {
  /** The worker of the base queue (workflows + data activities). */
  worker: Worker;
  workers: Worker[];
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
  const serverOpts = { port, headless: true, dbFile, logFile: join(dir, 'temporal.log'), searchAttributes: { ...SEARCH_ATTRIBUTES } };
  let server = await startDevServer(serverOpts);
  const cli = await findTemporalCli();
  const version = (await execa(cli, ['--version'])).stdout.trim();
  console.log(`real Temporal dev server: ${version}, at ${server.address}`);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  bundlePromise ??= bundleWorkflowSources();
  const bundle = await bundlePromise;
  const workers: RunningWorker[] = [];
  const processes: ChildProcess[] = [];
  const stack: TestStack = {
    server,
    client,
    dir,
    dbFile,
    bundle,
    async startWorker(o) {
      const group = await createTrainerWorkers({
        composition,
        address: server.address,
        namespace: server.namespace,
        workflowBundle: bundle,
        shutdownGraceTime: '2s',
        heartbeatEveryMs: 500,
        progressSignalEveryMs: 1000,
        maxHeartbeatThrottleInterval: '1s',
        ...o,
      });
      const running = group.run();
      let stopped: Promise<void> | null = null;
      const rw: RunningWorker = {
        worker: group.workers[0]!,
        workers: group.workers,
        connection: group.connection,
        stop() {
          stopped ??= (async () => {
            group.shutdown();
            await running.catch(() => undefined);
            await group.connection.close();
          })();
          return stopped;
        },
      };
      workers.push(rw);
      return rw;
    },
    async spawnWorkerProcess(o) {
      const log = createWriteStream(join(dir, `${o.logName}.log`));
      const child = spawn(
        process.execPath,
        [join(PROJECT_ROOT, 'bin', 'mlip-trainer.js'), 'worker', '--address', server.address, '--task-queue', o.taskQueue, '--workspace', o.workspaceRoot, '--pacemaker', 'simulator', '--heartbeat-seconds', '0.5', ...(o.args ?? [])],
        { cwd: PROJECT_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } },
      );
      child.stdout?.pipe(log);
      child.stderr?.pipe(log);
      processes.push(child);
      // Ready once it says which queues it polls.
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const onData = (b: Buffer) => {
          out += b.toString();
          if (/worker polling/.test(out)) {
            child.stdout?.off('data', onData);
            resolve();
          }
        };
        child.stdout?.on('data', onData);
        child.once('exit', (code) => reject(new Error(`worker process exited with ${code} before polling; see ${join(dir, `${o.logName}.log`)}`)));
      });
      return child;
    },
    async restartServer(downMs = 0) {
      await server.stop();
      // The outage itself, not a wait: the server stays away this long while workers keep running.
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      server = await startDevServer(serverOpts);
      stack.server = server;
    },
    async stop() {
      for (const w of workers) await w.stop();
      for (const p of processes) {
        if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) {
          try {
            process.kill(-p.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      await connection.close();
      await server.stop();
    },
  };
  return stack;
}
