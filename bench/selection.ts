/**
 * Selection goals: wall time and peak memory of selectActiveSet beside pace_select
 * called directly on the same pool and potential, in the same run (target: within 1.1x), for a
 * pool of 2,000 EMT-labelled 32-atom structures with n = 50, and for a big pool (20,000) whose
 * peak memory must stay under the configured limit. Runs the real pacemaker when one is found
 * and the simulator too; simulator rows are labelled as such.
 *
 * Environment: MLIP_BENCH_SELECT_POOL (2000), MLIP_BENCH_SELECT_BIG_POOL (20000; 0 skips it),
 * MLIP_BENCH_SELECT_N (50), MLIP_BENCH_SELECT_ATOMS (32), MLIP_BENCH_SELECT_MEMORY (8GB),
 * MLIP_BENCH_SELECT_FUNCTIONS (functions per element of the potential, 10),
 * MLIP_BENCH_SELECT_TOOLCHAINS (`real,simulator`), MLIP_BENCH_SELECT_REPEATS (1; runs alternate
 * which side goes first), MLIP_BENCH_SELECT_BATCH_MEMORY (32MB: a third case, the big pool under
 * a limit that puts pace_select in batch mode; empty skips it).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelEmt } from '../src/dataset/emt.js';
import { PacemakerTrainerConfig } from '../src/domain/schemas.js';
import { resolveToolchain, simulatorToolchain, type Toolchain } from '../src/pacemaker/toolchain.js';
import { runPace, runSelectScript } from '../src/selection/programs.js';
import { selectActiveSet } from '../src/selection/select-active-set.js';
import { table } from './orchestration.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/**
 * Samples the resident memory of the processes it is told about every 100 ms (and their own
 * high-water marks), so a concurrent pair is measured as the sum it really costs.
 */
class MemorySampler {
  private readonly pids = new Set<number>();
  private readonly hwm = new Map<number, number>();
  peakTotalKb = 0;
  private timer: NodeJS.Timeout | null = null;

  track = (pid: number): void => {
    this.pids.add(pid);
    this.timer ??= setInterval(() => void this.sample(), 100);
  };

  private async sample(): Promise<void> {
    let total = 0;
    for (const pid of this.pids) {
      try {
        const status = await readFile(`/proc/${pid}/status`, 'utf8');
        const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        total += rss;
        this.hwm.set(pid, Math.max(this.hwm.get(pid) ?? 0, hwm));
      } catch {
        this.pids.delete(pid); // exited
      }
    }
    this.peakTotalKb = Math.max(this.peakTotalKb, total);
  }

  /** MB: the larger of the sampled concurrent total and the largest single high-water mark. */
  stop(): number {
    if (this.timer) clearInterval(this.timer);
    const single = Math.max(0, ...this.hwm.values());
    return Math.max(this.peakTotalKb, single) / 1024;
  }
}

interface Measured {
  seconds: number;
  peakMb: number;
}

async function timed(fn: (track: (pid: number) => void) => Promise<unknown>): Promise<Measured> {
  const sampler = new MemorySampler();
  const t0 = performance.now();
  await fn(sampler.track);
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, peakMb: sampler.stop() };
}

async function makePool(dir: string, toolchain: Toolchain, count: number, atoms: number): Promise<string> {
  const jsonl = join(dir, `pool-${count}.jsonl`);
  await labelEmt({ out: jsonl, count, elements: ['Cu', 'Ni'], seed: 2026, atoms, python: toolchain.python });
  const pool = join(dir, `pool-${count}.pkl.gz`);
  await runSelectScript({ toolchain }, 'prepare', ['--pool', jsonl, '--out', pool], join(dir, 'prepare.log'));
  return pool;
}

function parseMemoryMb(limit: string): number {
  const m = /^(\d+(?:\.\d+)?)(GB|MB)$/.exec(limit);
  if (!m) throw new Error(`MLIP_BENCH_SELECT_MEMORY: expected e.g. 8GB, got ${limit}`);
  return Number(m[1]) * (m[2] === 'GB' ? 1024 : 1);
}

