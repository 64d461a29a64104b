/**
 * The selection's options (docs/selection.md#options-a-random-share-gamma-thresholds): a random
 * share of the n (batch diversity) and gamma thresholds on the candidates. The defaults were set
 * by `npm run bench -- active-learning` with a real pacemaker (docs/active-learning.md): an upper
 * gamma threshold of 10 measured best on test force and energy RMSE; a random share did not.
 */
import { z } from 'zod';
import { Finite } from './numbers.js';

export const DEFAULT_RANDOM_FRACTION = 0;
/** Default upper gamma threshold (null: none); applied in process against an active set only. */
export const DEFAULT_GAMMA_MAX: number | null = 10;
const GammaThreshold = Finite.refine((v) => v >= 0, { error: 'must be a finite number >= 0' });
export const SelectionStrategyShape = {
  /** Of the n, floor(n x randomFraction) are drawn uniformly at random from the candidates left (batch diversity). */
  randomFraction: Finite.refine((v) => v >= 0 && v < 1, { error: 'must be within [0, 1)' }).default(DEFAULT_RANDOM_FRACTION),
  /** Only structures whose extrapolation grade against the potential's active set is >= gammaMin are candidates. */
  gammaMin: GammaThreshold.nullable().optional(),
  /**
   * Only structures graded <= gammaMax are candidates (keeps out frames the potential extrapolates
   * to wildly). null: no upper threshold; absent: DEFAULT_GAMMA_MAX.
   */
  gammaMax: GammaThreshold.nullable().optional(),
  /** Seed of the random draw; absent: derived from the selection's inputs (a retry draws the same). */
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
};
export function checkGammaRange(v: { gammaMin?: number | null | undefined; gammaMax?: number | null | undefined }, ctx: z.RefinementCtx): void {
  const max = v.gammaMax === undefined ? DEFAULT_GAMMA_MAX : v.gammaMax;
  if (typeof v.gammaMin === 'number' && typeof max === 'number' && v.gammaMin >= max) {
    ctx.addIssue({ code: 'custom', path: ['gammaMin'], message: `must be below gammaMax (${max}${v.gammaMax === undefined ? ', the default' : ''}); got ${v.gammaMin}` });
  }
}
/** The selection options on their own (the CLI's and the bench's). */
export const SelectionStrategy = z.object(SelectionStrategyShape).strict().superRefine(checkGammaRange);
export type SelectionStrategy = z.infer<typeof SelectionStrategy>;

