/** Selecting structures for labelling and the potential's active set. */
export { selectActiveSet, type SelectActiveSetOptions } from './select-active-set.js';
export { inspectPool, type InspectPoolOptions, type PoolInspection } from './inspect-pool.js';
export { attachActiveSet, computeActiveSet, type ActiveSetResult, type ComputeActiveSetOptions } from './active-set.js';
export type { StepContext } from './programs.js';
