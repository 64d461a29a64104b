/**
 * The report page: one self-contained HTML file (inline CSS and SVG, no script, no link to
 * anything but the figure files beside it), so it opens from a laptop, a mail attachment or a
 * cluster's file browser with no network. Pure: it assembles strings.
 *
 * Its numbers are also in a JSON block (`<script type="application/json" id="report-data">`, which
 * browsers never run) and in each cell's `data-value`, at full precision, for tools and tests.
 */
import type { Figure } from './figures.js';
import { lineageLabel } from './figures.js';
import type { CampaignReport } from './model.js';

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** JSON safe inside a script element: no `</script>` or `<!--` can end it early. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

function num(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined) return '<td class="n">–</td>';
  return `<td class="n" data-value="${v}">${v.toFixed(digits)}</td>`;
}

/** The numbers behind the headline table, as the page's JSON block holds them. */
export function reportData(r: CampaignReport) {
  return {
    campaign: r.campaign,
    made: r.made,
    generations: r.generations.map((g) => ({
      version: g.version,
      kind: g.kind,
      parentVersion: g.parentVersion,
      start: g.start,
      simulated: g.simulated,
      path: g.path,
      metrics: g.metrics,
      stoppedEarly: g.stoppedEarly,
      selection: g.selection
        ? {
            requested: g.selection.requested,
            counts: g.selection.counts,
            poolSize: g.selection.poolSize,
            selected: g.selection.selected.path,
          }
        : null,
    })),
    dataset: r.dataset
      ? { total: r.dataset.total, train: r.dataset.train, test: r.dataset.test }
      : null,
    newest: r.newest
      ? {
          version: r.newest.version,
          set: r.newest.set,
          simulated: r.newest.simulated,
          errors: r.newest.arrays.errors,
        }
      : null,
  };
}

/** A path under the campaign folder as the folder names it (the header gives the folder). */
function relative(dir: string, path: string): string {
  return path.startsWith(dir + '/') ? path.slice(dir.length + 1) : path;
}

const STYLE = `
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} .meta{color:#666;margin-top:0}
.sim{background:#fde8eb;border:2px solid #b00020;color:#7a0016;padding:.6rem 1rem;border-radius:6px;font-weight:600}
table{border-collapse:collapse;margin:1rem 0;font-size:.92rem} th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums} tr.simulated td:first-child::after{content:" (simulated)";color:#b00020}
figure{margin:2rem 0;overflow-x:auto} figcaption{color:#444;max-width:60rem;font-size:.92rem} nav a{margin-right:.8rem}
code{background:#f4f4f4;padding:0 .2rem} td code{word-break:break-all}
`;

/** The whole page: header, simulated banner, headline table, figures (inline SVG), JSON block. */
export function reportPage(
  r: CampaignReport,
  figures: readonly (Figure & { svg: string; file: string })[],
): string {
  const simulated = r.generations.filter((g) => g.simulated).map((g) => g.version);
  const banner = simulated.length
    ? `<p class="sim" id="simulated">Simulated: ${escapeHtml(simulated.join(', '))} ${simulated.length === 1 ? 'was' : 'were'} made by the pacemaker simulator, not pacemaker. Their numbers show the pipeline working, not the physics.</p>`
    : '';
  const rows = r.generations
    .map((g) => {
      const m = g.metrics;
      return `<tr id="row-${g.version}" class="${g.simulated ? 'simulated' : ''}"><td>${g.version}</td><td>${escapeHtml(lineageLabel(g))}</td>${num(m?.train.energy_rmse_mev_per_atom)}${num(m?.train.force_rmse_mev_per_a)}${num(m?.test?.energy_rmse_mev_per_atom)}${num(m?.test?.force_rmse_mev_per_a)}<td>${g.selection ? `${g.selection.indices.length} of ${g.selection.poolSize}` : '–'}</td><td>${g.stoppedEarly ? `stopped early${g.stoppedEarly.reason ? `: ${escapeHtml(g.stoppedEarly.reason)}` : ''}` : g.kind === 'selection-only' ? 'selection only' : 'finished'}</td><td>${g.path ? `<code title="${escapeHtml(g.path)}">${escapeHtml(relative(r.campaignDir, g.path))}</code>` : '–'}</td></tr>`;
    })
    .join('\n');
  const nav = figures.map((f) => `<a href="#${f.name}">${escapeHtml(f.title)}</a>`).join(' ');
  const body = figures
    .map(
      (f) =>
        `<figure id="${f.name}"><h2>${escapeHtml(f.title)}</h2>\n${f.svg}\n<figcaption>${escapeHtml(f.caption)} <a href="${escapeHtml(f.file)}">SVG</a></figcaption></figure>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(r.campaign)}: campaign report</title><style>${STYLE}</style></head>
<body>
<h1>Campaign <code>${escapeHtml(r.campaign)}</code></h1>
<p class="meta">${r.generations.length} generation(s), elements ${escapeHtml(r.elements.join(', ') || '?')}, dataset ${r.dataset ? `${r.dataset.total} structures (train ${r.dataset.train}, test ${r.dataset.test})` : 'not found'}; made ${escapeHtml(r.made)} from <code>${escapeHtml(r.campaignDir)}</code></p>
${banner}
<table id="generations"><thead><tr><th>generation</th><th>from</th><th>train E<br>meV/atom</th><th>train F<br>meV/Å</th><th>test E<br>meV/atom</th><th>test F<br>meV/Å</th><th>selected</th><th>fit</th><th>potential</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<nav>${nav}</nav>
${body}
<script type="application/json" id="report-data">${scriptJson(reportData(r))}</script>
</body></html>
`;
}
