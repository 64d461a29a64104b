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
import { exists } from '../util/files.js';
import { ProgressPrinter } from './progress.js';

export async function runDemo(o: {
  keep: boolean;
  count: number;
  stackFile: string;
  composition: WorkerComposition;
}): Promise<void> {
  const cfg = await loadDevStackConfig(o.stackFile);
  const stack = await startDevStack(cfg, { anyFreePort: false, composition: o.composition });
  let client: Awaited<ReturnType<typeof connectClient>> | null = null;
  try {
    if (stack.toolchain.kind === 'simulator') console.log(SIMULATOR_NOTICE);
    else
      console.log(
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
    console.log(
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
    );
    console.log(
      `started workflow ${handle.workflowId}; watch it at ${stack.server.uiUrl ?? '(UI off)'}/namespaces/${stack.server.namespace}/workflows/${handle.workflowId}`,
    );

    console.log(
      `from another terminal: npx mlip-trainer status --workflow-id ${handle.workflowId} --address ${stack.server.address} (watch, stop and cancel take the same flags)`,
    );
    const printer = new ProgressPrinter(config.pacemaker.max_epochs);
    const result = await waitForArtifact(handle, (p) => printer.update(p));
    printer.stop();
    // The demo labels results and gives no pool, so a generation that only selected is a bug.
    if (isSelectionOnly(result)) throw new Error(`the demo generation trained nothing: ${result.reason}`);
    const artifact = result;
    console.log('\nPotentialArtifact:');
    console.log(JSON.stringify(artifact, null, 2));
    console.log(
      `\n.yace ${(await exists(artifact.path)) ? 'exists' : 'MISSING'}: ${artifact.path}`,
    );
    console.log(
      `train RMSE: ${artifact.metrics.train.energy_rmse_mev_per_atom.toFixed(2)} meV/atom, ${artifact.metrics.train.force_rmse_mev_per_a.toFixed(2)} meV/Å` +
        (artifact.metrics.test
          ? `; test RMSE: ${artifact.metrics.test.energy_rmse_mev_per_atom.toFixed(2)} meV/atom, ${artifact.metrics.test.force_rmse_mev_per_a.toFixed(2)} meV/Å`
          : ''),
    );
    if (artifact.simulated)
      console.log('(simulated potential: the pacemaker simulator stood in for pacemaker)');
    console.log(`Temporal Web UI: ${stack.server.uiUrl ?? 'off'}`);
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
