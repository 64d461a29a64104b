// A pacemaker dataset pickle with only energy_corrected (the layout of pacemaker's examples)
// added to a campaign and trained: the same loss as pacemaker run directly on that pickle, to
// every printed digit, because it is fitted as stored (no data.reference_energy). And the trap it
// avoids: pacemaker itself, given data.reference_energy on such a pickle, fails with
// KeyError 'energy'. With the simulator always; with a real pacemaker when there is one
// (MLIP_PACEMAKER=/path/bin), else one `skipped: no pacemaker` line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { simulatorToolchain, type Toolchain } from '../../../src/pacemaker/toolchain.js';
import { PacemakerTrainerConfig } from '../../../src/domain/schemas.js';
import { parseMetricsTable } from '../../../src/domain/pacemaker-log.js';
import { PacemakerTrainer } from '../../../src/trainer/pacemaker-trainer.js';
import { runProgram } from '../../../src/process/run-program.js';
import { realPacemakerOrSkip } from '../../helpers/real-pacemaker.js';
import { writeInputFiles } from '../../helpers/input-files.js';

const owner = { workflowId: 'corrected', activityId: '1', attempt: 1 };

/** The last row of a metrics.txt: the final loss and RMSEs, as pacemaker printed them. */
async function finalRow(dir: string): Promise<Record<string, number>> {
  return parseMetricsTable(await readFile(join(dir, 'metrics.txt'), 'utf8')).at(-1)!;
}

async function pacemakerIn(toolchain: Toolchain, dir: string, input: Record<string, unknown>) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'input.yaml'), yaml.dump(input));
  return runProgram({ command: [...toolchain.command('pacemaker'), 'input.yaml'], cwd: dir, logFile: join(dir, 'pacemaker.out') });
}

async function sameLossAsPacemakerDirectly(toolchain: Toolchain): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'corrected-'));
  const [pickleName] = Object.keys(await writeInputFiles('corrected', dir, toolchain.python));
  const pickle = join(dir, pickleName!);
  const config = PacemakerTrainerConfig.parse({ elements: ['Cu', 'Ni'], cutoff: 5.0, order: 2, functions_per_element: 5, max_epochs: 10, evaluator: 'pyace', test_size: 0 });

  const trainer = new PacemakerTrainer({ config, campaignDir: join(dir, 'campaign'), toolchain, generation: 0 });
  const summary = await trainer.updateDataset([pickle]);
  assert.equal(summary.fittedEnergy, 'energy_corrected');
  const data = { trainPath: summary.trainPath, testPath: summary.testPath, sha256: summary.sha256, fittedEnergy: summary.fittedEnergy };
  const artifact = await trainer.train(data, null, { owner });
  const input = yaml.load(await readFile(join(trainer.generationDir, 'input.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  assert.equal('reference_energy' in input.data!, false, 'fitted as stored');

  // pacemaker directly on the user's pickle, with the same input otherwise.
  const direct = join(dir, 'direct');
  const res = await pacemakerIn(toolchain, direct, { ...input, data: { filename: pickle } });
  assert.equal(res.exitCode, 0, res.tail.join('\n'));
  const [ours, theirs] = [await finalRow(trainer.generationDir), await finalRow(direct)];
  console.log(
    `${toolchain.kind === 'simulator' ? 'simulator' : `real pacemaker ${toolchain.version}`}: energy_corrected-only pickle, 12 structures, 10 iterations: ` +
      `final loss ${ours.loss} through mlip-trainer, ${theirs.loss} with pacemaker directly; ` +
      `RMSE E ${ours.rmse_epa} / ${theirs.rmse_epa} eV/atom, F ${ours.rmse_f_comp} / ${theirs.rmse_f_comp} eV/Å`,
  );
  for (const column of ['loss', 'rmse_epa', 'rmse_f_comp'] as const) assert.equal(ours[column], theirs[column], column);
  assert.equal(artifact.metrics.train.loss, theirs.loss);

  // What pacemaker itself wrote of that data (fitting_data_info.pckl.gzip) reads back as the same
  // 12 corrected-only results: the same content, so nothing new joins the campaign.
  const written = join(direct, 'fitting_data_info.pckl.gzip');
  const again = await trainer.updateDataset([written]);
  assert.equal(again.added, 0, 'the structures pacemaker wrote are those already in the campaign');
  assert.equal(again.duplicates, 12);
  const fresh = await new PacemakerTrainer({ config, campaignDir: join(dir, 'fresh'), toolchain, generation: 0 }).updateDataset([written]);
  assert.equal(fresh.added, 12);
  assert.equal(fresh.fittedEnergy, 'energy_corrected');

  // The trap: with data.reference_energy set, pacemaker recomputes energy_corrected from energy.
  const trap = await pacemakerIn(toolchain, join(dir, 'trap'), { ...input, data: { filename: pickle, reference_energy: 'auto' } });
  assert.notEqual(trap.exitCode, 0);
  assert.match((await readFile(join(dir, 'trap', 'pacemaker.out'), 'utf8')) + trap.tail.join('\n'), /KeyError: 'energy'/);
}

test('simulator: an energy_corrected-only pickle trains to the same loss as pacemaker directly on it', async () => {
  await sameLossAsPacemakerDirectly(simulatorToolchain());
});

test('real pacemaker: an energy_corrected-only pickle trains to the same loss as pacemaker directly on it', async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  await sameLossAsPacemakerDirectly(toolchain);
});
