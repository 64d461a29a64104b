/**
 * The `mlip-trainer` command line: one module per group of commands under commands/. The entry
 * point, app/cli.ts, runs it with the worker composition (activities and workflow code) that
 * `dev`, `worker` and `demo` start workers with: src/ never imports those itself.
 */
import { Command, CommanderError } from 'commander';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { TrainerError } from '../errors.js';
import { CliInputError } from './options.js';
import { addressOf, connectionFailureReason, isConnectionFailure, ServerUnreachableError, unreachableMessage } from './connect.js';
import { registerStackCommands } from './commands/stack.js';
import { registerTrainCommands } from './commands/train.js';
import { registerDataCommands } from './commands/data.js';
import { registerSelectCommands } from './commands/select.js';
import { registerStatusCommands } from './commands/status.js';
import { registerSetupCommand } from './commands/setup.js';
import { registerReportCommand } from './commands/report.js';
import type { WorkerComposition } from '../temporal/worker.js';

// Worker chatter (state changes, retried attempts) stays out of the terminal unless asked for.
// A training-only worker has no workflows by design, so the SDK's warning about it is dropped.
const defaultLog = new DefaultLogger((process.env.MLIP_LOG_LEVEL ?? 'WARN') as 'WARN');
Runtime.install({
  logger: new DefaultLogger((process.env.MLIP_LOG_LEVEL ?? 'WARN') as 'WARN', (entry) => {
    if (entry.message.startsWith('No workflows registered')) return;
    defaultLog.log(entry.level, entry.message, entry.meta);
  }),
});

function buildProgram(composition: WorkerComposition): Command {
  const program = new Command()
    .name('mlip-trainer')
    .description('Train and fine-tune ACE potentials with pacemaker, durably, on Temporal')
    .showHelpAfterError('(add --help for usage)')
    // Usage errors (a bad choice, a missing option) exit 2 like every other bad input, not
    // commander's 1; subcommands registered below inherit this.
    .exitOverride();

  registerStackCommands(program, composition);
  registerTrainCommands(program);
  registerDataCommands(program);
  registerSelectCommands(program);
  registerStatusCommands(program);
  registerReportCommand(program);
  registerSetupCommand(program);
  return program;
}

/** Runs one command line (`argv` as in process.argv); a failure exits the process with its code. */
export async function runCli(argv: string[], composition: WorkerComposition): Promise<void> {
  try {
    await buildProgram(composition).parseAsync(argv);
  } catch (err) {
    process.exit(report(err));
  }
}

/**
 * One line (or one message listing every bad record) on stderr, and the exit status: 2 for bad
 * input (a flag, a config, a file), 1 for the environment (no server, no pacemaker) and anything
 * else. Traces only with MLIP_DEBUG=1: a user's mistake never prints one.
 */
function report(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2; // commander printed it (and the help)
  if (process.env.MLIP_DEBUG && process.env.MLIP_DEBUG !== '0') console.error(err);
  if (err instanceof ServerUnreachableError) return fail(err.message, 1);
  if (err instanceof CliInputError) return fail(err.message, 2);
  if (err instanceof TrainerError) return fail(err.message, err.type === 'BadInput' ? 2 : 1);
  type Cause = { message?: string; type?: string; cause?: Cause };
  const failure = err as { cause?: Cause; message?: string };
  // A failed workflow's reason: the first failure with a type (an activity's, e.g. the pool
  // check's BadInput, sits inside an ActivityFailure).
  let cause = failure.cause;
  while (cause && !cause.type && cause.cause) cause = cause.cause;
  if (cause?.type) return fail(`${failure.message ?? 'failed'}: [${cause.type}] ${cause.message ?? ''}`, cause.type === 'BadInput' ? 2 : 1);
  if (isConnectionFailure(err)) return fail(unreachableMessage(addressOf(), connectionFailureReason(err)), 1);
  const message = err instanceof Error ? err.message : String(err);
  return fail(`${message}${process.env.MLIP_DEBUG ? '' : ' (MLIP_DEBUG=1 shows the trace)'}`, 1);
}

function fail(message: string, status: number): number {
  console.error(`mlip-trainer: ${message}`);
  return status;
}
