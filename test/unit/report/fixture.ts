// A small campaign as the report reads it: three simulated generations (scratch, continue,
// extend), one resumed fit, a selection, the dataset's history and the newest predictions.
import type { CampaignReport, GenerationReport } from '../../../src/report/model.js';
import type { ErrorMetrics } from '../../../src/domain/schemas.js';

const metrics = (f: number): ErrorMetrics =>
  ({
    energy_rmse_mev_per_atom: f / 10,
    force_rmse_mev_per_a: f,
    energy_mae_mev_per_atom: f / 20,
    force_mae_mev_per_a: f / 2,
    iterations: 5,
  }) as ErrorMetrics;

function generation(g: number, over: Partial<GenerationReport> = {}): GenerationReport {
  return {
    version: `generation_00${g}`,
    generation: g,
    kind: 'potential',
    parentVersion: g === 0 ? null : `generation_00${g - 1}`,
    start: g === 0 ? 'scratch' : 'continue',
    simulated: true,
    metrics: { train: metrics(100 - 20 * g), test: metrics(110.123456789 - 20 * g) },
    path: `/ws/c/potentials/generation_00${g}/output_potential.yace`,
    stoppedEarly: null,
    curve: [0, 1, 2, 3].map((i) => ({
      iteration: i,
      run: 1,
      loss: 1 / (i + 1),
      energyRmse: 10 - i,
      forceRmse: 100 - 10 * i,
    })),
    runs: [{ run: 1, offset: 0, outcome: 'completed', failure: null }],
    selection: null,
    poolGamma: null,
    stages: [{ stage: 'training', seconds: 12.5, attempts: 1 }],
    programSeconds: {},
    ...over,
  };
}

export function campaignFixture(): CampaignReport {
  return {
    campaign: 'c',
    campaignDir: '/ws/c',
    elements: ['Cu', 'Ni'],
    made: '2026-12-03T10:00:00.000Z',
    generations: [
      generation(0),
      generation(1, {
        curve: [0, 1, 2, 3, 4, 5].map((i) => ({
          iteration: i,
          run: i < 3 ? 1 : 2,
          loss: 1,
          energyRmse: 5,
          forceRmse: 80 - i,
        })),
        runs: [
          { run: 1, offset: 0, outcome: 'failed', failure: 'killed' },
          { run: 2, offset: 3, outcome: 'completed', failure: null },
        ],
      }),
      generation(2, {
        start: 'extend',
        stoppedEarly: { iteration: 2, reason: 'good enough' },
        selection: {
          pool: '/p.jsonl',
          poolSize: 4,
          requested: 2,
          indices: [3, 1],
          chosenBy: ['pace_select', 'gamma'],
          gammaMax: [2.5, 1.5],
          counts: { pace_select: 1, gamma: 1 },
          paceSelectReturned: 1,
          gamma: null,
          poolGamma: null,
          selected: { path: '/ws/c/selections/generation_002/selected.pckl.gzip', sha256: 'x' },
          indicesFile: '/i.json',
          potential: '/p.yaml',
          unfittedPotential: false,
          activeSet: null,
          memoryLimit: '2GB',
          warnings: [],
          simulated: true,
        } as unknown as GenerationReport['selection'],
        poolGamma: {
          gammaMax: [0.5, 1.5, null, 2.5],
          selected: [3, 1],
          chosenBy: ['pace_select', 'gamma'],
        },
      }),
    ],
    dataset: {
      total: 9,
      train: 8,
      test: 1,
      history: [0, 1, 2].map((g) => ({
        generation: g,
        time: 't',
        added: { train: 3, test: g === 2 ? 1 : 0 },
        elements: {
          Cu: { structures: { train: 3, test: 0 }, atoms: { train: 10, test: g === 2 ? 2 : 0 } },
          Ni: { structures: { train: 2, test: 0 }, atoms: { train: 6, test: 0 } },
        },
      })),
    },
    newest: {
      version: 'generation_002',
      set: 'test',
      simulated: true,
      arrays: {
        source: '/t.pckl.gzip',
        reference: 'energy_corrected',
        structures: 2,
        atoms: 3,
        elementsKnown: true,
        energy: { reference: [-1, -2], predicted: [-1.01, -1.98], natoms: [1, 2] },
        forces: {
          element: ['Cu', 'Cu', 'Ni'],
          reference: [0.1, -0.2, 0.3],
          predicted: [0.12, -0.21, 0.28],
          sampled: 3,
          total: 9,
        },
        errors: {
          energy_rmse_mev_per_atom: 15.8,
          energy_mae_mev_per_atom: 15,
          force_rmse_mev_per_a: 70.123456789,
          force_mae_mev_per_a: 17,
          perElement: {
            Cu: { force_rmse_mev_per_a: 15.8, force_mae_mev_per_a: 15, components: 2, atoms: 1 },
            Ni: { force_rmse_mev_per_a: 20, force_mae_mev_per_a: 20, components: 1, atoms: 1 },
          },
        },
      },
    },
  };
}
