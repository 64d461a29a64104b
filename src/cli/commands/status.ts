/** `status`, `watch`, `cancel`, `stop`, `list`: look at and steer running generations from a terminal or a script (`--json`). */
import { Option, type Command } from 'commander';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { connectCli } from '../connect.js';
import { describeGeneration, generationHandle, listGenerations, stopTrainingEarly, type GenerationStatus } from '../../client/generations.js';
import { waitForArtifact } from '../../client/train.js';
import { isSelectionOnly, type GenerationResult } from '../../domain/generation-result.js';
import { ProgressPrinter } from '../progress.js';
import { generationStatusLine } from '../status-line.js';
import { campaignName, CliInputError, MAX_GENERATION, MAX_SECONDS, nonNegativeInt, positiveInt } from '../options.js';

/** Temporal's ExecutionStatus names as its visibility queries spell them. */
const STATUSES = ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut', 'ContinuedAsNew'] as const;

interface Target {
  campaign?: string;
  generation?: number;
  workflowId?: string;
  address?: string;
  namespace?: string;
  json?: boolean;
}

/** Every command names a generation the same way: campaign + generation, or a workflow id. */
function targetOptions(cmd: Command): Command {
  return cmd
    .option('--campaign <name>', 'campaign name', (v) => campaignName('--campaign', v))
    .option('--generation <n>', 'generation number (0-999)', (v) => nonNegativeInt('--generation', v, MAX_GENERATION))
    .option('--workflow-id <id>', 'workflow id instead of campaign + generation', (v) => {
      if (v.trim() === '') throw new CliInputError('--workflow-id must not be empty');
      return v;
    })
    .option('--address <host:port>', 'Temporal frontend (default: TEMPORAL_ADDRESS or localhost:7233)')
    .option('--namespace <ns>', 'namespace (default: TEMPORAL_NAMESPACE or default)')
    .addOption(new Option('--json', 'print machine-readable JSON only'));
}

