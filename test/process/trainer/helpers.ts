/** A campaign folder with EMT-labelled Cu/Ni data and a PacemakerTrainer on it, for trainer tests. */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelEmt } from '../../../src/dataset/emt.js';
import { PacemakerTrainerConfig, type PacemakerTrainerConfigInput } from '../../../src/domain/schemas.js';
import type { Toolchain } from '../../../src/pacemaker/toolchain.js';
import { PacemakerTrainer } from '../../../src/trainer/pacemaker-trainer.js';
import type { TrainingData } from '../../../src/dataset/store.js';

export const SMALL: PacemakerTrainerConfigInput = {
  elements: ['Cu', 'Ni'],
  cutoff: 5.0,
  order: 2,
  functions_per_element: 5,
  max_epochs: 20,
  evaluator: 'pyace',
  test_size: 0,
};

export interface Campaign {
  dir: string;
  data: TrainingData;
  trainer(o?: { generation?: number; config?: Partial<PacemakerTrainerConfigInput>; env?: Record<string, string>; parentVersion?: string | null }): PacemakerTrainer;
}

export async function makeCampaign(toolchain: Toolchain, count = 4, seed = 3): Promise<Campaign> {
  const dir = await mkdtemp(join(tmpdir(), 'mlip-trainer-'));
  const results = join(dir, 'results.jsonl');
  await labelEmt({ out: results, count, elements: ['Cu', 'Ni'], seed, python: toolchain.python });
  const make: Campaign['trainer'] = (o = {}) =>
    new PacemakerTrainer({
      config: PacemakerTrainerConfig.parse({ ...SMALL, ...(o.config ?? {}) }),
      campaignDir: join(dir, 'campaign'),
      toolchain,
      generation: o.generation ?? 0,
      parentVersion: o.parentVersion ?? null,
      ...(o.env ? { env: o.env } : {}),
    });
  const summary = await make().updateDataset([results]);
  return { dir, data: { trainPath: summary.trainPath, testPath: summary.testPath, sha256: summary.sha256 }, trainer: make };
}

/** Iteration numbers the simulator logged (PACEMAKER_SIM_ITER_LOG), across runs. */
export async function iterationLog(file: string): Promise<number[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.startsWith('iteration '))
    .map((l) => Number(l.slice('iteration '.length)));
}

export async function runsOf(dir: string): Promise<Record<string, unknown>[]> {
  return (await readFile(join(dir, 'runs.jsonl'), 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
