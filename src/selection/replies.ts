/** The selection helper's replies, one schema per command, checked on arrival (see runHelper). */
import { z } from 'zod';
import { ChosenBy, GammaStats, SelectionCandidates, SelectionCounts } from '../domain/schemas.js';

/** What a pool holds: structures, the elements in them (sorted), atoms in all of them. */
const PoolSummary = { rows: z.number(), elements: z.array(z.string()), natomsTotal: z.number() };

/** `inspect`: the pool read the way the selection reads it; nothing written. */
export const InspectReply = z.object({ path: z.string(), ...PoolSummary });

/** `prepare`: the pool converted to a pickle at `path` (and the dry-run sample, when asked). */
export const PrepareReply = z.object({ path: z.string(), ...PoolSummary, sha256: z.string() });

/** `run` (beside the pace_select program) and `select` (in process): the structures chosen. */
export const FinishedReply = z.object({
  /** Positions in the pool, in the order chosen. */
  indices: z.array(z.number().int()),
  chosenBy: z.array(ChosenBy),
  gammaMax: z.array(z.number().nullable()),
  counts: SelectionCounts,
  /** Under gamma thresholds: candidates kept, and those graded below gammaMin or above gammaMax. */
  candidates: SelectionCandidates.nullable().optional(),
  paceSelectReturned: z.number().int(),
  gamma: GammaStats.nullable(),
  poolGamma: GammaStats.nullable(),
  /** `pool_gamma.json`: every pool structure's grade, when the fill computed them. */
  poolGammaFile: z.string().nullable().optional(),
  poolSize: z.number().int(),
  out: z.string(),
  sha256: z.string(),
});

/** `select` adds whether pace_select could choose at all, and how long its own function ran (s). */
export const SelectReply = FinishedReply.extend({
  underDetermined: z.boolean(),
  paceSelectSeconds: z.number(),
  /** True when the pool's atomic environments would not fit the memory limit at once, so pyace made them one at a time (the same choice). */
  environmentsOnDemand: z.boolean().optional(),
  warnings: z.array(z.string()).default([]),
});

/** `replicate` (benchmarks): a big pool made from a small one. */
export const ReplicateReply = z.object({ out: z.string(), rows: z.number(), sha256: z.string() });

/** What each selection helper command replies. */
export interface SelectReplies {
  inspect: z.infer<typeof InspectReply>;
  prepare: z.infer<typeof PrepareReply>;
  run: z.infer<typeof FinishedReply>;
  select: z.infer<typeof SelectReply>;
  replicate: z.infer<typeof ReplicateReply>;
}
export type SelectCommand = keyof SelectReplies;

/** The reply schema of every selection helper command. */
export const SELECT_REPLIES: { [C in SelectCommand]: z.ZodType<SelectReplies[C]> } = {
  inspect: InspectReply,
  prepare: PrepareReply,
  run: FinishedReply,
  select: SelectReply,
  replicate: ReplicateReply,
};
