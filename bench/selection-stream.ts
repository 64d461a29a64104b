/**
 * Large pools read from extended XYZ, streamed: selectActiveSet (in process) on pools of
 * unlabelled frames as exploration writes them, 20,000 and 100,000 structures by default, under
 * a memory limit (2GB): peak resident memory of the selection process against the limit (goal:
 * at most the limit plus a few hundred MB) and time per structure against the smallest pool, in
 * wall time and in the CPU time of the processes (steadier on a machine shared with other work).
 *
 * Environment: MLIP_BENCH_SELECT_STREAM (`20000,100000`; empty skips the case),
 * MLIP_BENCH_SELECT_STREAM_MEMORY (`2GB`).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Toolchain } from '../src/pacemaker/toolchain.js';
import { runSelectScript } from '../src/selection/programs.js';
import { selectActiveSet } from '../src/selection/select-active-set.js';
import { timed } from './memory.js';

/** What is allowed above the memory limit: the interpreter, pyace, numpy, the lean frame's overhead. */
export const STREAM_HEADROOM_MB = 300;

export interface StreamedPools {
  label: string;
  toolchain: Toolchain;
  dir: string;
  /** The EMT-labelled pool (pickle) whose rattled copies make the big ones. */
  smallPool: string;
  smallSize: number;
  potential: string;
  n: number;
}

function limitMb(limit: string): number {
  const m = /^(\d+(?:\.\d+)?)(GB|MB)$/.exec(limit);
  if (!m) throw new Error(`MLIP_BENCH_SELECT_STREAM_MEMORY: expected e.g. 2GB, got ${limit}`);
  return Number(m[1]) * (m[2] === 'GB' ? 1024 : 1);
}

/** Rows of the streamed-pool table: one per pool size. */
export async function streamedPools(o: StreamedPools): Promise<(string | number)[][]> {
  const sizes = (process.env.MLIP_BENCH_SELECT_STREAM ?? '20000,100000').split(',').filter((s) => s.trim() !== '').map(Number);
  const memoryLimit = process.env.MLIP_BENCH_SELECT_STREAM_MEMORY ?? '2GB';
  const rows: (string | number)[][] = [];
  let perStructureOfFirst: number | null = null;
  let cpuPerStructureOfFirst: number | null = null;
  for (const size of sizes) {
    const copies = Math.ceil(size / o.smallSize);
    const pool = join(o.dir, `stream-${size}.extxyz`);
    await runSelectScript({ toolchain: o.toolchain }, 'replicate', ['--pool', o.smallPool, '--copies', String(copies), '--out', pool], join(o.dir, 'prepare.log'));
    const structures = copies * o.smallSize;
    const bytes = (await stat(pool)).size;
    console.log(`selection bench: ${o.label}: ${structures} unlabelled frames in ${pool} (${(bytes / 2 ** 20).toFixed(0)} MiB)`);
    let chosen = 0;
    const m = await timed(async (track) => {
      const r = await selectActiveSet({ pool, n: o.n, potential: o.potential, workDir: join(o.dir, `stream-select-${size}`), toolchain: o.toolchain, memoryLimit, onSpawn: track });
      chosen = r.indices.length;
    });
    if (chosen !== Math.min(o.n, structures)) throw new Error(`selectActiveSet returned ${chosen}, not ${o.n}`);
    const perStructure = (m.seconds * 1000) / structures;
    perStructureOfFirst ??= perStructure;
    const cpuPerStructure = (m.cpuSeconds * 1000) / structures;
    cpuPerStructureOfFirst ??= cpuPerStructure;
    rows.push([
      o.label,
      String(structures),
      `${(bytes / 2 ** 20).toFixed(0)} MiB`,
      memoryLimit,
      m.seconds,
      perStructure.toFixed(3),
      (perStructure / perStructureOfFirst).toFixed(2) + 'x',
      cpuPerStructure.toFixed(3),
      (cpuPerStructure / cpuPerStructureOfFirst).toFixed(2) + 'x',
      m.peakMb.toFixed(0),
      m.peakMb <= limitMb(memoryLimit) + STREAM_HEADROOM_MB ? `yes (<= ${limitMb(memoryLimit) + STREAM_HEADROOM_MB} MB)` : 'NO',
    ]);
    console.log(`selection bench: ${o.label}: streamed pool ${structures}: ${m.seconds.toFixed(1)} s (CPU ${m.cpuSeconds.toFixed(1)} s), peak ${m.peakMb.toFixed(0)} MB`);
  }
  return rows;
}

export const STREAM_HEADERS = ['toolchain', 'pool (extxyz frames)', 'file', 'memory limit', 'seconds', 'ms per structure', 'vs first', 'CPU ms per structure', 'CPU vs first', 'peak RSS MB', 'within limit + 300 MB'];
