/**
 * Training goals, measured with PacemakerTrainer directly (no Temporal: the retry
 * path is covered by tests; these figures are about pacemaker work):
 * 1. resume efficiency: training killed at about half of maxiter and resumed from its checkpoint;
 *    iterations executed in total / maxiter (target <= 1.05);
 * 2. fine-tune vs from scratch after adding 20 % new EMT-labelled data: pacemaker time for the
 *    fine-tune (-p parent) to reach the from-scratch run's final test force RMSE, as a fraction
 *    of the from-scratch time (target <= 0.3). Fine-tunes of 1, 2, 4, ... iterations are run
 *    until one reaches it; each includes pacemaker's fixed start-up (data loading, neighbour
 *    lists), as a real fine-tune would.
 * Runs against the real pacemaker when one is found and always against the simulator; each
 * table says which produced it. Environment: BENCH_REAL_FT_MAXITER (100: maxiter of the real
 * parent and from-scratch fits), BENCH_REAL_STRUCTURES (20), BENCH_VERBOSE (print each fine-tune).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelEmt } from '../src/dataset/emt.js';
import { PacemakerTrainerConfig, type PacemakerTrainerConfigInput } from '../src/domain/schemas.js';
import { resolveToolchain, simulatorToolchain, type Toolchain } from '../src/pacemaker/toolchain.js';
import { PacemakerTrainer } from '../src/trainer/pacemaker-trainer.js';
import type { TrainingProgress } from '../src/domain/progress.js';
import type { TrainingData } from '../src/dataset/store.js';
import { table } from './orchestration.js';

const BASE: PacemakerTrainerConfigInput = {
  elements: ['Cu', 'Ni'],
  cutoff: 5.0,
  order: 2,
  functions_per_element: 10,
  evaluator: 'pyace',
  test_size: 0.2,
};

function label(t: Toolchain): string {
  return t.kind === 'simulator' ? 'pacemaker SIMULATOR (simulator figures, not pacemaker)' : `REAL pacemaker ${t.version}`;
}

async function campaign(t: Toolchain, name: string) {
  const dir = await mkdtemp(join(tmpdir(), `mlip-bench-${name}-`));
  const make = (generation: number, config: Partial<PacemakerTrainerConfigInput>, env?: Record<string, string>) =>
    new PacemakerTrainer({
      config: PacemakerTrainerConfig.parse({ ...BASE, ...config }),
      campaignDir: join(dir, 'campaign'),
      toolchain: t,
      generation,
      parentVersion: generation > 0 ? 'generation_000' : null,
      ...(env ? { env } : {}),
    });
  const add = async (count: number, seed: number): Promise<TrainingData> => {
    const file = join(dir, `r${seed}.jsonl`);
    await labelEmt({ out: file, count, elements: ['Cu', 'Ni'], seed, python: t.python });
    const s = await make(0, {}).updateDataset([file]);
    return { trainPath: s.trainPath, testPath: s.testPath, sha256: s.sha256 };
  };
  return { dir, make, add };
}

/** Kills the first run once it has checkpointed half of maxiter, resumes, counts iterations executed. */
async function resumeEfficiency(t: Toolchain, maxiter: number, structures: number): Promise<(string | number)[]> {
  const c = await campaign(t, 'resume');
  const data = await c.add(structures, 21);
  const iterLog = join(c.dir, 'iterations.log');
  const env = t.kind === 'simulator' ? { PACEMAKER_SIM_ITER_LOG: iterLog, PACEMAKER_SIM_ITER_SECONDS: '0.05' } : undefined;
  const abort = new AbortController();
  let last: TrainingProgress | null = null;
  let executedFirst = 0;
  const owner = { workflowId: 'bench', activityId: '1', attempt: 1 };
  await c
    .make(0, { max_epochs: maxiter, test_size: 0 }, env)
    .train(data, null, {
      owner,
      signal: abort.signal,
      onProgress: (p) => {
        last = p;
        executedFirst = Math.max(executedFirst, p.iteration ?? 0);
        if ((p.checkpoint?.iteration ?? 0) >= maxiter / 2) abort.abort();
      },
    })
    .catch(() => undefined);
  const checkpoint = (last as TrainingProgress | null)?.checkpoint ?? null;
  const a = await c.make(0, { max_epochs: maxiter, test_size: 0 }, env).train(data, null, { owner: { ...owner, attempt: 2 }, resume: { checkpoint } });
  const resumedAt = checkpoint?.iteration ?? 0;
  // Iterations the resumed run executed: its metrics.txt rows minus the initial state.
  const secondRun = a.metrics.train.iterations - resumedAt;
  let executed = executedFirst + secondRun;
  if (t.kind === 'simulator') executed = (await readFile(iterLog, 'utf8')).split('\n').filter((l) => l.startsWith('iteration')).length;
  return [label(t), String(maxiter), String(executedFirst), String(resumedAt), String(executed), executed / maxiter];
}

