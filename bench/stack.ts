/** The embedded stack a benchmark measures against: a dev server of its own and workers. */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { freePort, startDevServer } from '../src/temporal/dev-server.js';
import { createTrainerWorkers, type TrainerWorkerOptions } from '../src/temporal/worker.js';
import { composition } from '../app/worker.js';

export interface BenchStack {
  client: Client;
  stop(): Promise<void>;
}

/** `dir` holds the server's SQLite file and log; workers poll `opts.taskQueue`. */
export async function startBenchStack(
  dir: string,
  opts: Omit<TrainerWorkerOptions, 'address' | 'namespace' | 'composition'>,
): Promise<BenchStack> {
  const server = await startDevServer({
    port: await freePort(),
    headless: true,
    dbFile: join(dir, 'db.sqlite'),
    logFile: join(dir, 'temporal.log'),
  });
  const connection = await Connection.connect({ address: server.address });
  const workers = await createTrainerWorkers({ ...opts, composition, address: server.address });
  const running = workers.run();
  return {
    client: new Client({ connection }),
    async stop() {
      workers.shutdown();
      await running;
      await workers.connection.close();
      await connection.close();
      await server.stop();
    },
  };
}
