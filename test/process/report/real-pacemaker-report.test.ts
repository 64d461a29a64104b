// The report of a campaign trained by the REAL pacemaker (MLIP_PACEMAKER=/path/bin or pacemaker on
// PATH): two generations (scratch, then a fine-tune on more data), read from pacemaker's own
// prediction pickles. Without one it prints `skipped: no pacemaker` and skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelEmt } from '../../../src/dataset/emt.js';
import { PacemakerTrainerConfig } from '../../../src/domain/schemas.js';
import { PacemakerTrainer } from '../../../src/trainer/pacemaker-trainer.js';
import { buildReport } from '../../../src/report/build-report.js';
import { realPacemakerOrSkip } from '../../helpers/real-pacemaker.js';
import { findChromium, openInChromium } from '../../helpers/chromium.js';
import { SMALL } from '../trainer/helpers.js';

const owner = { workflowId: 'real-report', activityId: '1', attempt: 1 };

test("real pacemaker: the report of a two-generation campaign shows the artifacts' test RMSE and pacemaker's own predictions, and opens in Chromium", async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  const dir = await mkdtemp(join(tmpdir(), 'mlip-report-real-'));
  const campaignDir = join(dir, 'campaign');
  const trainer = (generation: number, maxEpochs: number, parentVersion: string | null = null) =>
    new PacemakerTrainer({
      config: PacemakerTrainerConfig.parse({
        ...SMALL,
        functions_per_element: 10,
        max_epochs: maxEpochs,
        test_size: 0.25,
      }),
      campaignDir,
      toolchain,
      generation,
      parentVersion,
    });
  const first = join(dir, 'first.jsonl');
  const more = join(dir, 'more.jsonl');
  await labelEmt({ out: first, count: 8, seed: 31, python: toolchain.python });
  await labelEmt({ out: more, count: 8, seed: 32, python: toolchain.python });
  const s0 = await trainer(0, 5).updateDataset([first]);
  const g0 = await trainer(0, 5).train(
    { trainPath: s0.trainPath, testPath: s0.testPath, sha256: s0.sha256 },
    null,
    { owner },
  );
  const s1 = await trainer(1, 3, g0.version).updateDataset([more]);
  const g1 = await trainer(1, 3, g0.version).train(
    { trainPath: s1.trainPath, testPath: s1.testPath, sha256: s1.sha256 },
    { path: g0.potentialYaml, mode: 'continue' },
    { owner },
  );

  const report = await buildReport({ campaignDir, python: toolchain.python });
  assert.deepEqual(report.notes, []);
  const svg = await readFile(join(campaignDir, 'report', 'figures', 'rmse.svg'), 'utf8');
  for (const a of [g0, g1]) {
    assert.ok(!a.simulated);
    const label = new RegExp(`aria-label="${a.version} test force RMSE ([-0-9.e+]+) meV/Å"`).exec(
      svg,
    );
    assert.equal(Number(label?.[1]), a.metrics.test!.force_rmse_mev_per_a);
  }
  const html = await readFile(report.html, 'utf8');
  assert.doesNotMatch(html, /id="simulated"/);
  const data = JSON.parse(/id="report-data">(.*?)<\/script>/s.exec(html)![1]!) as {
    newest: {
      version: string;
      errors: { force_rmse_mev_per_a: number; perElement: Record<string, unknown> };
    };
  };
  assert.equal(data.newest.version, 'generation_001');
  assert.ok(
    Math.abs(data.newest.errors.force_rmse_mev_per_a - g1.metrics.test!.force_rmse_mev_per_a) <=
      1e-6 * g1.metrics.test!.force_rmse_mev_per_a,
  );
  assert.deepEqual(
    Object.keys(data.newest.errors.perElement).sort(),
    ['Cu', 'Ni'],
    "each atom's element joined from the dataset",
  );
  console.log(
    `real pacemaker report: generation_001 test F ${g1.metrics.test!.force_rmse_mev_per_a.toFixed(1)} meV/Å; ${report.figures.length} figures`,
  );
  const chromium = await findChromium();
  if (chromium === null) {
    console.log('skipped: no chromium (the page was not opened)');
    return;
  }
  const page = await openInChromium(chromium, report.html);
  assert.deepEqual([page.problems, page.network], [[], []]);
});