/** From scratch on all data vs fine-tuning the parent with -p, after 20 % new data. */
async function fineTuneVsScratch(t: Toolchain, maxiter: number, structures: number): Promise<(string | number)[]> {
  const c = await campaign(t, 'finetune');
  const owner = { workflowId: 'bench', activityId: '1', attempt: 1 };
  // The simulator's iterations take no time of their own unless told: 20 ms each gives its
  // table the shape of a real fit (start-up plus iterations) instead of start-up alone.
  const env = t.kind === 'simulator' ? { PACEMAKER_SIM_ITER_SECONDS: '0.02' } : undefined;
  const data0 = await c.add(structures, 31);
  const parent = await c.make(0, { max_epochs: maxiter }, env).train(data0, null, { owner });
  const data1 = await c.add(Math.max(1, Math.round(structures * 0.2)), 32);
  const scratch = await c.make(1, { max_epochs: maxiter }, env).train(data1, null, { owner });
  const target = scratch.metrics.test?.energy_rmse_mev_per_atom ?? scratch.metrics.train.energy_rmse_mev_per_atom;
  const targetF = scratch.metrics.test?.force_rmse_mev_per_a ?? scratch.metrics.train.force_rmse_mev_per_a;
  // Fine-tunes of 1, 2, 4, ... iterations until one reaches the scratch run's test RMSE (energy and forces).
  let reached: { iters: number; seconds: number; e: number; f: number } | null = null;
  let gen = 2;
  for (let iters = 1; iters <= maxiter && reached === null; iters *= 2, gen += 1) {
    const ft = await c.make(gen, { max_epochs: iters }, env).train(data1, { path: parent.potentialYaml, mode: 'continue' }, { owner });
    const e = ft.metrics.test?.energy_rmse_mev_per_atom ?? ft.metrics.train.energy_rmse_mev_per_atom;
    const f = ft.metrics.test?.force_rmse_mev_per_a ?? ft.metrics.train.force_rmse_mev_per_a;
    if (process.env.BENCH_VERBOSE) console.log(`${label(t)}: fine-tune ${iters} iterations: test E ${e.toFixed(2)} F ${f.toFixed(2)} (scratch ${target.toFixed(2)} / ${targetF.toFixed(2)}), train E ${ft.metrics.train.energy_rmse_mev_per_atom.toFixed(2)} F ${ft.metrics.train.force_rmse_mev_per_a.toFixed(2)}`);
    // Forces decide: 3N components per structure against one energy, so with a handful of test
    // structures the energy RMSE is mostly noise; the energy reached is printed next to it.
    if (f <= targetF) reached = { iters, seconds: ft.timings.pacemakerSeconds, e, f };
  }
  const s = scratch.timings.pacemakerSeconds;
  return [
    label(t),
    `${targetF.toFixed(1)} (E ${target.toFixed(1)})`,
    s,
    reached ? String(reached.iters) : `not within ${maxiter}`,
    reached ? `${reached.f.toFixed(1)} (E ${reached.e.toFixed(1)})` : '-',
    reached ? reached.seconds : NaN,
    reached ? reached.seconds / s : NaN,
  ];
}

export async function trainingGoals(): Promise<void> {
  const toolchains: Toolchain[] = [simulatorToolchain()];
  const found = await resolveToolchain(process.env.MLIP_PACEMAKER ?? 'auto');
  if (found.kind === 'pacemaker') toolchains.push(found);
  else console.log('\nno real pacemaker found: training benchmarks run on the simulator only');

  const resumeRows: (string | number)[][] = [];
  const ftRows: (string | number)[][] = [];
  for (const t of toolchains) {
    const real = t.kind === 'pacemaker';
    resumeRows.push(await resumeEfficiency(t, real ? 12 : 40, real ? 6 : 10));
    // Real fits: enough iterations that the fit, not pacemaker's fixed start-up (about 10 s of
    // data loading and plotting per run), dominates the from-scratch time, as in production.
    ftRows.push(await fineTuneVsScratch(t, real ? Number(process.env.BENCH_REAL_FT_MAXITER ?? 100) : 100, real ? Number(process.env.BENCH_REAL_STRUCTURES ?? 20) : 20));
  }
  console.log('\n## Resume efficiency: killed at about half of maxiter, resumed from the checkpoint (target <= 1.05)\n');
  console.log(table(['who', 'maxiter', 'iterations before kill', 'resumed from', 'executed in total', 'executed / maxiter'], resumeRows));
  console.log('\n## Fine-tune vs from scratch after adding 20 % new EMT data (target <= 0.3)\n');
  console.log(
    table(
      ['who', 'scratch final test F RMSE meV/Å (E meV/at)', 'scratch pacemaker s', 'fine-tune iterations to reach it', 'fine-tune test F (E)', 'fine-tune pacemaker s', 'fraction'],
      ftRows,
    ),
  );
  console.log('\nTimes are pacemaker wall times measured in this one run on a shared 2-core machine (noisy).');
}
