/**
 * Selection activities: check a pool before training, choose structures from it for
 * labelling, and compute the active set of a newly trained potential.
 */
import { Context } from '@temporalio/activity';
import { dirname, join } from 'node:path';
import type { ActiveSetSelection, PotentialArtifact, SelectionPool, TrainerConfig } from '../src/domain/schemas.js';
import { DEFAULT_SELECTION_MEMORY_LIMIT } from '../src/domain/schemas.js';
import { generationVersion } from '../src/domain/naming.js';
import type { TrainingData } from '../src/dataset/store.js';
import { attachActiveSet } from '../src/selection/active-set.js';
import { selectActiveSet } from '../src/selection/select-active-set.js';
import { inspectPool, type PoolInspection } from '../src/selection/inspect-pool.js';
import { atBoundary } from './boundary.js';
import { campaignDir, type ActivityDeps } from './deps.js';
import { withStageRecord } from './stage-record.js';

export interface SelectActiveSetActivityInput {
  campaign: string;
  generation: number;
  config: TrainerConfig;
  pool: SelectionPool;
  /** Potential YAML to select with; null selects with the config's unfitted shape (generation 0). */
  potential: string | null;
  /** Its `.asi`; absent: `<potential>.asi` when that exists. */
  activeSet?: string | null;
}

export interface InspectPoolActivityInput {
  campaign: string;
  generation: number;
  config: TrainerConfig;
  pool: SelectionPool;
}

export interface ComputeActiveSetActivityInput {
  artifact: PotentialArtifact;
  data: TrainingData;
  memoryLimit?: string;
}

/** Heartbeats from a timer while `fn` runs, so cancellation reaches it and a dead worker shows. */
async function withHeartbeat<T>(deps: ActivityDeps, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), deps.heartbeatEveryMs ?? 5_000);
  try {
    return await fn(ctx.cancellationSignal);
  } finally {
    clearInterval(timer);
  }
}

export function createSelectionActivities(deps: ActivityDeps) {
  return {
    /**
     * Before training: the pool file is there and readable, holds a structure, and has only the
     * config's elements; anything else is a non-retryable BadInput naming `pool.path`. Writes
     * nothing but its log (in the generation's selection folder).
     */
    async inspectPool(input: InspectPoolActivityInput): Promise<PoolInspection> {
      return atBoundary(() => withStageRecord(deps, { ...input, stage: 'checking-pool' }, () =>
        withHeartbeat(deps, (signal) =>
          inspectPool({
            pool: input.pool.path,
            ...(input.pool.typeMap ? { typeMap: input.pool.typeMap } : {}),
            elements: input.config.pacemaker.elements,
            logFile: join(campaignDir(deps, input.campaign), 'selections', generationVersion(input.generation), 'inspect-pool.log'),
            toolchain: deps.toolchain,
            ...(deps.env ? { env: deps.env } : {}),
            signal,
          }),
        ),
      ));
    },

    async selectActiveSet(input: SelectActiveSetActivityInput): Promise<ActiveSetSelection> {
      return atBoundary(() => withStageRecord(deps, { ...input, stage: 'selecting' }, () =>
        withHeartbeat(deps, (signal) =>
          selectActiveSet({
            pool: input.pool.path,
            ...(input.pool.typeMap ? { typeMap: input.pool.typeMap } : {}),
            n: input.pool.n,
            memoryLimit: input.pool.memoryLimit,
            strategy: {
              // Absent in inputs recorded before the option existed: the default then.
              ...(input.pool.randomFraction !== undefined ? { randomFraction: input.pool.randomFraction } : {}),
              ...(input.pool.gammaMin !== undefined ? { gammaMin: input.pool.gammaMin } : {}),
              ...(input.pool.gammaMax !== undefined ? { gammaMax: input.pool.gammaMax } : {}),
              ...(input.pool.seed !== undefined ? { seed: input.pool.seed } : {}),
            },
            potential: input.potential,
            ...(input.activeSet !== undefined ? { activeSet: input.activeSet } : {}),
            config: input.config.pacemaker,
            workDir: join(campaignDir(deps, input.campaign), 'selections', generationVersion(input.generation)),
            toolchain: deps.toolchain,
            ...(deps.env ? { env: deps.env } : {}),
            signal,
          }),
        ),
      ));
    },

    async computeActiveSet(input: ComputeActiveSetActivityInput): Promise<PotentialArtifact> {
      // <campaign>/potentials/<version>/output_potential.yace: the journal is <campaign>/journal/<version>.jsonl.
      const journal = join(dirname(dirname(dirname(input.artifact.path))), 'journal', `${input.artifact.version}.jsonl`);
      return atBoundary(() => withStageRecord(deps, { journal, stage: 'active-set' }, () =>
        withHeartbeat(deps, (signal) =>
          attachActiveSet(input.artifact, {
            data: [input.data.trainPath],
            memoryLimit: input.memoryLimit ?? DEFAULT_SELECTION_MEMORY_LIMIT,
            toolchain: deps.toolchain,
            ...(deps.env ? { env: deps.env } : {}),
            signal,
          }),
        ),
      ));
    },
  };
}
