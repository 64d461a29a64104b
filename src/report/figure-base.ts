/**
 * What every figure of the report shares: its shape, the title that marks simulated potentials,
 * the generation labels with their lineage. Pure.
 */
import type { GenerationReport } from './model.js';

/** A Vega-Lite spec (top level); kept loose here, checked by vega-lite's compiler when rendered. */
export type VegaLiteSpec = Record<string, unknown>;

export interface Figure {
  /** File name without extension: `rmse`, `parity-force`, ... */
  name: string;
  title: string;
  /** One sentence under the figure: what it shows and how to read it. */
  caption: string;
  spec: VegaLiteSpec;
}

export const SIM = ' [SIMULATED potentials]';
export const WIDTH = 420;

export function genLabel(g: Pick<GenerationReport, 'generation' | 'simulated'>): string {
  return `gen ${g.generation}${g.simulated ? ' (sim)' : ''}`;
}

/** `gen 2 ← gen 1 (continue)`, `gen 0 (scratch)`: the lineage in the axis label. */
export function lineageLabel(g: GenerationReport): string {
  if (g.kind === 'selection-only') return `gen ${g.generation} (selection only)`;
  if (g.parentVersion === null)
    return `gen ${g.generation} (${g.start === 'scratch' ? 'scratch' : g.start})`;
  const parent = /generation_(\d+)/.exec(g.parentVersion);
  return `gen ${g.generation} ← ${parent ? `gen ${Number(parent[1])}` : g.parentVersion} (${g.start})`;
}

export function titled(title: string, simulated: boolean): string {
  return simulated ? title + SIM : title;
}

export const base = (title: string, simulated: boolean) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: {
    text: titled(title, simulated),
    anchor: 'start',
    ...(simulated ? { color: '#b00020' } : {}),
  },
  config: { font: 'sans-serif', view: { stroke: '#ddd' } },
});