async function open(o: Target): Promise<{ client: Client; handle: WorkflowHandle }> {
  if (!o.workflowId && (o.campaign === undefined || o.generation === undefined)) {
    throw new CliInputError('name the generation: --campaign <name> --generation <n>, or --workflow-id <id>');
  }
  const client = await connectCli({
    ...(o.address ? { address: o.address } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
  });
  const handle = o.workflowId ? client.workflow.getHandle(o.workflowId) : generationHandle(client, o.campaign!, o.generation!);
  try {
    await handle.describe();
  } catch (err) {
    await client.connection.close();
    if (err instanceof WorkflowNotFoundError) {
      throw new CliInputError(
        `no generation ${handle.workflowId} in namespace ${client.options.namespace}: check --campaign/--generation, or list them with \`mlip-trainer list\``,
      );
    }
    throw err;
  }
  return { client, handle };
}

function printStatus(s: GenerationStatus): void {
  // The state in one line: status, stage, progress, stall or retry, headline RMSE.
  const retried = s.pendingActivities.find((a) => a.attempt > 1);
  const retry = retried ? { activity: retried.type, attempt: retried.attempt, lastFailure: retried.lastFailure } : null;
  console.log(generationStatusLine({ ...s, retry }));
  if (s.summary) console.log(`  ${s.summary}`);
  if (s.failure) console.log(`  failure: ${s.failure}`);
  if (s.result && typeof s.result === 'object') console.log(`  ${describeResult(s.result as GenerationResult)}`);
}

/** One line: the potential's path, or what a selection-only generation chose (it trained nothing). */
function describeResult(r: GenerationResult): string {
  if (!isSelectionOnly(r)) return r.path;
  return `selection only, no potential trained: ${r.selection.indices.length} structures to label in ${r.selection.selected.path}`;
}

export function registerStatusCommands(program: Command): void {
  targetOptions(program.command('status').description('one generation: status, stage, live progress, result or failure')).action(async (o: Target) => {
    const { client, handle } = await open(o);
    try {
      const s = await describeGeneration(handle);
      if (o.json) console.log(JSON.stringify(s));
      else printStatus(s);
    } finally {
      await client.connection.close();
    }
  });

  targetOptions(program.command('watch').description('follow a generation until it ends (progress bar; --json: one JSON line per update)'))
    .option('--interval <s>', 'seconds between updates', (v) => positiveInt('--interval', v, MAX_SECONDS), 2)
    .action(async (o: Target & { interval: number }) => {
      const { client, handle } = await open(o);
      const printer = o.json ? null : new ProgressPrinter(0);
      try {
        const artifact = await waitForArtifact(
          handle,
          (p) => (printer ? printer.update(p) : console.log(JSON.stringify({ progress: p }))),
          o.interval * 1000,
        );
        printer?.stop();
        console.log(o.json ? JSON.stringify({ artifact }) : `done: ${describeResult(artifact)}`);
      } finally {
        printer?.stop();
        await client.connection.close();
      }
    });

  targetOptions(program.command('cancel').description("cancel a generation: pacemaker's process tree is stopped, its checkpoint kept"))
    .option('--no-wait', 'return once the cancel is requested')
    .action(async (o: Target & { wait: boolean }) => {
      const { client, handle } = await open(o);
      try {
        const before = (await handle.describe()).status.name;
        if (before !== 'RUNNING') {
          console.log(o.json ? JSON.stringify({ workflowId: handle.workflowId, status: before }) : `${handle.workflowId}: already ${before}, nothing to cancel`);
          return;
        }
        await handle.cancel();
        if (o.wait) await handle.result().catch(() => undefined);
        const status = (await handle.describe()).status.name;
        console.log(o.json ? JSON.stringify({ workflowId: handle.workflowId, status }) : `${handle.workflowId}: ${status}`);
      } finally {
        await client.connection.close();
      }
    });

  targetOptions(program.command('stop').description('stop training now and keep the newest checkpoint as the potential'))
    .option('--reason <text>', 'recorded in the artifact')
    .option('--no-wait', 'return once the stop is requested')
    .action(async (o: Target & { reason?: string; wait: boolean }) => {
      const { client, handle } = await open(o);
      try {
        const before = (await handle.describe()).status.name;
        if (before !== 'RUNNING') throw new CliInputError(`${handle.workflowId} is ${before}, not running: nothing to stop`);
        await stopTrainingEarly(handle, o.reason);
        if (!o.wait) {
          console.log(o.json ? JSON.stringify({ workflowId: handle.workflowId, stopRequested: true }) : `stop requested for ${handle.workflowId}`);
          return;
        }
        const artifact = await waitForArtifact(handle);
        console.log(JSON.stringify(artifact, null, o.json ? undefined : 2));
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('list')
    .description('generations known to the server, newest first')
    .option('--campaign <name>', 'only this campaign', (v) => campaignName('--campaign', v))
    .option('--status <s>', STATUSES.join(', '), (v) => {
      if (!(STATUSES as readonly string[]).includes(v)) throw new CliInputError(`--status must be one of ${STATUSES.join(', ')}, got ${JSON.stringify(v)}`);
      return v;
    })
    .option('--limit <n>', 'at most this many', (v) => positiveInt('--limit', v, 10_000), 50)
    .option('--address <host:port>', 'Temporal frontend')
    .option('--namespace <ns>', 'namespace')
    .addOption(new Option('--json', 'print machine-readable JSON only'))
    .action(async (o: { campaign?: string; status?: string; limit: number; address?: string; namespace?: string; json?: boolean }) => {
      const client = await connectCli({
        ...(o.address ? { address: o.address } : {}),
        ...(o.namespace ? { namespace: o.namespace } : {}),
      });
      try {
        const rows = await listGenerations(client, {
          ...(o.campaign ? { campaign: o.campaign } : {}),
          ...(o.status ? { status: o.status } : {}),
          limit: o.limit,
        });
        if (o.json) {
          console.log(JSON.stringify(rows));
          return;
        }
        if (rows.length === 0) console.log('no generations');
        for (const r of rows) {
          const rmse = r.testForceRmse === null ? '' : `  F ${r.testForceRmse.toFixed(2)} meV/Å`;
          console.log(`${r.workflowId}  ${r.status}  ${r.stage ?? '-'}  ${r.startTime}${rmse}${r.summary ? `  ${r.summary}` : ''}`);
        }
      } finally {
        await client.connection.close();
      }
    });
}
