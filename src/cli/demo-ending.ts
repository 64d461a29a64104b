/**
 * How the demo ends: like the last page of a tutorial. A short table of what was trained, the
 * paths that matter (the `.yace`, the report, the artifact), and how to look at it now: the UI
 * still up with `--keep`, or how to reopen it on the same database. Pure, so it is unit-tested.
 */
import type { GenerationArtifact } from '../domain/generation-result.js';

export interface DemoEnding {
  artifact: GenerationArtifact;
  workflowId: string;
  namespace: string;
  /** The Web UI's address while the stack runs; null when the UI is off. */
  uiUrl: string | null;
  /** The dev server's database file (temporal-dev.yml's server.dbFile). */
  dbFile: string;
  /** The report's index.html, when --report made one. */
  report: string | null;
  keep: boolean;
}

const f2 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(2));

/** Columns padded to their widest cell. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
}

export function demoEnding(o: DemoEnding): string[] {
  const a = o.artifact;
  const m = a.metrics;
  const lines = [
    '',
    `Done: ${a.version} of ${o.workflowId.replace(/^train-/, '').replace(/-generation_\d+$/, '')}, ${a.parentVersion ? `fine-tuned from ${a.parentVersion}` : 'trained from scratch'}.`,
    '',
    ...table([
      [
        'generation',
        'train E meV/atom',
        'train F meV/Å',
        'test E meV/atom',
        'test F meV/Å',
        'trained by',
      ],
      [
        a.version,
        f2(m.train.energy_rmse_mev_per_atom),
        f2(m.train.force_rmse_mev_per_a),
        f2(m.test?.energy_rmse_mev_per_atom),
        f2(m.test?.force_rmse_mev_per_a),
        a.simulated ? 'SIMULATOR (not physics)' : 'pacemaker',
      ],
    ]).map((l) => `  ${l}`),
  ];
  if (a.simulated)
    lines.push(
      '',
      '  The pacemaker simulator stood in for pacemaker: the numbers show the pipeline working, not a physical potential.',
    );
  lines.push(
    '',
    'Files:',
    `  potential (LAMMPS .yace): ${a.path}`,
    `  report:                   ${o.report ?? '(none: run with --report, or `npx mlip-trainer report --campaign <campaign>`)'}`,
    `  artifact:                 ${a.path.replace(/[^/]+$/, 'artifact.json')} (--json prints it in full)`,
    '',
    'Look at it now:',
  );
  const page = o.uiUrl ? `${o.uiUrl}/namespaces/${o.namespace}/workflows/${o.workflowId}` : null;
  if (o.keep) {
    lines.push(`  Temporal UI (stays up until Ctrl-C): ${page ?? 'off in temporal-dev.yml'}`);
  } else {
    lines.push(
      `  The server stopped with the demo; its history is kept in ${o.dbFile}.`,
      '  Reopen the UI on the same database with `npx mlip-trainer dev` (Ctrl-C stops it), then open',
      `  ${page ?? 'the UI (off in temporal-dev.yml)'}`,
      '  Or run the demo with --keep to leave the UI up.',
    );
  }
  return lines;
}
