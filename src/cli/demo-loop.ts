/**
 * `npm run demo -- --loop`: a closed active-learning campaign on the embedded Temporal server. A
 * small pool built as exploration makes them (EMT molecular dynamics of Cu/Ni), a small labelled
 * start set, and three generations of pool -> select -> label (the EMT oracle) -> update ->
 * fine-tune, then a table of what each generation labelled and reached.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { loadDevStackConfig, loadTrainerConfig } from '../config/load.js';
import { PROJECT_ROOT } from '../paths.js';
import { SIMULATOR_NOTICE } from '../pacemaker/toolchain.js';
import { startDevStack } from '../temporal/dev-stack.js';
import { connectClient, type WorkerComposition } from '../temporal/worker.js';
import { labelEmt } from '../dataset/emt.js';
import { explorationPool } from '../labelling/exploration.js';
import { startLoop } from '../client/loop.js';
import { loopProgressQuery } from '../domain/messages.js';
import type { ActiveLearningLoopResult } from '../domain/workflow-input.js';

/**
 * What runs after the loop, given the campaign: the campaign report, when the CLI has one
 * (`mlip-trainer report`); the demo itself knows nothing of it. Without one the demo prints how
 * to look at the campaign instead.
 */
export type CampaignReportHook = (o: { client: Client; campaign: string; workspace: string }) => Promise<void>;

export interface DemoLoopOptions {
  keep: boolean;
  stackFile: string;
  composition: WorkerComposition;
  generations: number;
  /** Structures labelled per generation. */
  perGeneration: number;
  poolSize: number;
  report?: CampaignReportHook;
}

export async function runDemoLoop(o: DemoLoopOptions): Promise<void> {
  const cfg = await loadDevStackConfig(o.stackFile);
  const stack = await startDevStack(cfg, { anyFreePort: false, composition: o.composition });
  let client: Client | null = null;
  try {
    if (stack.toolchain.kind === 'simulator') console.log(SIMULATOR_NOTICE);
    else console.log(`training with the real pacemaker: ${stack.toolchain.version} (${stack.toolchain.binDir})`);

    const campaign = `loop-demo-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
    const inputs = join(cfg.worker.workspace, '..', 'demo-inputs', campaign);
    const labelledDir = join(inputs, 'labelled');
    await mkdir(join(labelledDir, 'generation_000'), { recursive: true });
    const pool = join(inputs, 'pool.pckl.gzip');
    const built = await explorationPool({ out: pool, count: o.poolSize, rareFraction: 0.2, seed: 11, python: stack.toolchain.python });
    console.log(
      `pool: ${built.pool.rows} Cu/Ni frames from EMT molecular dynamics (${Object.entries(built.pool.categories)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}) -> ${pool}`,
    );
    const start = await labelEmt({ out: join(labelledDir, 'generation_000', 'start.jsonl'), count: 8, elements: ['Cu', 'Ni'], seed: 7, python: stack.toolchain.python });
    console.log(`start set: ${start.count} structures labelled by EMT in ${join(labelledDir, 'generation_000')}`);

    const config = await loadTrainerConfig(join(PROJECT_ROOT, 'examples', 'cu-ni.yml'));
    client = await connectClient({ address: stack.server.address, namespace: stack.server.namespace });
    const handle = await startLoop(
      client,
      {
        campaign,
        config,
        maxGenerations: o.generations,
        labelledDir,
        pool: { path: pool, n: o.perGeneration },
        labeller: { kind: 'oracle', calculator: 'emt' },
      },
      stack.taskQueue,
    );
    console.log(`started ${handle.workflowId}: ${stack.server.uiUrl ?? '(UI off)'}/namespaces/${stack.server.namespace}/workflows/${handle.workflowId}`);
    let seen = 0;
    const timer = setInterval(() => {
      void handle
        .query(loopProgressQuery)
        .then((p) => {
          for (const g of p.finished.slice(seen)) console.log(`  ${describe(g)}`);
          seen = Math.max(seen, p.finished.length);
        })
        .catch(() => undefined);
    }, 1000);
    let result: ActiveLearningLoopResult;
    try {
      result = (await handle.result()) as ActiveLearningLoopResult;
    } finally {
      clearInterval(timer);
    }
    for (const g of result.generations.slice(seen)) console.log(`  ${describe(g)}`);
    console.log(`\nthe loop stopped: ${result.stoppedBecause}; last potential ${result.lastPotentialYaml ?? '(none)'}`);
    if (stack.toolchain.kind === 'simulator') console.log('(simulated potentials: their errors are not physical)');
    if (o.report) await o.report({ client, campaign, workspace: cfg.worker.workspace });
    else console.log(`campaign folder: ${join(cfg.worker.workspace, campaign)} (labelling/audit.jsonl lists every label computed)`);
    if (o.keep) {
      console.log('--keep: server and worker keep running; Ctrl-C stops them');
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

function describe(g: ActiveLearningLoopResult['generations'][number]): string {
  const labelled = g.labelled !== undefined ? `labelled ${g.labelled} by the oracle` : 'start set';
  const rmse = g.forceRmse !== null ? `force RMSE ${g.forceRmse.toFixed(1)} meV/Å` : 'nothing trained';
  return `${g.version}: ${labelled}, ${rmse}`;
}
