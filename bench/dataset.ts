/**
 * Dataset append at scale: 1,000 new structures of 64 atoms appended to datasets of
 * 1,000 and 50,000 structures, against a plain pandas read-concat-write of the same data, both
 * measured in this run on the same files. Wall time is the whole call as a worker makes it
 * (Node-side JSON validation plus the Python dataset helper's process: parse, validate, hash, lock, index,
 * read, concatenate, write train/test/accumulated, index, manifest); peak memory is the
 * helper's (or baseline's) own ru_maxrss. The base datasets are random (not physical) and cached
 * under .mlip/bench/dataset-cache; the first run builds them (a few minutes for 50,000).
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { DatasetStore, type DatasetSummary } from '../src/dataset/store.js';
import { runBridge } from '../src/dataset/bridge.js';
import { runProgram } from '../src/process/run-program.js';
import { resolveToolchain } from '../src/pacemaker/toolchain.js';
import { PROJECT_ROOT, pythonHelper } from '../src/paths.js';
import { exists } from '../src/util/files.js';
import { median, table } from './orchestration.js';

const SIZES = (process.env.BENCH_DATASET_SIZES ?? '1000,50000').split(',').map(Number);
const NEW = 1000;
const ATOMS = 64;
const REPEATS = Number(process.env.BENCH_DATASET_REPEATS ?? 2);
const CACHE = join(PROJECT_ROOT, '.mlip', 'bench', 'dataset-cache');

/** What a user would write without this project: read, concat, to_pickle (pandas' gzip level 9). */
const BASELINE = `
import json, resource, sys
import pandas as pd
old = pd.read_pickle(sys.argv[1], compression="gzip")
new = pd.read_pickle(sys.argv[2], compression="gzip")
df = pd.concat([old, new], ignore_index=True)
df.to_pickle(sys.argv[1], compression="gzip", protocol=4)
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rows": len(df), "peakRssMb": usage.ru_maxrss / 1024, "cpuSeconds": usage.ru_utime + usage.ru_stime}))
`;

/** The same new results as a ready DataFrame pickle: the baseline's input costs it nothing to parse. */
const NEW_FRAME = `
import sys
from mlip_trainer.frames import results_to_dataframe
from mlip_trainer.results import read_results
df = results_to_dataframe(read_results([sys.argv[1]]))
df.to_pickle(sys.argv[2], compression="gzip", protocol=4)
`;

async function python(py: string, code: string, args: string[], log: string): Promise<{ seconds: number; out: Record<string, number> }> {
  // python/src on PYTHONPATH, for the code that imports mlip_trainer (the baseline imports only pandas).
  const { env } = pythonHelper('dataset');
  const r = await runProgram({ command: [py, '-c', code, ...args], env, cwd: PROJECT_ROOT, logFile: log, captureStdout: true, timeoutMs: 60 * 60_000 });
  if (r.exitCode !== 0) throw new Error(`python failed (exit ${r.exitCode}): ${r.tail.join('\n')}`);
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  return { seconds: r.durationMs / 1000, out: last.startsWith('{') ? (JSON.parse(last) as Record<string, number>) : {} };
}

async function copyTree(from: string, to: string, log: string): Promise<void> {
  const r = await runProgram({ command: ['cp', '-a', from, to], cwd: PROJECT_ROOT, logFile: log });
  if (r.exitCode !== 0) throw new Error(`cp -a ${from} ${to} failed: ${r.tail.join('\n')}`);
}

async function ensureCache(py: string, log: string): Promise<void> {
  await mkdir(CACHE, { recursive: true });
  const bridge = { python: py, logFile: log };
  const results = join(CACHE, `new-${NEW}x${ATOMS}.jsonl`);
  if (!(await exists(results))) await runBridge('synthesize-results', ['--out', results, '--count', String(NEW), '--atoms', String(ATOMS), '--seed', '424242'], bridge);
  const frame = join(CACHE, `new-${NEW}x${ATOMS}.pckl.gzip`);
  if (!(await exists(frame))) await python(py, NEW_FRAME, [results, frame], log);
  for (const n of SIZES) {
    const base = join(CACHE, `base-${n}x${ATOMS}`, 'accumulated.pckl.gzip');
    if (await exists(base)) continue;
    console.log(`building the cached ${n}-structure dataset (once) ...`);
    await runBridge('synthesize', ['--out', base, '--count', String(n), '--atoms', String(ATOMS), '--seed', String(n), '--test-fraction', '0.1'], bridge);
  }
}

interface Row {
  ours: number;
  oursCpu: number;
  baseCpu: number;
  oursBridge: number;
  oursMb: number;
  base: number;
  baseMb: number;
  dedup: number;
  resend: number;
  resendBridge: number;
  oursBytes: number;
  baseBytes: number;
}

