/**
 * Connecting to Temporal from the command line. A server that is not there is the most common
 * first mistake; it gets one line (the address tried, how to start the embedded server, how to
 * point elsewhere) and exit 1, instead of a gRPC trace after a 10 s deadline.
 */
import { connect as tcpConnect } from 'node:net';
import type { Client } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { connectClient, type ConnectOptions } from '../temporal/worker.js';

/** The server could not be reached: an environment problem (exit 1), not bad input. */
export class ServerUnreachableError extends Error {
  override name = 'ServerUnreachableError';
}

/** How long the reachability probe waits for a TCP connection, ms. */
const PROBE_TIMEOUT_MS = 5_000;

/** The address a connection with `o` tries: --address, else TEMPORAL_ADDRESS or the client profile, else localhost:7233. */
export function addressOf(o: ConnectOptions = {}): string {
  if (o.address) return o.address;
  try {
    return loadClientConnectConfig().connectionOptions?.address ?? 'localhost:7233';
  } catch {
    return process.env.TEMPORAL_ADDRESS ?? 'localhost:7233';
  }
}

/** One line: what was tried, why it failed, what to do. */
export function unreachableMessage(address: string, reason: string): string {
  return (
    `cannot reach the Temporal server at ${address} (${reason}); start the embedded one with ` +
    '`mlip-trainer dev` (it keeps running), or point --address or TEMPORAL_ADDRESS at your server'
  );
}

/** Whether `err` says the server could not be reached (the client's gRPC or the worker's native connection). */
export function isConnectionFailure(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const message = typeof e.message === 'string' ? e.message : '';
  return (
    e.name === 'TransportError' ||
    e.code === 14 || // gRPC UNAVAILABLE
    /Failed to connect|ECONNREFUSED|Connection refused|dns error|ENOTFOUND|EHOSTUNREACH/.test(message)
  );
}

/** The reason in a connection failure, short. */
export function connectionFailureReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const os = /message: \\?"([^"\\]+)/.exec(message) ?? /error: \\?"([^"\\]+)/.exec(message);
  return (os?.[1] ?? message.split('\n')[0] ?? 'unreachable').trim();
}

/**
 * A TCP connection to `address`, opened and closed: refused, unknown host and timeout show in
 * milliseconds, where the gRPC client would wait for its 10 s deadline and then say only that.
 */
export async function probe(address: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | null> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) return 'not host:port';
  return new Promise((done) => {
    const socket = tcpConnect({ host, port });
    const finish = (reason: string | null) => {
      socket.destroy();
      done(reason);
    };
    socket.setTimeout(timeoutMs, () => finish(`no answer within ${timeoutMs / 1000} s`));
    socket.once('connect', () => finish(null));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(err.code ?? err.message));
  });
}

/** connectClient, with an unreachable server reported in one line (ServerUnreachableError). */
export async function connectCli(o: ConnectOptions = {}): Promise<Client> {
  const address = addressOf(o);
  const problem = await probe(address);
  if (problem !== null) throw new ServerUnreachableError(unreachableMessage(address, problem));
  try {
    return await connectClient(o);
  } catch (err) {
    if (isConnectionFailure(err)) throw new ServerUnreachableError(unreachableMessage(address, connectionFailureReason(err)));
    throw err;
  }
}
