/**
 * Builds workers and client connections, for the dev stack and for any Temporal cluster.
 *
 * This module is library code and, like everything under src, imports neither the activities
 * nor the workflows (they sit above the library and import it; the lint rules keep it so).
 * What a worker runs comes in as a WorkerComposition, built by the composition root,
 * app/worker.ts: the one module that imports the activities and knows where the workflow code
 * is, from the TypeScript sources in a clone or the prebuilt bundle of an installed package.
 */
import { Worker, NativeConnection, bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';
import { Connection, Client } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { Toolchain } from '../pacemaker/toolchain.js';
import { trainingQueueFor } from '../domain/workflow-input.js';
import { availableParallelism } from 'node:os';
import { planSlots, SlotPool } from '../process/slots.js';

/** What a worker host gives its activities: injected, so tests bring their own. */
export interface ActivityDeps {
  /** Shared workspace root; each campaign is a folder under it. */
  workspaceRoot: string;
  toolchain: Toolchain;
  /** Extra environment for pacemaker's programs. */
  env?: Record<string, string>;
  /** Heartbeat period while a program runs. */
  heartbeatEveryMs?: number;
  /** The host's training slots (GPU and threads of each concurrent fit); absent: fits are not pinned. */
  slotPool?: SlotPool;
  /** Shortest gap between two training-progress signals to the workflow (its UI details); default 5 min. */
  progressSignalEveryMs?: number;
}

/** The workflow code a worker registers: sources to bundle at start, or a bundle built before. */
export type WorkflowCode = { workflowsPath: string } | { workflowBundle: WorkflowBundleOption };

/** What the composition root (app/worker.ts) puts into every worker this module builds. */
export interface WorkerComposition {
  /** The activity implementations of one host, from what the host provides. */
  createActivities(deps: ActivityDeps): object;
  workflows: WorkflowCode;
}

/** Workflow sources import `.js` names of `.ts` files (NodeNext style): teach webpack that. */
const bundlerOptions = {
  webpackConfigHook: (config: Parameters<NonNullable<NonNullable<Parameters<typeof bundleWorkflowCode>[0]['webpackConfigHook']>>>[0]) => {
    config.resolve = { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } };
    return config;
  },
};

/** Bundles the workflow code at `workflowsPath` once, e.g. for tests that start several workers. */
export async function bundleWorkflows(workflowsPath: string): Promise<WorkflowBundleOption> {
  return bundleWorkflowCode({ workflowsPath, ...bundlerOptions, logger: quietLogger });
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

export type WorkerRole = 'data' | 'training';

export interface TrainerWorkerOptions extends ConnectOptions, ActivityDeps {
  /** The activities and workflow code to register (app/worker.ts builds it). */
  composition: WorkerComposition;
  /** The base queue: workflows and dataset/selection activities poll it; training polls `<taskQueue>-training`. */
  taskQueue: string;
  /** What this host serves; default both. A GPU node runs `training`, a login or CPU node `data`. */
  roles?: readonly WorkerRole[];
  /**
   * A queue only this host polls, with every activity, for sites without a shared file system:
   * a campaign whose input names it in `taskQueues` runs all its steps here.
   */
  hostQueue?: string;
  /** A prebuilt bundle, in place of the composition's workflow code (tests bundle once for many workers). */
  workflowBundle?: WorkflowBundleOption;
  /** Dataset/selection activities at once on this host. */
  maxConcurrentActivityTaskExecutions?: number;
  /** Trainings at once on this host: one per GPU (or per node for CPU fits). */
  trainingSlots?: number;
  /** GPUs handed out one per training slot (see planSlots); empty or absent: fits are not pinned. */
  gpus?: readonly string[];
  /** Threads of each fit; absent: the host's cores (its batch job's CPU set) / training slots. */
  cpusPerSlot?: number | null;
  /** How long running activities get to stop cleanly on shutdown. */
  shutdownGraceTime?: string;
  /**
   * Longest gap between heartbeats actually sent to the server. The SDK's default (up to 60 s)
   * would make live progress lag by a minute; heartbeat details are what `watch` shows.
   */
  maxHeartbeatThrottleInterval?: string;
}

export interface TrainerWorkers {
  /** One Worker per polled queue, sharing one connection. */
  workers: Worker[];
  /** The training slots its fits take their GPU and threads from. */
  slotPool: SlotPool;
  /** The queues polled, in the order of `workers`. */
  queues: string[];
  connection: NativeConnection;
  /** Runs every worker until all have stopped; rejects if one fails. */
  run(): Promise<void>;
  shutdown(): void;
}

/** The workers one host runs: the base queue (workflows + data), the training queue, its own queue. */
export async function createTrainerWorkers(opts: TrainerWorkerOptions): Promise<TrainerWorkers> {
  const cfg = envConnectConfig(opts);
  const roles = opts.roles ?? ['data', 'training'];
  if (roles.length === 0 && !opts.hostQueue) throw new Error('a worker needs at least one role or a host queue');
  const dataSlots = opts.maxConcurrentActivityTaskExecutions ?? 2;
  const trainingSlots = opts.trainingSlots ?? 1;
  // Planned before connecting: more slots than GPUs is refused without touching the server.
  const slotPool =
    opts.slotPool ?? new SlotPool(planSlots({ slots: trainingSlots, gpus: opts.gpus ?? [], cores: availableParallelism(), cpusPerSlot: opts.cpusPerSlot ?? null }));
  const connection = await NativeConnection.connect(cfg.connectionOptions);
  const activities = opts.composition.createActivities({ ...opts, slotPool });
  const common = {
    connection,
    namespace: cfg.namespace,
    activities,
    shutdownGraceTime: (opts.shutdownGraceTime ?? '10s') as '10s',
    maxHeartbeatThrottleInterval: (opts.maxHeartbeatThrottleInterval ?? '10s') as '10s',
  };
  const code = opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : opts.composition.workflows;
  const workflows = 'workflowsPath' in code ? { ...code, bundlerOptions } : code;
  const plan: { taskQueue: string; withWorkflows: boolean; slots: number }[] = [];
  if (roles.includes('data')) plan.push({ taskQueue: opts.taskQueue, withWorkflows: true, slots: dataSlots });
  if (roles.includes('training')) plan.push({ taskQueue: trainingQueueFor(opts.taskQueue), withWorkflows: false, slots: trainingSlots });
  if (opts.hostQueue) plan.push({ taskQueue: opts.hostQueue, withWorkflows: false, slots: dataSlots + trainingSlots });
  const workers: Worker[] = [];
  try {
    for (const p of plan) {
      workers.push(
        await Worker.create({
          ...common,
          taskQueue: p.taskQueue,
          ...(p.withWorkflows ? workflows : {}),
          maxConcurrentActivityTaskExecutions: p.slots,
        }),
      );
    }
  } catch (err) {
    await connection.close();
    throw err;
  }
  return {
    workers,
    slotPool,
    queues: plan.map((p) => p.taskQueue),
    connection,
    async run() {
      const runs = workers.map((w) => w.run());
      try {
        await Promise.all(runs);
      } catch (err) {
        // One failed: stop the others so the process does not half-serve its queues.
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await Promise.allSettled(runs);
        throw err;
      }
    },
    shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
  };
}
