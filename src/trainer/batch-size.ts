/**
 * `backend.batch_size` (structures per chunk of pacemaker's loss evaluation) across the runs of
 * a generation: halved after every out-of-memory exit down to a floor, and a reduction kept
 * across crashes, killed workers and retries. Pure: records and numbers in, a number out.
 */

/**
 * Smallest `backend.batch_size` tried after out-of-memory exits; below it a generation fails
 * with a clear OutOfMemory error instead.
 */
export const OOM_BATCH_FLOOR = 1;

/** What the batch size is read from in a run record (see RunRecord). */
export interface BatchRecord {
  event: 'start' | 'end';
  run: number;
  runKey?: string;
  batchSize?: number;
  nextBatchSize?: number;
}

/**
 * The smallest `backend.batch_size` that earlier runs of the same inputs used or were cut down to
 * after running out of memory, so a reduction survives a later crash, a killed worker or a retry
 * that starts over (no checkpoint yet). null when no run of these inputs recorded one.
 */
export function reducedBatchSize(runs: readonly BatchRecord[], runKey: string): number | null {
  const keyOfRun = new Map<number, string | undefined>();
  let smallest: number | null = null;
  for (const r of runs) {
    if (r.event === 'start') keyOfRun.set(r.run, r.runKey);
    if (keyOfRun.get(r.run) !== runKey) continue;
    for (const b of [r.event === 'start' ? r.batchSize : undefined, r.nextBatchSize]) {
      if (typeof b === 'number' && Number.isInteger(b) && b >= 1) smallest = Math.min(smallest ?? b, b);
    }
  }
  return smallest;
}

/**
 * The batch size the next run starts with: the configured one, or any smaller size an earlier
 * run of the same inputs got to (the checkpoint's, runs.jsonl's, the last heartbeat's).
 */
export function startingBatchSize(configured: number, reductions: readonly (number | null | undefined)[]): number {
  return Math.min(configured, ...reductions.map((b) => b ?? Infinity));
}

/** The batch size after an out-of-memory exit at `batchSize`: half of it, not below the floor; null at the floor. */
export function batchSizeAfterOutOfMemory(batchSize: number): number | null {
  return batchSize > OOM_BATCH_FLOOR ? Math.max(OOM_BATCH_FLOOR, Math.floor(batchSize / 2)) : null;
}

/** Why a generation gives up after running out of memory at the floor, and what to do instead. */
export function outOfMemoryAtFloor(tried: readonly number[], functionsPerElement: number, cause: string): string {
  return `pacemaker ran out of memory with backend.batch_size ${tried.join(' -> ')} (floor ${OOM_BATCH_FLOOR}); give the worker more memory or use a smaller basis (functions_per_element ${functionsPerElement}). ${cause}`;
}
