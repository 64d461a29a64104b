/**
 * The report's figures as Vega-Lite specs, built from a CampaignReport. Pure: no files, no
 * rendering (render.ts does that), so the numbers each figure holds are unit-tested here.
 *
 * Every mark that carries a number the reader compares (an RMSE, a gamma) also carries a
 * `description` (the SVG's aria-label): the figure states its own numbers at full precision,
 * for screen readers and for the test that checks them against the artifacts.
 */
import type { CampaignReport } from './model.js';
import { base, genLabel, lineageLabel, WIDTH, type Figure } from './figure-base.js';
import { predictionFigures } from './prediction-figures.js';
import { selectionFigures } from './selection-figures.js';

export { lineageLabel, predictionFigures, selectionFigures };
export type { Figure, VegaLiteSpec } from './figure-base.js';

/** Test and train RMSE, energy and force, per generation; the x labels carry the lineage. */
export function rmseFigure(r: CampaignReport): Figure | null {
  const trained = r.generations.filter((g) => g.metrics !== null);
  if (trained.length === 0) return null;
  const rows: Record<string, unknown>[] = [];
  for (const g of trained) {
    const sets = [
      ['train', g.metrics!.train],
      ['test', g.metrics!.test],
    ] as const;
    for (const [set, m] of sets) {
      if (!m) continue;
      for (const [quantity, value, unit] of [
        ['energy', m.energy_rmse_mev_per_atom, 'meV/atom'],
        ['force', m.force_rmse_mev_per_a, 'meV/Å'],
      ] as const) {
        rows.push({
          generation: lineageLabel(g),
          version: g.version,
          set,
          quantity,
          rmse: value,
          simulated: g.simulated ? 'simulated' : 'pacemaker',
          description: `${g.version} ${set} ${quantity} RMSE ${value} ${unit}${g.simulated ? ' (simulated)' : ''}`,
        });
      }
    }
  }
  const order = trained.map(lineageLabel);
  const panel = (quantity: 'energy' | 'force', unit: string) => ({
    width: WIDTH / 1.3,
    height: 240,
    transform: [{ filter: `datum.quantity === '${quantity}'` }],
    mark: { type: 'line', point: { filled: true, size: 70 } },
    encoding: {
      x: {
        field: 'generation',
        type: 'ordinal',
        sort: order,
        title: 'generation (← parent, how)',
        axis: { labelAngle: -30, labelLimit: 220 },
      },
      y: {
        field: 'rmse',
        type: 'quantitative',
        title: `${quantity} RMSE (${unit})`,
        scale: { zero: false },
      },
      color: {
        field: 'set',
        type: 'nominal',
        title: 'set',
        scale: { domain: ['test', 'train'], range: ['#d62728', '#1f77b4'] },
      },
      shape: {
        field: 'simulated',
        type: 'nominal',
        title: 'trainer',
        scale: { domain: ['pacemaker', 'simulated'], range: ['circle', 'cross'] },
      },
      description: { field: 'description' },
    },
  });
  return {
    name: 'rmse',
    title: 'RMSE per generation',
    caption:
      "Train and test RMSE of each generation's potential (energy per atom, force per component). Each label names the parent it was fine-tuned from and how (continue, extend, reset), or scratch.",
    spec: {
      ...base(
        'RMSE per generation',
        trained.some((g) => g.simulated),
      ),
      data: { values: rows },
      hconcat: [panel('energy', 'meV/atom'), panel('force', 'meV/Å')],
    },
  };
}

/** Each generation's train force RMSE over iterations across its runs; resumes and stops marked. */
export function learningCurveFigure(r: CampaignReport): Figure | null {
  const gens = r.generations.filter((g) => g.curve.length > 0).slice(-8);
  if (gens.length === 0) return null;
  const charts = gens.map((g) => {
    const curve = g.curve.map((p) => ({ ...p, run: `run ${p.run}` }));
    const resumes = g.runs
      .filter((s) => s.offset > 0)
      .map((s) => ({ iteration: s.offset, label: `resume (run ${s.run})` }));
    const last = g.curve.at(-1)!;
    const stop = g.stoppedEarly
      ? {
          iteration: g.stoppedEarly.iteration ?? last.iteration,
          label: `stopped early${g.stoppedEarly.reason ? `: ${g.stoppedEarly.reason}` : ''}`,
        }
      : { iteration: last.iteration, label: 'end of fit' };
    const stopAt = g.curve.find((p) => p.iteration === stop.iteration) ?? last;
    const layers: Record<string, unknown>[] = [
      {
        data: { values: curve },
        mark: { type: 'line' },
        encoding: {
          x: { field: 'iteration', type: 'quantitative', title: 'iteration (across runs)' },
          y: {
            field: 'forceRmse',
            type: 'quantitative',
            title: 'train force RMSE (meV/Å)',
            scale: { type: 'log' },
          },
          color: { field: 'run', type: 'nominal', title: 'run' },
        },
      },
      {
        data: {
          values: [
            {
              ...stop,
              forceRmse: stopAt.forceRmse,
              description: `${g.version} ${stop.label} at iteration ${stop.iteration}`,
            },
          ],
        },
        mark: { type: 'point', shape: 'square', size: 90, filled: true, color: 'black' },
        encoding: {
          x: { field: 'iteration', type: 'quantitative' },
          y: { field: 'forceRmse', type: 'quantitative' },
          description: { field: 'description' },
        },
      },
      {
        data: { values: [{ ...stop, forceRmse: stopAt.forceRmse }] },
        mark: { type: 'text', align: 'right', dx: -6, dy: -8, fontSize: 10 },
        encoding: {
          x: { field: 'iteration', type: 'quantitative' },
          y: { field: 'forceRmse', type: 'quantitative' },
          text: { field: 'label' },
        },
      },
    ];
    if (resumes.length > 0) {
      layers.push(
        {
          data: { values: resumes },
          mark: { type: 'rule', strokeDash: [4, 3], color: '#555' },
          encoding: { x: { field: 'iteration', type: 'quantitative' } },
        },
        {
          data: { values: resumes },
          mark: { type: 'text', angle: 270, align: 'left', dx: 4, dy: -4, fontSize: 10, y: 4 },
          encoding: { x: { field: 'iteration', type: 'quantitative' }, text: { field: 'label' } },
        },
      );
    }
    return {
      title: lineageLabel(g) + (g.simulated ? ' — simulated' : ''),
      width: WIDTH,
      height: 160,
      layer: layers,
    };
  });
  return {
    name: 'learning-curves',
    title: 'Learning curves',
    caption:
      'Train force RMSE per iteration, counted across the runs of a generation (a resumed run continues the count). Dashed lines: a run resumed from a checkpoint; square: where the fit ended or was stopped.',
    spec: {
      ...base(
        'Learning curves',
        gens.some((g) => g.simulated),
      ),
      vconcat: charts,
      resolve: { scale: { color: 'independent' } },
    },
  };
}

