/** Orchestration overhead per activity: workflow wall time minus the programs' own time. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBenchStack } from './stack.js';
import { resolveToolchain } from '../src/pacemaker/toolchain.js';
import { labelEmt } from '../src/dataset/emt.js';
import { startTraining } from '../src/client/train.js';
import type { PotentialArtifact } from '../src/domain/schemas.js';

const GENERATIONS = Number(process.env.BENCH_GENERATIONS ?? 5);

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [
    headers,
    ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toFixed(3) : c))),
  ];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) =>
    `| ${r.map((c, i) => String(c).padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(cells[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

/** updateDataset, trainPotential, computeActiveSet (no pool given, so no selection). */
const ACTIVITIES_PER_GENERATION = 3;

export async function orchestrationOverhead(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mlip-bench-'));
  const toolchain = await resolveToolchain(process.env.MLIP_PACEMAKER ?? 'auto');
  const stack = await startBenchStack(dir, {
    taskQueue: 'bench',
    workspaceRoot: join(dir, 'ws'),
    toolchain,
    heartbeatEveryMs: 5000,
  });
  const client = stack.client;
  const rows: (string | number)[][] = [];
  const overheads: number[] = [];
  try {
    for (let g = 0; g < GENERATIONS; g++) {
      const results = join(dir, `gen${g}.jsonl`);
      await labelEmt({ out: results, count: 20, seed: 100 + g, python: toolchain.python });
      const t0 = performance.now();
      const handle = await startTraining(
        client,
        {
          campaign: 'bench',
          generation: g,
          results: [results],
          config: {
            engine: 'pacemaker',
            pacemaker: {
              elements: ['Cu', 'Ni'],
              cutoff: 5,
              order: 2,
              functions_per_element: 5,
              max_epochs: 10,
              evaluator: 'pyace',
            },
          },
        },
        'bench',
      );
      const a = (await handle.result()) as PotentialArtifact;
      const wall = (performance.now() - t0) / 1000;
      const t = a.timings;
      const programs = t.pacemakerSeconds + t.conversionSeconds + t.metricsSeconds + (t.datasetSeconds ?? 0) + (t.activeSetSeconds ?? 0);
      const perActivity = (wall - programs) / ACTIVITIES_PER_GENERATION;
      overheads.push(perActivity);
      rows.push([a.version, wall, programs, wall / programs, perActivity * 1000]);
    }
  } finally {
    await stack.stop();
  }
  const who =
    toolchain.kind === 'simulator'
      ? 'pacemaker SIMULATOR (not pacemaker figures)'
      : `pacemaker ${toolchain.version}`;
  console.log(
    `\n## Orchestration overhead per activity (${who}; embedded Temporal dev server; 20 new EMT structures per generation)\n`,
  );
  console.log(
    table(
      ['generation', 'workflow wall s', 'programs wall s', 'ratio', 'overhead/activity ms'],
      rows,
    ),
  );
  console.log(
    `\nmedian overhead per activity: ${(median(overheads) * 1000).toFixed(0)} ms (target < 100 ms)`,
  );
}
