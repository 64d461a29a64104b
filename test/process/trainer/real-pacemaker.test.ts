// Fine-tune and resume against a REAL pacemaker (MLIP_PACEMAKER=/path/bin or pacemaker on PATH).
// Without one these print `skipped: no pacemaker` and skip. Small on purpose: a few EMT Cu/Ni
// structures, 10 functions per element, pyace evaluator (about 10-20 s per fit on 2 cores).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Toolchain } from '../../../src/pacemaker/toolchain.js';
import { parseMetricsTable } from '../../../src/domain/pacemaker-log.js';
import type { TrainingProgress } from '../../../src/domain/progress.js';
import { ProgramFailedError } from '../../../src/errors.js';
import { makeCampaign } from './helpers.js';
import { realPacemakerOrSkip } from '../../helpers/real-pacemaker.js';
import { labelEmt } from '../../../src/dataset/emt.js';

const REAL = { functions_per_element: 10, order: 2, evaluator: 'pyace' as const, test_size: 0 };
const owner = { workflowId: 'real', activityId: '1', attempt: 1 };

async function realPacemaker(t: { skip: (m: string) => void }): Promise<Toolchain | null> {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return null;
  return toolchain;
}

test("real pacemaker: a fine-tune's first loss equals the parent's final loss", async (t) => {
  const toolchain = await realPacemaker(t);
  if (!toolchain) return;
  const c = await makeCampaign(toolchain, 6, 11);
  const parent = await c.trainer({ config: { ...REAL, max_epochs: 5 } }).train(c.data, null, { owner });
  const child = c.trainer({ generation: 1, config: { ...REAL, max_epochs: 3 }, parentVersion: parent.version });
  await child.train(c.data, { path: parent.potentialYaml, mode: 'continue' }, { owner });
  const parentRows = parseMetricsTable(await readFile(join(parent.potentialYaml, '..', 'metrics.txt'), 'utf8'));
  const childRows = parseMetricsTable(await readFile(join(child.generationDir, 'metrics.txt'), 'utf8'));
  const parentFinal = parentRows.at(-1)!.loss!;
  const childFirst = childRows[0]!.loss!;
  console.log(`real pacemaker: parent final loss ${parentFinal}, fine-tune first loss ${childFirst}`);
  assert.ok(Math.abs(childFirst - parentFinal) <= 1e-6 * Math.abs(parentFinal), `${childFirst} vs ${parentFinal}`);
  assert.ok(childRows.at(-1)!.loss! <= childFirst, 'the fine-tune does not make the fit worse');
});

