/** Small shared pieces of the workflow tests: polling, process liveness, a tiny fit config. */
import type { TrainerConfigInput } from '../../src/domain/schemas.js';

/** Polls `fn` until it returns something truthy; errors while polling count as "not yet". */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A Cu/Ni fit small enough for tests: 5 functions per element, rank 2, no test split. */
export const smallConfig = (maxEpochs: number): TrainerConfigInput => ({
  engine: 'pacemaker',
  pacemaker: { elements: ['Cu', 'Ni'], cutoff: 5.0, order: 2, functions_per_element: 5, max_epochs: maxEpochs, evaluator: 'pyace', test_size: 0 },
});
