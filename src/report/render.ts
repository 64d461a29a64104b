/**
 * Renders a Vega-Lite spec to SVG in Node: vega-lite compiles it to a Vega spec and a headless
 * Vega view (no canvas, no browser, no network) writes the SVG. Text is measured by Vega's
 * estimate when no canvas package is installed, which is close enough for axis labels.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { VegaLiteSpec } from './figures.js';

export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const compiled = compile(spec as unknown as TopLevelSpec).spec;
  const view = new View(parse(compiled), { renderer: 'none', logLevel: 0 });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