test("real pacemaker: a fine-tune on new data starts from the parent's fitted state, not from the ZBL core repulsion: auto put at the parent's shortest bond", async (t) => {
  const toolchain = await realPacemaker(t);
  if (!toolchain) return;
  const c = await makeCampaign(toolchain, 6, 21);
  const parent = await c.trainer({ config: { ...REAL, max_epochs: 8 } }).train(c.data, null, { owner });
  const parentText = await readFile(parent.potentialYaml, 'utf8');
  assert.match(parentText, /inner_cutoff_type: zbl/, 'repulsion: auto set an inner cutoff after the parent fit');
  // New EMT structures (other random bonds, some shorter than the parent's shortest), added as
  // an active-learning generation would.
  const more = join(c.dir, 'more.jsonl');
  await labelEmt({ out: more, count: 6, elements: ['Cu', 'Ni'], seed: 22, python: toolchain.python });
  const s = await c.trainer({ generation: 1 }).updateDataset([more]);
  const data = { trainPath: s.trainPath, testPath: s.testPath, sha256: s.sha256 };
  const child = c.trainer({ generation: 1, config: { ...REAL, max_epochs: 3 }, parentVersion: parent.version });
  const artifact = await child.train(data, { path: parent.potentialYaml, mode: 'continue' }, { owner });
  const parentRows = parseMetricsTable(await readFile(join(parent.potentialYaml, '..', 'metrics.txt'), 'utf8'));
  const childRows = parseMetricsTable(await readFile(join(child.generationDir, 'metrics.txt'), 'utf8'));
  const parentF = parentRows.at(-1)!.rmse_f_comp! * 1000;
  const childFirstF = childRows[0]!.rmse_f_comp! * 1000;
  console.log(`real pacemaker: parent final force RMSE ${parentF.toFixed(1)} meV/Å; fine-tune on 2x the data starts at ${childFirstF.toFixed(1)} and ends at ${artifact.metrics.train.force_rmse_mev_per_a.toFixed(1)}`);
  // Kept, the parent's ZBL core started this very fine-tune at 27,182 meV/Å (measured, 90x the parent's error).
  assert.ok(childFirstF <= 3 * parentF, `fine-tune starts at ${childFirstF} meV/Å, parent ended at ${parentF}`);
  assert.ok(artifact.metrics.train.force_rmse_mev_per_a <= childFirstF * 1.0001, 'the fine-tune does not make the forces worse');
  assert.doesNotMatch(await readFile(join(child.generationDir, 'initial_potential.yaml'), 'utf8'), /zbl/);
  // pacemaker sets the repulsion again, from all the data, after the fine-tune.
  assert.match(await readFile(artifact.potentialYaml, 'utf8'), /inner_cutoff_type: zbl/);
});

test('real pacemaker: a run interrupted half-way and resumed ends within the same RMSE as an uninterrupted one', async (t) => {
  const toolchain = await realPacemaker(t);
  if (!toolchain) return;
  const maxEpochs = 12;
  const c = await makeCampaign(toolchain, 6, 12);
  const straight = await c.trainer({ config: { ...REAL, max_epochs: maxEpochs } }).train(c.data, null, { owner });

  const abort = new AbortController();
  let last: TrainingProgress | null = null;
  const interrupted = c.trainer({ generation: 1, config: { ...REAL, max_epochs: maxEpochs } });
  await assert.rejects(
    interrupted.train(c.data, null, {
      owner,
      signal: abort.signal,
      onProgress: (p) => {
        last = p;
        if ((p.checkpoint?.iteration ?? 0) >= maxEpochs / 2) abort.abort();
      },
    }),
    ProgramFailedError,
  );
  const checkpoint = (last as TrainingProgress | null)?.checkpoint ?? null;
  assert.ok(checkpoint, 'a checkpoint was kept before the interruption');
  const resumed = await c.trainer({ generation: 1, config: { ...REAL, max_epochs: maxEpochs } }).train(c.data, null, { owner: { ...owner, attempt: 2 }, resume: { checkpoint } });
  const s = straight.metrics.train;
  const r = resumed.metrics.train;
  console.log(
    `real pacemaker, ${maxEpochs} iterations: uninterrupted E ${s.energy_rmse_mev_per_atom.toFixed(2)} meV/at F ${s.force_rmse_mev_per_a.toFixed(2)} meV/Å; ` +
      `interrupted at ${checkpoint.iteration} and resumed: E ${r.energy_rmse_mev_per_atom.toFixed(2)} meV/at F ${r.force_rmse_mev_per_a.toFixed(2)} meV/Å`,
  );
  assert.equal(r.iterations, maxEpochs);
  // BFGS restarts without its Hessian estimate, so the paths differ; the end point must not be worse by more than 25 %.
  assert.ok(r.force_rmse_mev_per_a <= 1.25 * s.force_rmse_mev_per_a, `force RMSE ${r.force_rmse_mev_per_a} vs ${s.force_rmse_mev_per_a}`);
  assert.ok(r.energy_rmse_mev_per_atom <= 1.25 * s.energy_rmse_mev_per_atom + 1, `energy RMSE ${r.energy_rmse_mev_per_atom} vs ${s.energy_rmse_mev_per_atom}`);
});