export async function datasetAppend(): Promise<void> {
  const toolchain = await resolveToolchain(process.env.MLIP_PACEMAKER ?? 'auto');
  const py = toolchain.python;
  const work = await mkdtemp(join(tmpdir(), 'mlip-bench-dataset-'));
  const log = join(work, 'bench.log');
  await ensureCache(py, log);
  const results = join(CACHE, `new-${NEW}x${ATOMS}.jsonl`);
  const frame = join(CACHE, `new-${NEW}x${ATOMS}.pckl.gzip`);
  const rows: (string | number)[][] = [];
  try {
    for (const n of SIZES) {
      const source = join(CACHE, `base-${n}x${ATOMS}`);
      const runs: Row[] = [];
      for (let rep = 0; rep < REPEATS; rep++) {
        // Fresh copies each time; the two contenders alternate order between repeats.
        const oursDir = join(work, `ours-${n}-${rep}`);
        const baseDir = join(work, `base-${n}-${rep}`);
        // cp -a keeps modification times, which the index checks: no rebuild on the copy.
        await copyTree(source, oursDir, log);
        await mkdir(baseDir, { recursive: true });
        await copyTree(join(source, 'accumulated.pckl.gzip'), join(baseDir, 'accumulated.pckl.gzip'), log);
        const store = new DatasetStore(join(oursDir, 'accumulated.pckl.gzip'), { python: py, logFile: log }, { testFraction: 0.1 });
        const runOurs = async (): Promise<[number, DatasetSummary & { timings?: Record<string, number> }]> => {
          const t0 = performance.now();
          const s = await store.appendFiles([results], ['Cu', 'Ni']);
          return [(performance.now() - t0) / 1000, s];
        };
        const runBase = () => python(py, BASELINE, [join(baseDir, 'accumulated.pckl.gzip'), frame], log);
        let ours: [number, DatasetSummary & { timings?: Record<string, number> }];
        let base: Awaited<ReturnType<typeof runBase>>;
        if (rep % 2 === 0) {
          ours = await runOurs();
          base = await runBase();
        } else {
          base = await runBase();
          ours = await runOurs();
        }
        if ((ours[1] as { indexRebuilt?: boolean }).indexRebuilt) throw new Error('the index was rebuilt: the copy lost its timestamps, the comparison would be unfair');
        if (ours[1].added !== NEW || ours[1].total !== n + NEW || base.out.rows !== n + NEW) throw new Error(`unexpected counts: ${JSON.stringify({ ours: ours[1], base: base.out })}`);
        const [resendSeconds, resend] = await runOurs();
        if (resend.added !== 0) throw new Error('re-sent batch added structures');
        const t = ours[1].timings ?? {};
        runs.push({
          ours: ours[0],
          oursCpu: (ours[1] as { cpuSeconds?: number }).cpuSeconds ?? NaN,
          baseCpu: base.out.cpuSeconds ?? NaN,
          oursBridge: ours[1].programSeconds,
          oursMb: ours[1].peakRssMb,
          base: base.seconds,
          baseMb: base.out.peakRssMb ?? NaN,
          dedup: (t.index ?? 0) + (t.dedup ?? 0),
          resend: resendSeconds,
          resendBridge: resend.programSeconds,
          oursBytes: (await stat(join(oursDir, 'accumulated.pckl.gzip'))).size,
          baseBytes: (await stat(join(baseDir, 'accumulated.pckl.gzip'))).size,
        });
        await rm(oursDir, { recursive: true, force: true });
        await rm(baseDir, { recursive: true, force: true });
      }
      const m = (k: keyof Row) => median(runs.map((r) => r[k]));
      rows.push([
        String(n),
        m('ours'),
        m('oursBridge'),
        m('base'),
        `${(m('ours') / m('base')).toFixed(2)}x`,
        m('oursCpu'),
        m('baseCpu'),
        `${(m('oursCpu') / m('baseCpu')).toFixed(2)}x`,
        m('oursMb').toFixed(0),
        m('baseMb').toFixed(0),
        `${(m('oursMb') / m('baseMb')).toFixed(2)}x`,
        (m('dedup') * 1000).toFixed(1),
        m('resend'),
        `${(m('oursBytes') / 2 ** 20).toFixed(0)} / ${(m('baseBytes') / 2 ** 20).toFixed(0)}`,
      ]);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  console.log(`\nDataset append: ${NEW} new structures of ${ATOMS} atoms (random Cu/Ni, not physical), median of ${REPEATS} run(s), dataset written by ${py}`);
  console.log(
    table(
      ['dataset', 'ours s', 'ours bridge s', 'pandas s', 'time ratio', 'ours cpu s', 'pandas cpu s', 'cpu ratio', 'ours MB', 'pandas MB', 'memory ratio', 'dedup check ms', 're-send s', 'file MiB ours / pandas'],
      rows,
    ),
  );
  console.log(
    'ours = DatasetStore.appendFiles (validation, dedup, lock, train/test/accumulated, index, manifest); pandas = read_pickle + concat + to_pickle of a ready DataFrame.\n' +
      'dedup check = index load + hash lookups inside the bridge; re-send = the same batch again (0 added).',
  );
}
