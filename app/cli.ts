/**
 * The `mlip-trainer` program, run by bin/mlip-trainer.js (from the sources in a clone, compiled
 * as dist/app/cli.js in an installed package). It injects the worker composition into the
 * command line, whose `dev`, `worker` and `demo` start workers with it.
 */
import { runCli } from '../src/cli/main.js';
import { composition } from './worker.js';

await runCli(process.argv, composition);
