/** The embedded stack of temporal-dev.yml: a dev server plus one worker, in this process. */
import { join } from 'node:path';
import type { DevStackConfig } from '../config/load.js';
import { resolveToolchain, type Toolchain } from '../pacemaker/toolchain.js';
import { freePort, startDevServer, type DevServer } from './dev-server.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { createTrainerWorkers, type TrainerWorkers, type WorkerComposition } from './worker.js';

export interface DevStack {
  server: DevServer;
  workers: TrainerWorkers;
  toolchain: Toolchain;
  taskQueue: string;
  workspace: string;
  /** Stops the worker (letting activities finish their grace time), then the server. */
  stop(): Promise<void>;
}

export interface DevStackOptions {
  /** The activities and workflow code the worker runs (app/worker.ts). */
  composition: WorkerComposition;
  /** Pick free ports instead of failing when the configured ones are taken. */
  anyFreePort?: boolean;
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export async function startDevStack(cfg: DevStackConfig, opts: DevStackOptions): Promise<DevStack> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const toolchain = await resolveToolchain(cfg.worker.pacemaker);
  let { port, uiPort } = cfg.server;
  if (opts.anyFreePort) {
    port = await freePort(cfg.server.ip);
    uiPort = await freePort(cfg.server.ip);
  }
  const server = await startDevServer({
    ip: cfg.server.ip,
    port,
    uiPort,
    namespace: cfg.server.namespace,
    dbFile: cfg.server.dbFile,
    // The workflow upserts these; a server without them would fail every workflow task.
    searchAttributes: { ...SEARCH_ATTRIBUTES, ...cfg.server.searchAttributes },
    logFile: join(cfg.worker.workspace, '..', 'temporal-dev.log'),
  });
  try {
    const workers = await createTrainerWorkers({
      composition: opts.composition,
      address: server.address,
      namespace: server.namespace,
      taskQueue: cfg.worker.taskQueue,
      workspaceRoot: cfg.worker.workspace,
      toolchain,
      ...(opts.env ? { env: opts.env } : {}),
    });
    log(`Temporal dev server: ${server.address} (namespace ${server.namespace}), Web UI: ${server.uiUrl ?? 'off'}`);
    log(`worker on task queues ${workers.queues.map((q) => `'${q}'`).join(', ')}, workspace ${cfg.worker.workspace}, ${toolchain.kind === 'simulator' ? 'pacemaker SIMULATOR' : `pacemaker ${toolchain.version} in ${toolchain.binDir}`}`);
    const running = workers.run();
    return {
      server,
      workers,
      toolchain,
      taskQueue: cfg.worker.taskQueue,
      workspace: cfg.worker.workspace,
      async stop() {
        workers.shutdown();
        await running.catch(() => undefined);
        await workers.connection.close();
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
