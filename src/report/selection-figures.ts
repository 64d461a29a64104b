/**
 * The selection figures of the report: for each selection, every pool structure's
 * extrapolation grade (gamma) with the selected ones marked by how they were chosen, and the
 * counts chosen by pace_select and by gamma. Pure, like figures.ts.
 */
import type { CampaignReport } from './model.js';
import { base, genLabel, WIDTH, type Figure } from './figure-base.js';

/** Each selection: every pool structure's gamma, the selected ones by how they were chosen; and the counts. */
export function selectionFigures(r: CampaignReport): Figure[] {
  const gens = r.generations.filter((g) => g.selection !== null);
  if (gens.length === 0) return [];
  const simulated = gens.some((g) => g.simulated);
  const points: Record<string, unknown>[] = [];
  const ranges: Record<string, unknown>[] = [];
  for (const g of gens) {
    const s = g.selection!;
    const label = genLabel(g);
    if (g.poolGamma) {
      const chosen = new Map(
        g.poolGamma.selected.map((i, k) => [i, g.poolGamma!.chosenBy[k] ?? 'pace_select']),
      );
      g.poolGamma.gammaMax.forEach((gamma, i) => {
        if (gamma === null) return;
        const by = chosen.get(i);
        points.push({
          generation: label,
          gamma,
          status: by === undefined ? 'pool' : `selected by ${by}`,
          description: `${g.version} pool #${i} gamma ${gamma}${by ? ` selected by ${by}` : ''}`,
        });
      });
    } else if (s.poolGamma && s.poolGamma.min !== null && s.poolGamma.max !== null) {
      ranges.push({
        generation: label,
        min: s.poolGamma.min,
        max: s.poolGamma.max,
        median: s.poolGamma.median,
      });
      s.gammaMax.forEach((gamma, k) => {
        if (gamma !== null)
          points.push({
            generation: label,
            gamma,
            status: `selected by ${s.chosenBy[k] ?? 'pace_select'}`,
            description: `${g.version} selected #${s.indices[k]} gamma ${gamma}`,
          });
      });
    }
  }
  const order = gens.map(genLabel);
  // Drawn at random (pool.randomFraction) only when some selection did: older reports stay as they were.
  const anyRandom = gens.some((g) => (g.selection?.counts.random ?? 0) > 0);
  const statusScale = {
    domain: ['pool', 'selected by pace_select', 'selected by gamma', ...(anyRandom ? ['selected by random'] : [])],
    range: ['#bbbbbb', '#1f77b4', '#ff7f0e', ...(anyRandom ? ['#2ca02c'] : [])],
  };
  const figures: Figure[] = [];
  if (points.length > 0 || ranges.length > 0) {
    const layers: Record<string, unknown>[] = [
      {
        data: { values: [{ gamma: 1 }] },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#b00020' },
        encoding: { x: { field: 'gamma', type: 'quantitative' } },
      },
    ];
    if (ranges.length > 0) {
      layers.push({
        data: { values: ranges },
        mark: { type: 'rule', strokeWidth: 6, opacity: 0.35, color: '#888' },
        encoding: {
          y: { field: 'generation', type: 'ordinal', sort: order },
          x: { field: 'min', type: 'quantitative' },
          x2: { field: 'max' },
        },
      });
    }
    layers.push({
      data: { values: points },
      mark: { type: 'point', filled: true, opacity: 0.8 },
      encoding: {
        y: { field: 'generation', type: 'ordinal', sort: order, title: 'selection of' },
        yOffset: { field: 'status', type: 'nominal', sort: statusScale.domain },
        x: {
          field: 'gamma',
          type: 'quantitative',
          title: 'extrapolation grade gamma (max over atoms)',
          scale: { type: 'symlog' },
        },
        color: { field: 'status', type: 'nominal', title: 'structure', scale: statusScale },
        description: { field: 'description' },
      },
    });
    figures.push({
      name: 'selection-gamma',
      title: 'Extrapolation grade of the pool and the selected structures',
      caption:
        "Each pool structure's largest gamma against the potential's active set (grey), and the structures selected for labelling, by pace_select (D-optimality) or filled up by largest gamma. Gamma above 1 (red line) is extrapolation. A grey bar is the pool's range when only its summary was recorded.",
      spec: {
        ...base('Gamma: pool against selected', simulated),
        width: WIDTH,
        height: { step: 36 },
        layer: layers,
      },
    });
  }
  const counts = gens.flatMap((g) => [
    {
      generation: genLabel(g),
      by: 'pace_select',
      count: g.selection!.counts.pace_select,
      description: `${g.version} selected by pace_select: ${g.selection!.counts.pace_select}`,
    },
    {
      generation: genLabel(g),
      by: 'gamma',
      count: g.selection!.counts.gamma,
      description: `${g.version} selected by gamma: ${g.selection!.counts.gamma}`,
    },
    ...(anyRandom
      ? [
          {
            generation: genLabel(g),
            by: 'random',
            count: g.selection!.counts.random ?? 0,
            description: `${g.version} selected at random: ${g.selection!.counts.random ?? 0}`,
          },
        ]
      : []),
  ]);
  figures.push({
    name: 'selection-counts',
    title: 'Structures selected, by pace_select and by gamma',
    caption:
      'How many structures each selection took from pace_select and how many it filled up by largest gamma (pace_select may return fewer than asked).',
    spec: {
      ...base('Selected: by pace_select and by gamma', simulated),
      width: WIDTH * 0.7,
      height: { step: 26 },
      data: { values: counts },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'generation', type: 'ordinal', sort: order, title: 'selection of' },
        x: { field: 'count', type: 'quantitative', title: 'structures', stack: 'zero' },
        color: {
          field: 'by',
          type: 'nominal',
          title: 'chosen by',
          scale: { domain: ['pace_select', 'gamma', ...(anyRandom ? ['random'] : [])], range: ['#1f77b4', '#ff7f0e', ...(anyRandom ? ['#2ca02c'] : [])] },
        },
        description: { field: 'description' },
      },
    },
  });
  return figures;
}
