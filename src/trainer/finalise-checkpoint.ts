/**
 * "Stop training now and keep the best potential so far": after the training activity was
 * cancelled (pacemaker's process group killed), turn the newest checkpoint pacemaker wrote into
 * a complete generation: output_potential.yaml, its .yace, metrics and artifact.json.
 *
 * Kept apart from PacemakerTrainer so the early-stop path and the trainer can change
 * independently; it relies only on pacemaker's file contract (interim_potential_<cycle>.yaml is
 * rewritten after every iteration, metrics.txt gains one row per iteration).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OutputMissingError, ProgramFailedError } from '../errors.js';
import { PotentialArtifact, type FileRef, type TrainerConfig } from '../domain/schemas.js';
import type { TrainingData } from '../dataset/store.js';
import { runProgram } from '../process/run-program.js';
import type { Toolchain } from '../pacemaker/toolchain.js';
import { canonicalJson, exists, sha256File, sha256Text, writeFileAtomic } from '../util/files.js';
import { readFinalMetrics } from './pacemaker-trainer.js';
import { createTrainer } from './factory.js';
import { withFitCycles } from './fit-position.js';

export interface FinaliseOptions {
  campaignDir: string;
  generation: number;
  parentVersion: string | null;
  config: TrainerConfig;
  data: TrainingData;
  toolchain: Toolchain;
  env?: Record<string, string>;
  signal?: AbortSignal;
}

/** What an early-stopped artifact adds to PotentialArtifact. */
export interface EarlyStopInfo {
  /** The checkpoint the potential was taken from. */
  checkpoint: string;
  /** Iterations pacemaker had completed (metrics.txt rows, the initial state excluded). */
  iterations: number;
}

export type EarlyStoppedArtifact = PotentialArtifact & { stoppedEarly: EarlyStopInfo };

/**
 * The most recently written `interim_potential_<cycle>.yaml` (the last iteration of the cycle
 * pacemaker was in; a higher-numbered file may be left from an earlier run), else the trainer's
 * own checkpoint copy. Never interim_potential_best_cycle.yaml (upstream issue #77).
 */
export async function newestCheckpoint(dir: string): Promise<string | null> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const cycles = await Promise.all(
    names
      .filter((n) => /^interim_potential_\d+\.yaml$/.test(n))
      .map(async (name) => ({ name, mtime: (await stat(join(dir, name)).catch(() => null))?.mtimeMs ?? -1 })),
  );
  cycles.sort((a, b) => b.mtime - a.mtime);
  if (cycles[0]) return join(dir, cycles[0].name);
  return names.includes('checkpoint_potential.yaml') ? join(dir, 'checkpoint_potential.yaml') : null;
}

export async function finaliseFromCheckpoint(o: FinaliseOptions): Promise<EarlyStoppedArtifact> {
  const trainer = createTrainer(o.config, {
    campaignDir: o.campaignDir,
    generation: o.generation,
    parentVersion: o.parentVersion,
    toolchain: o.toolchain,
  });
  const dir = trainer.generationDir;
  const checkpoint = await newestCheckpoint(dir);
  if (checkpoint === null) {
    throw new OutputMissingError(
      `stop requested but ${dir} holds no checkpoint (interim_potential_*.yaml): pacemaker had not finished its first iteration`,
    );
  }
  // pacemaker's checkpoints are complete potential YAMLs. Those of fit cycle 1 on carry
  // `_fit_cycles`, which would make a fine-tune from this potential fit nothing: it goes.
  await writeFileAtomic(join(dir, 'output_potential.yaml'), withFitCycles(await readFile(checkpoint, 'utf8'), 0));
  const logFile = join(dir, 'pace_yaml2yace.out');
  const res = await runProgram({
    command: [...o.toolchain.command('pace_yaml2yace'), 'output_potential.yaml', '-o', 'output_potential.yace'],
    cwd: dir,
    logFile,
    timeoutMs: 10 * 60_000,
    ...(o.env ? { env: o.env } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (res.exitCode !== 0) {
    throw new ProgramFailedError(`pace_yaml2yace exited with ${res.exitCode ?? res.signal} converting ${checkpoint}; see ${logFile}`, {
      program: 'pace_yaml2yace',
      exitCode: res.exitCode,
      signal: res.signal,
      logFile,
      known: null,
    });
  }
  if (!(await exists(join(dir, 'output_potential.yace')))) throw new OutputMissingError(`pace_yaml2yace wrote no output_potential.yace in ${dir}`);
  const train = await readFinalMetrics(join(dir, 'metrics.txt'));
  if (!train) throw new OutputMissingError(`${join(dir, 'metrics.txt')} has no rows: pacemaker stopped before its first iteration`);

  const files: Record<string, FileRef> = {};
  for (const name of ['input.yaml', 'output_potential.yaml', 'output_potential.yace', 'log.txt', 'metrics.txt']) {
    const p = join(dir, name);
    if (await exists(p)) files[name] = { path: p, sha256: await sha256File(p) };
  }
  const artifact = PotentialArtifact.parse({
    path: join(dir, 'output_potential.yace'),
    potentialYaml: join(dir, 'output_potential.yaml'),
    metrics: { train, test: null },
    version: trainer.version,
    parentVersion: o.parentVersion,
    datasetSha256: o.data.sha256,
    configSha256: sha256Text(canonicalJson(trainer.config)),
    files,
    simulated: o.toolchain.kind === 'simulator',
    trainerVersion: o.toolchain.version,
    timings: { pacemakerSeconds: 0, conversionSeconds: res.durationMs / 1000, metricsSeconds: 0 },
  } satisfies PotentialArtifact);
  const out: EarlyStoppedArtifact = { ...artifact, stoppedEarly: { checkpoint, iterations: train.iterations } };
  await writeFileAtomic(join(dir, 'artifact.json'), JSON.stringify(out, null, 2) + '\n');
  return out;
}
