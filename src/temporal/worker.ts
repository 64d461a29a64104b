/** Builds workers and client connections, for the dev stack and for any Temporal cluster. */
import { join } from 'node:path';
import { Worker, NativeConnection, bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';
import { Connection, Client } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { createActivities, type ActivityDeps } from '../../activities/index.js';
import { PROJECT_ROOT } from '../paths.js';

export const WORKFLOWS_PATH = join(PROJECT_ROOT, 'workflows', 'index.ts');

/** Workflow sources import `.js` names of `.ts` files (NodeNext style): teach webpack that. */
const bundlerOptions = {
  webpackConfigHook: (config: Parameters<NonNullable<NonNullable<Parameters<typeof bundleWorkflowCode>[0]['webpackConfigHook']>>>[0]) => {
    config.resolve = { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } };
    return config;
  },
};

/** Bundles the workflow code once, e.g. for tests that start several workers. */
export async function bundleWorkflows(): Promise<WorkflowBundleOption> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...bundlerOptions, logger: quietLogger });
}

const noop = () => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

export interface ConnectOptions {
  /** host:port; defaults to TEMPORAL_ADDRESS or the profile in Temporal's client config. */
  address?: string;
  namespace?: string;
}

/** Connection settings from the environment (TEMPORAL_ADDRESS, _NAMESPACE, _API_KEY, _TLS_*). */
function envConnectConfig(opts: ConnectOptions) {
  let fromEnv: ReturnType<typeof loadClientConnectConfig> | null = null;
  try {
    fromEnv = loadClientConnectConfig();
  } catch {
    fromEnv = null;
  }
  const connectionOptions = { ...(fromEnv?.connectionOptions ?? {}) };
  if (opts.address) connectionOptions.address = opts.address;
  connectionOptions.address ??= 'localhost:7233';
  return { connectionOptions, namespace: opts.namespace ?? fromEnv?.namespace ?? 'default' };
}

export async function connectClient(opts: ConnectOptions = {}): Promise<Client> {
  const cfg = envConnectConfig(opts);
  const connection = await Connection.connect(cfg.connectionOptions);
  return new Client({ connection, namespace: cfg.namespace });
}

export interface TrainerWorkerOptions extends ConnectOptions, ActivityDeps {
  taskQueue: string;
  /** A prebuilt bundle; without one the workflows are bundled at start (a few seconds). */
  workflowBundle?: WorkflowBundleOption;
  maxConcurrentActivityTaskExecutions?: number;
  /** How long running activities get to stop cleanly on shutdown. */
  shutdownGraceTime?: string;
  /**
   * Longest gap between heartbeats actually sent to the server. The SDK's default (up to 60 s)
   * would make live progress lag by a minute; heartbeat details are what `watch` shows.
   */
  maxHeartbeatThrottleInterval?: string;
}

export async function createTrainerWorker(opts: TrainerWorkerOptions): Promise<{ worker: Worker; connection: NativeConnection }> {
  const cfg = envConnectConfig(opts);
  const connection = await NativeConnection.connect(cfg.connectionOptions);
  const worker = await Worker.create({
    connection,
    namespace: cfg.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.workflowBundle
      ? { workflowBundle: opts.workflowBundle }
      : { workflowsPath: WORKFLOWS_PATH, bundlerOptions }),
    activities: createActivities(opts),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 2,
    shutdownGraceTime: (opts.shutdownGraceTime ?? '10s') as '10s',
    maxHeartbeatThrottleInterval: (opts.maxHeartbeatThrottleInterval ?? '10s') as '10s',
  });
  return { worker, connection };
}
