/**
 * Whole-workflow wall time / wall time of the same programs run directly in sequence on the
 * same data, measured in this one run (goal: <= 1.05 when training takes a minute or more).
 *
 * "Directly" is the library without Temporal: the dataset bridge appends the same results,
 * pacemaker fits, pace_yaml2yace converts, the metrics bridge reads test errors, pace_activeset
 * computes the active set; the same argument arrays the activities run. Each pair runs in fresh campaign folders, direct and
 * workflow alternating so drift on a shared machine hits both.
 *
 * Settings (environment): BENCH_WORKFLOW_PAIRS (2), BENCH_WORKFLOW_EPOCHS (60 simulated, 200 real),
 * BENCH_WORKFLOW_ITER_SECONDS (simulator only: seconds per iteration, 1.0), BENCH_WORKFLOW_STRUCTURES (20).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchStack } from './stack.js';
import { resolveToolchain } from '../src/pacemaker/toolchain.js';
import { labelEmt } from '../src/dataset/emt.js';
import { startTraining } from '../src/client/train.js';
import { createTrainer } from '../src/trainer/factory.js';
import { DEFAULT_SELECTION_MEMORY_LIMIT, TrainerConfig, type PotentialArtifact } from '../src/domain/schemas.js';
import { attachActiveSet } from '../src/selection/active-set.js';
import { median, table } from './orchestration.js';

const PAIRS = Number(process.env.BENCH_WORKFLOW_PAIRS ?? 2);
// 60 simulated iterations at 1 s; the real pacemaker (pyace, 20 x 8 atoms) runs ~3 iterations/s here, so 200.
const EPOCHS_SET = process.env.BENCH_WORKFLOW_EPOCHS;
const ITER_SECONDS = process.env.BENCH_WORKFLOW_ITER_SECONDS ?? '1.0';
const STRUCTURES = Number(process.env.BENCH_WORKFLOW_STRUCTURES ?? 20);

export async function workflowVersusDirect(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mlip-bench-wf-'));
  const toolchain = await resolveToolchain(process.env.MLIP_PACEMAKER ?? 'auto');
  const simulated = toolchain.kind === 'simulator';
  const EPOCHS = Number(EPOCHS_SET ?? (simulated ? 60 : 200));
  // The simulator fits in milliseconds; slow it to pacemaker-like iterations so the goal's
  // premise (a fit of a minute or more) holds.
  const env: Record<string, string> = simulated ? { PACEMAKER_SIM_ITER_SECONDS: ITER_SECONDS } : {};
  const config = TrainerConfig.parse({
    engine: 'pacemaker',
    pacemaker: { elements: ['Cu', 'Ni'], cutoff: 5, order: 2, functions_per_element: 5, max_epochs: EPOCHS, evaluator: 'pyace' },
  });
  const results = join(dir, 'emt.jsonl');
  await labelEmt({ out: results, count: STRUCTURES, seed: 11, python: toolchain.python });

  const stack = await startBenchStack(dir, {
    taskQueue: 'bench-wf',
    workspaceRoot: join(dir, 'ws-workflow'),
    toolchain,
    env,
  });
  const client = stack.client;
  const rows: (string | number)[][] = [];
  const ratios: number[] = [];
  const corrections: number[] = [];
  try {
    for (let i = 0; i < PAIRS; i++) {
      // Direct: the same programs, in sequence, from this process.
      const t0 = performance.now();
      const trainer = createTrainer(config, { campaignDir: join(dir, 'ws-direct', `c${i}`), generation: 0, toolchain, env });
      const data = await trainer.updateDataset([results]);
      const trained = await trainer.train({ trainPath: data.trainPath, testPath: data.testPath, sha256: data.sha256 }, null);
      // The workflow's last step: pace_activeset on the new potential (the computeActiveSet activity).
      const direct = await attachActiveSet(trained, { data: [data.trainPath], memoryLimit: DEFAULT_SELECTION_MEMORY_LIMIT, toolchain, env });
      const directWall = (performance.now() - t0) / 1000;

      // The workflow: start, dataset activity, training activity (heartbeating), result.
      const t1 = performance.now();
      const handle = await startTraining(client, { campaign: `c${i}`, generation: 0, config, results: [results] }, 'bench-wf');
      const viaWorkflow = (await handle.result()) as PotentialArtifact;
      const workflowWall = (performance.now() - t1) / 1000;
      if (viaWorkflow.metrics.train.iterations !== direct.metrics.train.iterations) {
        throw new Error(`the two runs differ: ${viaWorkflow.metrics.train.iterations} vs ${direct.metrics.train.iterations} iterations`);
      }
      const ratio = workflowWall / directWall;
      ratios.push(ratio);
      // Where the difference went: the programs' own time in each run, so machine noise (the
      // programs ran slower) shows apart from orchestration (wall time outside the programs).
      const programs = (a: PotentialArtifact, datasetSeconds: number) =>
        a.timings.pacemakerSeconds + a.timings.conversionSeconds + a.timings.metricsSeconds + datasetSeconds;
      const directPrograms = programs(direct, data.programSeconds);
      const workflowPrograms = programs(viaWorkflow, viaWorkflow.timings.datasetSeconds ?? 0);
      const attempts = (await handle.fetchHistory()).events?.filter((e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1).length ?? 0;
      // On a shared 2-core machine the programs' own time swings by tens of percent between
      // runs; this ratio charges the workflow only for its time outside the programs.
      const corrected = 1 + (workflowWall - workflowPrograms - (directWall - directPrograms)) / directWall;
      corrections.push(corrected);
      rows.push([
        `pair ${i + 1}`,
        directPrograms,
        directWall,
        workflowPrograms,
        workflowWall,
        workflowWall - workflowPrograms - (directWall - directPrograms),
        String(attempts),
        ratio,
        corrected,
      ]);
    }
  } finally {
    await stack.stop();
  }
  const who = simulated
    ? `pacemaker SIMULATOR at ${ITER_SECONDS} s/iteration (simulator figures, not pacemaker figures)`
    : `pacemaker ${toolchain.version}`;
  console.log(`\n## Whole workflow vs the same programs run directly (${who}; ${EPOCHS} iterations, ${STRUCTURES} EMT structures; embedded dev server)\n`);
  console.log(
    table(
      ['run', 'direct programs s', 'direct wall s', 'workflow programs s', 'workflow wall s', 'orchestration s', 'retried attempts', 'workflow / direct', '1 + orchestration / direct'],
      rows,
    ),
  );
  console.log('(orchestration s: workflow wall minus its programs, minus the same for the direct run)');
  console.log(`\nmedian workflow / direct: ${median(ratios).toFixed(3)}; median 1 + orchestration / direct: ${median(corrections).toFixed(3)} (goal <= 1.05 when training takes a minute or more)`);
}
