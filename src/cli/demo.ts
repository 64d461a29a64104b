/** `npm run demo`: one training generation end to end on the embedded Temporal server. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadDevStackConfig, loadTrainerConfig } from '../config/load.js';
import { PROJECT_ROOT } from '../paths.js';
import { SIMULATOR_NOTICE } from '../pacemaker/toolchain.js';
import { startDevStack } from '../temporal/dev-stack.js';
import { connectClient, type WorkerComposition } from '../temporal/worker.js';
import { startTraining, waitForArtifact } from '../client/train.js';
import { isSelectionOnly } from '../domain/generation-result.js';
import { labelEmt } from '../dataset/emt.js';
import { buildReport } from '../report/build-report.js';
import { demoEnding } from './demo-ending.js';
import { ProgressPrinter } from './progress.js';

export async function runDemo(o: {
  keep: boolean;
  count: number;
  /** Make the campaign's report at the end. */
  report: boolean;
  /** Print the full artifact (JSON) instead of the tutorial ending. */
  json: boolean;
  stackFile: string;
  composition: WorkerComposition;
}): Promise<void> {
  const cfg = await loadDevStackConfig(o.stackFile);
  const stack = await startDevStack(cfg, { anyFreePort: false, composition: o.composition });
  let client: Awaited<ReturnType<typeof connectClient>> | null = null;
  // With --json, stdout holds only the artifact; the running commentary goes to stderr.
  const say = o.json ? (l: string) => console.error(l) : (l: string) => console.log(l);
  try {
    if (stack.toolchain.kind === 'simulator') say(SIMULATOR_NOTICE);
    else
      say(
        `training with the real pacemaker: ${stack.toolchain.version} (${stack.toolchain.binDir})`,
      );

    const campaign = `demo-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
    const dataDir = join(cfg.worker.workspace, '..', 'demo-inputs');
    await mkdir(dataDir, { recursive: true });
    const results = join(dataDir, `${campaign}-emt.jsonl`);
    const labelled = await labelEmt({
      out: results,
      count: o.count,
      elements: ['Cu', 'Ni'],
      seed: 7,
      python: stack.toolchain.python,
    });
    say(
      `labelled ${labelled.count} Cu/Ni structures with ASE's EMT calculator -> ${results}`,
    );

    const config = await loadTrainerConfig(join(PROJECT_ROOT, 'examples', 'cu-ni.yml'));
    client = await connectClient({
      address: stack.server.address,
      namespace: stack.server.namespace,
    });
    const handle = await startTraining(
      client,
      { campaign, generation: 0, config, results: [results] },
      stack.taskQueue,
      { newStructures: labelled.count, workspace: cfg.worker.workspace },
    );
    say(
      `started workflow ${handle.workflowId}; watch it at ${stack.server.uiUrl ?? '(UI off)'}/namespaces/${stack.server.namespace}/workflows/${handle.workflowId}`,
    );

    say(
      `from another terminal: npx mlip-trainer status --workflow-id ${handle.workflowId} --address ${stack.server.address} (watch, stop and cancel take the same flags)`,
    );
    const printer = new ProgressPrinter(config.pacemaker.max_epochs);
    const result = await waitForArtifact(handle, (p) => printer.update(p));
    printer.stop();
    // The demo labels results and gives no pool, so a generation that only selected is a bug.
    if (isSelectionOnly(result)) throw new Error(`the demo generation trained nothing: ${result.reason}`);
    const artifact = result;
    let report: string | null = null;
    if (o.report) {
      const built = await buildReport({ campaignDir: join(cfg.worker.workspace, campaign), python: stack.toolchain.python });
      report = built.html;
      for (const n of built.notes) console.error(`report note: ${n}`);
    }
    if (o.json) console.log(JSON.stringify(artifact, null, 2));
    else {
      const ending = demoEnding({
        artifact,
        workflowId: handle.workflowId,
        namespace: stack.server.namespace,
        uiUrl: stack.server.uiUrl ?? null,
        dbFile: cfg.server.dbFile,
        report,
        keep: o.keep,
      });
      for (const line of ending) console.log(line);
    }
    if (o.keep) {
      await new Promise<void>((r) => {
        process.once('SIGINT', () => r());
        process.once('SIGTERM', () => r());
      });
    }
  } finally {
    await client?.connection.close();
    await stack.stop();
  }
}
