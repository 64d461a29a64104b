// The files the dataset stage writes, read by the REAL pacemaker: `pacemaker --dry-run` loads
// the train and test files exactly as training will (input.yaml built by the trainer's own
// builder). Runs when MLIP_PACEMAKER (or PATH) finds a pacemaker; says so in one line otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { writeFileAtomic } from '../../../src/util/files.js';
import { DatasetStore } from '../../../src/dataset/store.js';
import { labelEmt } from '../../../src/dataset/emt.js';
import { buildPacemakerInput } from '../../../src/domain/input-yaml.js';
import { PacemakerTrainerConfig } from '../../../src/domain/schemas.js';
import { runProgram } from '../../../src/process/run-program.js';
import { runBridge } from '../../../src/dataset/bridge.js';
import { PacemakerTrainer } from '../../../src/trainer/pacemaker-trainer.js';

const COUNT_GZIP_MEMBERS = `
import sys, zlib
data, members = open(sys.argv[1], "rb").read(), 0
while data:
    d = zlib.decompressobj(31)
    d.decompress(data)
    data, members = d.unused_data, members + 1
print(members)
`;
import { realPacemakerOrSkip } from '../../helpers/real-pacemaker.js';

test('with a real pacemaker present, pacemaker --dry-run accepts the produced train and test files', async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  const dir = await mkdtemp(join(tmpdir(), 'ds-pace-'));
  const results = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')];
  await labelEmt({ out: results[0]!, count: 24, seed: 11, python: toolchain.python });
  // Big enough (64 atoms each) that the files span several gzip members.
  await labelEmt({ out: results[1]!, count: 400, seed: 12, atoms: 64, python: toolchain.python });
  const config = PacemakerTrainerConfig.parse({ elements: ['Cu', 'Ni'], cutoff: 5.0, order: 2, functions_per_element: 5, max_epochs: 5, evaluator: 'pyace', test_size: 0.25 });
  // Written by the pacemaker installation's own Python (pandas 2.0.0 there), in two appends.
  const store = new DatasetStore(join(dir, 'data', 'accumulated.pckl.gzip'), { python: toolchain.python, logFile: join(dir, 'bridge.log') }, { testFraction: config.test_size });
  await store.appendFiles([results[0]!], config.elements);
  const summary = await store.appendFiles([results[1]!, results[0]!], config.elements);
  assert.equal(summary.total, 424);
  assert.equal(summary.duplicates, 24);
  assert.ok(summary.testPath !== null, 'a test file was written');
  for (const file of [summary.path, summary.trainPath]) {
    const members = await runProgram({ command: [toolchain.python, '-c', COUNT_GZIP_MEMBERS, file], cwd: dir, logFile: join(dir, 'members.log'), captureStdout: true });
    assert.ok(Number(members.stdout.trim()) > 1, `${file} has ${members.stdout.trim()} gzip member(s); the test wants several`);
  }

  const runDir = join(dir, 'run');
  const input = buildPacemakerInput(config, { filename: summary.trainPath, testFilename: summary.testPath });
  await writeFileAtomic(join(runDir, 'input.yaml'), yaml.dump(input));
  const res = await runProgram({ command: [...toolchain.command('pacemaker'), '--dry-run', 'input.yaml'], cwd: runDir, logFile: join(dir, 'pacemaker.log'), timeoutMs: 10 * 60_000 });
  const log = await readFile(join(runDir, 'log.txt'), 'utf8');
  console.log(`pacemaker ${toolchain.version}: --dry-run exit ${res.exitCode}; ${log.split('\n').filter((l) => /Shape:|Dry run/.test(l)).map((l) => l.replace(/^.* I - /, '')).join('; ')}`);
  assert.equal(res.exitCode, 0, res.tail.join('\n'));
  assert.match(log, /Dry run is finished/);
  assert.match(log, new RegExp(`Processing structures dataframe. Shape: \\(${summary.structures.train},`));
  assert.match(log, new RegExp(`Processing structures dataframe. Shape: \\(${summary.structures.test},`));
  assert.doesNotMatch(log, /Splitting out test dataset/, 'the test set comes from the test file, not a random split');
  assert.ok((await stat(join(runDir, 'test_data_info.pckl.gzip'))).size > 0);
  // The accumulated file itself is pacemaker-readable too.
  const whole = buildPacemakerInput({ ...config, test_size: 0 }, { filename: summary.path });
  await writeFileAtomic(join(runDir, 'whole', 'input.yaml'), yaml.dump(whole));
  const res2 = await runProgram({ command: [...toolchain.command('pacemaker'), '--dry-run', 'input.yaml'], cwd: join(runDir, 'whole'), logFile: join(dir, 'pacemaker.log'), timeoutMs: 10 * 60_000 });
  assert.equal(res2.exitCode, 0, res2.tail.join('\n'));
  assert.match(await readFile(join(runDir, 'whole', 'log.txt'), 'utf8'), /Processing structures dataframe. Shape: \(424,/);
});

test('with a real pacemaker present, a fit on the stable split measures test errors on exactly the test file', async (t) => {
  const toolchain = await realPacemakerOrSkip(t);
  if (!toolchain) return;
  const dir = await mkdtemp(join(tmpdir(), 'ds-pace-fit-'));
  const results = join(dir, 'r.jsonl');
  await labelEmt({ out: results, count: 30, seed: 41, python: toolchain.python });
  const config = PacemakerTrainerConfig.parse({ elements: ['Cu', 'Ni'], cutoff: 5.0, order: 2, functions_per_element: 5, max_epochs: 3, evaluator: 'pyace', test_size: 0.3 });
  const campaignDir = join(dir, 'campaign');
  const store = new DatasetStore(join(campaignDir, 'data', 'accumulated.pckl.gzip'), { python: toolchain.python, logFile: join(dir, 'bridge.log') }, { testFraction: config.test_size });
  const data = await store.appendFiles([results], config.elements);
  assert.ok(data.testPath !== null && data.structures.test > 0);
  const trainer = new PacemakerTrainer({ config, campaignDir, toolchain, generation: 0 });
  const artifact = await trainer.train(data, null);
  assert.equal(artifact.datasetSha256, data.sha256);
  assert.ok(artifact.metrics.test !== null, 'test errors are reported');
  const pred = await runBridge('pred-metrics', ['--pred', join(trainer.generationDir, 'test_pred.pckl.gzip')], { python: toolchain.python, logFile: join(dir, 'bridge.log') });
  assert.equal(pred.structures, data.structures.test, 'pacemaker predicted exactly the structures of the test file');
  console.log(`real pacemaker fit on ${data.structures.train} train / ${data.structures.test} test structures: test force RMSE ${artifact.metrics.test.force_rmse_mev_per_a.toFixed(1)} meV/Å`);
});
