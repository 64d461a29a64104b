/** Tests that need the real pacemaker: run with it, or say so in one line and skip. */
import type { TestContext } from 'node:test';
import { resolveToolchain, type Toolchain } from '../../src/pacemaker/toolchain.js';

export async function realPacemakerOrSkip(t: Pick<TestContext, 'skip'>): Promise<Toolchain | null> {
  const toolchain = await resolveToolchain(process.env.MLIP_PACEMAKER ?? 'auto');
  if (toolchain.kind === 'pacemaker') return toolchain;
  console.log('skipped: no pacemaker (put pacemaker on PATH or set MLIP_PACEMAKER to its bin folder)');
  t.skip('no pacemaker');
  return null;
}