/** Atoms in the dataset after each generation's update, per element and split (cumulative). */
export function datasetFigure(r: CampaignReport): Figure | null {
  const history = r.dataset?.history ?? [];
  if (history.length === 0) return null;
  const totals = new Map<string, number>();
  const rows: Record<string, unknown>[] = [];
  const byGeneration = new Map<string, DatasetRowTotals>();
  for (const h of history) {
    const label = h.generation === null ? 'outside a generation' : `gen ${h.generation}`;
    const elements = h.elements ?? {
      '(element not recorded)': { structures: h.added, atoms: { train: 0, test: 0 } },
    };
    for (const [el, c] of Object.entries(elements)) {
      for (const split of ['train', 'test'] as const) {
        const key = `${el}|${split}`;
        // Older updates did not count atoms per element: count their structures instead.
        totals.set(
          key,
          (totals.get(key) ?? 0) + (h.elements ? c.atoms[split] : c.structures[split]),
        );
      }
    }
    byGeneration.set(label, new Map(totals));
  }
  for (const [label, t] of byGeneration) {
    for (const [key, atoms] of t) {
      const [element, split] = key.split('|') as [string, string];
      rows.push({
        generation: label,
        element,
        split,
        atoms,
        description: `${label} ${split} ${element}: ${atoms} atoms`,
      });
    }
  }
  return {
    name: 'dataset-growth',
    title: 'Dataset growth',
    caption: `Atoms in the campaign's dataset after each generation's update, by element, train and test. Now: ${r.dataset!.total} structures (train ${r.dataset!.train}, test ${r.dataset!.test}).`,
    spec: {
      ...base('Dataset growth (cumulative atoms)', false),
      data: { values: rows },
      facet: {
        column: { field: 'split', type: 'nominal', title: 'split', sort: ['train', 'test'] },
      },
      spec: {
        width: WIDTH * 0.6,
        height: 220,
        mark: { type: 'bar' },
        encoding: {
          x: {
            field: 'generation',
            type: 'ordinal',
            sort: [...byGeneration.keys()],
            title: 'after',
            axis: { labelAngle: 0 },
          },
          y: { field: 'atoms', type: 'quantitative', title: 'atoms', stack: 'zero' },
          color: { field: 'element', type: 'nominal', title: 'element' },
          description: { field: 'description' },
        },
      },
    },
  };
}
type DatasetRowTotals = Map<string, number>;

/** Wall time per stage per generation (stage journal), or the programs' own time for older ones. */
export function stageTimeFigure(r: CampaignReport): Figure | null {
  const rows: Record<string, unknown>[] = [];
  for (const g of r.generations) {
    const label = genLabel(g);
    if (g.stages.length > 0) {
      for (const s of g.stages)
        rows.push({
          generation: label,
          stage: s.stage,
          seconds: s.seconds,
          description: `${g.version} ${s.stage}: ${s.seconds.toFixed(1)} s in ${s.attempts} attempt(s)`,
        });
    } else {
      for (const [k, v] of Object.entries(g.programSeconds))
        rows.push({
          generation: label,
          stage: `${k} (program time)`,
          seconds: v,
          description: `${g.version} ${k} program: ${v.toFixed(1)} s`,
        });
    }
  }
  if (rows.length === 0) return null;
  return {
    name: 'stage-times',
    title: 'Time per stage',
    caption:
      "Wall time each generation spent in each stage, from its stage journal (attempts summed, waits between retries not counted). Older generations without a journal show the programs' own run time.",
    spec: {
      ...base(
        'Time per stage',
        r.generations.some((g) => g.simulated),
      ),
      width: WIDTH,
      height: { step: 26 },
      data: { values: rows },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'generation', type: 'ordinal', sort: r.generations.map(genLabel), title: null },
        x: { field: 'seconds', type: 'quantitative', title: 'wall time (s)', stack: 'zero' },
        color: { field: 'stage', type: 'nominal', title: 'stage' },
        description: { field: 'description' },
      },
    },
  };
}

/** Every figure the campaign has data for, in the page's order. */
export function campaignFigures(r: CampaignReport): Figure[] {
  return [
    rmseFigure(r),
    learningCurveFigure(r),
    ...predictionFigures(r),
    datasetFigure(r),
    ...selectionFigures(r),
    stageTimeFigure(r),
  ].filter((f): f is Figure => f !== null);
}
