/** The human summary of a selection, shared by `select` and `train --pool ... --wait`. */
import type { ActiveSetSelection } from '../domain/schemas.js';

function fmt(v: number | null | undefined): string {
  return v === null || v === undefined ? 'n/a' : v.toFixed(3);
}

/** Counts by how chosen, gamma, what it selected with, and where the selected pickle and indices are. */
export function selectionSummary(r: ActiveSetSelection): string[] {
  const lines = [
    `selected ${r.indices.length} of ${r.poolSize} structures (n = ${r.requested})${r.simulated ? '  [SIMULATED: pacemaker simulator]' : ''}`,
    `  by pace_select (D-optimality): ${r.counts.pace_select}   (pace_select returned ${r.paceSelectReturned} for -m ${r.requested - (r.strategy?.random ?? 0)})`,
    `  by largest extrapolation grade: ${r.counts.gamma}   (pace_select ran ${r.via ?? 'program'})`,
  ];
  if (r.strategy && r.strategy.random > 0) lines.push(`  at random (batch diversity): ${r.counts.random}   (seed ${r.strategy.seed})`);
  if (r.candidates) {
    lines.push(`  candidates under gamma thresholds [${r.strategy?.gammaMin ?? 0}, ${r.strategy?.gammaMax ?? 'inf'}]: ${r.candidates.kept} (${r.candidates.below} below, ${r.candidates.above} above)`);
  }
  if (r.gamma) lines.push(`  gamma of the selected: min ${fmt(r.gamma.min)}  median ${fmt(r.gamma.median)}  max ${fmt(r.gamma.max)}  (> 1: ${r.gamma.aboveOne})`);
  if (r.poolGamma) lines.push(`  gamma over the pool:   min ${fmt(r.poolGamma.min)}  median ${fmt(r.poolGamma.median)}  max ${fmt(r.poolGamma.max)}`);
  lines.push(
    `potential  ${r.potential}${r.unfittedPotential ? ' (unfitted shape from pacemaker --dry-run: generation 0)' : ''}`,
    `active set ${r.activeSet ?? '(none)'}`,
    `selected   ${r.selected.path}`,
    `indices    ${r.indicesFile}: ${JSON.stringify(r.indices.slice(0, 20))}${r.indices.length > 20 ? ' ...' : ''}`,
  );
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines;
}
