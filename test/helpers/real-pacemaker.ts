/** Tests that need the real pacemaker: run with it, or say so in one line and skip. */
import type { TestContext } from 'node:test';
import { execa } from 'execa';
import { resolveToolchain, type Toolchain } from '../../src/pacemaker/toolchain.js';

export async function realPacemakerOrSkip(t: Pick<TestContext, 'skip'>): Promise<Toolchain | null> {
  const toolchain = await resolveToolchain(process.env.MLIP_PACEMAKER ?? 'auto');
  if (toolchain.kind === 'pacemaker') return toolchain;
  console.log('skipped: no pacemaker (put pacemaker on PATH or set MLIP_PACEMAKER to its bin folder)');
  t.skip('no pacemaker');
  return null;
}

export type Evaluator = 'pyace' | 'tensorpot';

const tensorFlowOf = new Map<string, Promise<boolean>>();

/** Whether the installation's Python imports TensorFlow and TensorPotential (`evaluator: tensorpot`). */
export function hasTensorFlow(toolchain: Toolchain): Promise<boolean> {
  let known = tensorFlowOf.get(toolchain.python);
  if (!known) {
    known = execa(toolchain.python, ['-c', 'import tensorflow, tensorpotential'], { reject: false, env: { TF_CPP_MIN_LOG_LEVEL: '3' } }).then((r) => r.exitCode === 0);
    tensorFlowOf.set(toolchain.python, known);
  }
  return known;
}

/**
 * The real pacemaker with `evaluator`, or null after one line saying why not: no pacemaker, or
 * (for `tensorpot`) an installation without TensorFlow.
 */
export async function realPacemakerWith(t: Pick<TestContext, 'skip'>, evaluator: Evaluator): Promise<Toolchain | null> {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain || evaluator === 'pyace') return toolchain;
  if (await hasTensorFlow(toolchain)) return toolchain;
  console.log(`skipped: evaluator tensorpot, the pacemaker installation at ${toolchain.python} has no TensorFlow/TensorPotential`);
  t.skip('no TensorFlow');
  return null;
}

/** Both evaluators: every real-pacemaker test written for one runs for each. */
export const EVALUATORS: readonly Evaluator[] = ['pyace', 'tensorpot'];
