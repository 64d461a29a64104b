/**
 * The stall watchdog's cost: the same fit run directly (no Temporal) with the watchdog as every
 * fit has it and with it switched off (`stallTimeoutSeconds: 0`: no timer at all), alternating,
 * in this one run. Also with a 10 s limit, whose timer checks every second instead of every 5 s.
 * Goal: the difference is zero within the run-to-run noise.
 *
 * Settings (environment): BENCH_STALL_PAIRS (3), BENCH_STALL_EPOCHS (40), BENCH_STALL_ITER_SECONDS
 * (simulator only: seconds per iteration, 0.2).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveToolchain } from '../src/pacemaker/toolchain.js';
import { labelEmt } from '../src/dataset/emt.js';
import { createTrainer } from '../src/trainer/factory.js';
import { TrainerConfig } from '../src/domain/schemas.js';
import { median, table } from './orchestration.js';

const PAIRS = Number(process.env.BENCH_STALL_PAIRS ?? 3);
const EPOCHS = Number(process.env.BENCH_STALL_EPOCHS ?? 40);
const ITER_SECONDS = process.env.BENCH_STALL_ITER_SECONDS ?? '0.2';

export async function stallWatchdogOverhead(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mlip-bench-stall-'));
  const toolchain = await resolveToolchain(process.env.MLIP_PACEMAKER ?? 'auto');
  const simulated = toolchain.kind === 'simulator';
  const env: Record<string, string> = simulated ? { PACEMAKER_SIM_ITER_SECONDS: ITER_SECONDS } : {};
  const config = TrainerConfig.parse({
    engine: 'pacemaker',
    pacemaker: { elements: ['Cu', 'Ni'], cutoff: 5, order: 2, functions_per_element: 5, max_epochs: EPOCHS, evaluator: 'pyace' },
  });
  const results = join(dir, 'emt.jsonl');
  await labelEmt({ out: results, count: 10, seed: 13, python: toolchain.python });
  const variants: { name: string; stallTimeoutSeconds?: number }[] = [
    { name: 'off (stallTimeoutSeconds 0)', stallTimeoutSeconds: 0 },
    { name: 'default (30 min floor, checked every 5 s)' },
    { name: '10 s limit (checked every 1 s)', stallTimeoutSeconds: 10 },
  ];
  const seconds: number[][] = variants.map(() => []);
  for (let i = 0; i < PAIRS; i++) {
    for (const [v, variant] of variants.entries()) {
      const trainer = createTrainer(config, { campaignDir: join(dir, `p${i}-v${v}`), generation: 0, toolchain, env });
      const data = await trainer.updateDataset([results]);
      const artifact = await trainer.train({ trainPath: data.trainPath, testPath: data.testPath, sha256: data.sha256 }, null, {
        ...(variant.stallTimeoutSeconds !== undefined ? { stallTimeoutSeconds: variant.stallTimeoutSeconds } : {}),
      });
      seconds[v]!.push(artifact.timings.pacemakerSeconds);
    }
  }
  const off = median(seconds[0]!);
  const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  const who = simulated ? `pacemaker SIMULATOR at ${ITER_SECONDS} s/iteration` : `pacemaker ${toolchain.version}`;
  console.log(`\n## Stall watchdog overhead (${who}; ${EPOCHS} iterations, 10 EMT structures, ${PAIRS} runs each, interleaved, no Temporal)\n`);
  console.log(
    table(
      ['watchdog', 'pacemaker s per run', 'median s', 'spread s (max - min)', 'median / off'],
      variants.map((v, i) => [v.name, seconds[i]!.map((s) => s.toFixed(2)).join(' '), median(seconds[i]!), spread(seconds[i]!), median(seconds[i]!) / off]),
    ),
  );
  console.log('(zero within noise when |median - off| is below the spread of the runs)');
}