export async function selectionGoals(): Promise<void> {
  const poolSize = env('MLIP_BENCH_SELECT_POOL', 2000);
  const bigPool = env('MLIP_BENCH_SELECT_BIG_POOL', 20000);
  const n = env('MLIP_BENCH_SELECT_N', 50);
  const atoms = env('MLIP_BENCH_SELECT_ATOMS', 32);
  const functions = env('MLIP_BENCH_SELECT_FUNCTIONS', 10);
  const repeats = env('MLIP_BENCH_SELECT_REPEATS', 1);
  const memoryLimit = process.env.MLIP_BENCH_SELECT_MEMORY ?? '8GB';
  const batchMemory = process.env.MLIP_BENCH_SELECT_BATCH_MEMORY ?? '32MB';
  const wanted = (process.env.MLIP_BENCH_SELECT_TOOLCHAINS ?? 'real,simulator').split(',');
  const toolchains: { label: string; toolchain: Toolchain }[] = [];
  if (wanted.includes('real')) {
    const real = await resolveToolchain(process.env.MLIP_PACEMAKER ?? 'auto');
    if (real.kind === 'pacemaker') toolchains.push({ label: `pacemaker ${real.version}`, toolchain: real });
    else console.log('selection bench: no real pacemaker found; only SIMULATOR figures follow');
  }
  if (wanted.includes('simulator')) toolchains.push({ label: 'SIMULATOR (not pacemaker)', toolchain: simulatorToolchain() });

  const config = PacemakerTrainerConfig.parse({ elements: ['Cu', 'Ni'], cutoff: 5.0, order: 3, functions_per_element: functions, evaluator: 'pyace' });
  const rows: (string | number)[][] = [];
  const medians: (string | number)[][] = [];
  for (const { label, toolchain } of toolchains) {
    const dir = await mkdtemp(join(tmpdir(), 'mlip-bench-select-'));
    // The unfitted generation-0 potential of the config, made once, used by both sides.
    const tiny = await makePool(dir, toolchain, 12, atoms);
    const shape = await selectActiveSet({ pool: tiny, n: 1, potential: null, config, workDir: join(dir, 'shape'), toolchain });
    const potential = shape.potential;
    const t0 = performance.now();
    const smallPool = await makePool(dir, toolchain, poolSize, atoms);
    console.log(`selection bench: ${label}: pool of ${poolSize} x ${atoms} atoms labelled by EMT and converted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const pools = new Map<number, string>([[poolSize, smallPool]]);
    const poolOf = async (size: number): Promise<string> => {
      const known = pools.get(size);
      if (known) return known;
      // EMT-labelling 20,000 structures takes longer than selecting from them: the big pool
      // repeats the labelled one with rattled positions (selection reads structures, not labels).
      const pool = join(dir, `pool-${size}.pkl.gz`);
      const copies = Math.ceil(size / poolSize);
      await runSelectScript({ toolchain }, 'replicate', ['--pool', smallPool, '--copies', String(copies), '--out', pool], join(dir, 'prepare.log'));
      console.log(`selection bench: ${label}: pool of ${copies * poolSize} = ${copies} rattled copies of the ${poolSize} EMT-labelled structures`);
      pools.set(size, pool);
      return pool;
    };
    const cases = [
      { size: poolSize, mem: memoryLimit },
      { size: bigPool, mem: memoryLimit },
      // A limit below twice the pool's projections: pace_select works in batches.
      { size: bigPool, mem: batchMemory },
    ].filter((c) => c.size > 0 && c.mem !== '');
    for (const { size, mem } of cases) {
      const pool = await poolOf(size);
      const ratios: number[] = [];
      for (let k = 0; k < repeats; k++) {
        const runDirect = () =>
          timed(async (track) => {
            const res = await runPace({ toolchain, onSpawn: track }, 'pace_select', ['-p', potential, '-m', String(n), '-mem', mem, '-o', 'direct.pkl.gz', pool], join(dir, `direct-${size}-${mem}-${k}`));
            if (res.exitCode !== 0) throw new Error(`pace_select failed: ${res.tail.join('\n')}`);
          });
        let counts = '';
        const runOurs = () =>
          timed(async (track) => {
            const r = await selectActiveSet({ pool, n, potential, workDir: join(dir, `select-${size}-${mem}-${k}`), toolchain, memoryLimit: mem, onSpawn: track });
            counts = `${r.counts.pace_select} + ${r.counts.gamma} (pace_select gave ${r.paceSelectReturned}; ${r.via ?? 'program'})`;
            if (r.indices.length !== Math.min(n, size)) throw new Error(`selectActiveSet returned ${r.indices.length}, not ${n}`);
          });
        // Alternate which side runs first, so a drift in the machine's load favours neither.
        let direct: Measured;
        let ours: Measured;
        if (k % 2 === 0) {
          direct = await runDirect();
          ours = await runOurs();
        } else {
          ours = await runOurs();
          direct = await runDirect();
        }
        ratios.push(ours.seconds / direct.seconds);
        const batchLog = await readFile(join(dir, `direct-${size}-${mem}-${k}`, 'pace_select.out'), 'utf8').catch(() => '');
        rows.push([
          label,
          String(size === poolSize ? size : Math.ceil(size / poolSize) * poolSize),
          String(n),
          direct.seconds,
          ours.seconds,
          (ours.seconds / direct.seconds).toFixed(2) + 'x',
          direct.peakMb.toFixed(0),
          ours.peakMb.toFixed(0),
          (ours.peakMb / direct.peakMb).toFixed(2) + 'x',
          // pacemaker's -mem bounds the projections, not the process (the pool itself is held whole).
          `${mem} (${mem !== memoryLimit ? 'bounds projections' : ours.peakMb < parseMemoryMb(mem) ? 'under' : 'OVER'}; ${/Batch mode/.test(batchLog) ? 'batches' : 'one shot'})`,
          counts,
        ]);
        console.log(`selection bench: ${label}: pool ${size}, -mem ${mem}: pace_select ${direct.seconds.toFixed(1)} s, selectActiveSet ${ours.seconds.toFixed(1)} s`);
      }
      const sorted = [...ratios].sort((a, b) => a - b);
      medians.push([label, String(size), mem, String(ratios.length), (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2]);
    }
  }
  console.log(`\nSelect active set: ${atoms}-atom EMT Cu/Ni structures, unfitted ${functions}-function/element potential (order 3), no .asi; target: selectActiveSet within 1.1x of pace_select; peak memory under the limit`);
  console.log(
    table(
      ['toolchain', 'pool', 'n', 'pace_select s', 'selectActiveSet s', 'time ratio', 'pace_select peak MB', 'selectActiveSet peak MB', 'memory ratio', 'memory limit', 'chosen by pace_select + gamma (how)'],
      rows,
    ),
  );
  console.log('Peak memory: resident set sampled every 100 ms, summed over the processes running at once (on the `program` path selectActiveSet runs pace_select and the pool projections side by side; `in-process` is one process). On a shared 2-core machine: noisy.');
  console.log('\nMedian time ratio per case (target <= 1.1x)\n');
  console.log(table(['toolchain', 'pool', 'memory limit', 'runs', 'median selectActiveSet / pace_select'], medians));
}
