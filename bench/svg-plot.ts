/**
 * A small dependency-free SVG line plot for benchmark curves: one panel, x and y axes with
 * ticks, one polyline per series (optionally with a shaded min-max band), a legend. Enough for
 * "error against labels used"; not a plotting library.
 */

export interface Series {
  name: string;
  colour: string;
  points: { x: number; y: number; low?: number; high?: number }[];
  dashed?: boolean;
}

export interface PlotOptions {
  title: string;
  /** A smaller second line under the title. */
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  /** Start the y axis at zero (errors); otherwise at the data's minimum. */
  yFromZero?: boolean;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round tick steps (1, 2, 5 x 10^k) giving about `count` ticks over [lo, hi]. */
export function ticks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function linePlot(o: PlotOptions): string {
  // The legend's column grows with its longest name (about 7 px a character at 12 px).
  const right = Math.max(180, 60 + 7 * Math.max(0, ...o.series.map((s) => s.name.length)));
  const W = (o.width ?? 720) + right - 180;
  const H = o.height ?? 420;
  const m = { left: 70, right, top: 45, bottom: 55 };
  const pts = o.series.flatMap((s) => s.points);
  const xs = pts.map((p) => p.x);
  const ys = pts.flatMap((p) => [p.y, p.low ?? p.y, p.high ?? p.y]).filter(Number.isFinite);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y0 = o.yFromZero ? 0 : Math.min(...ys);
  const y1 = Math.max(...ys) * 1.05;
  const sx = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * (W - m.left - m.right);
  const sy = (y: number) => H - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (H - m.top - m.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(m.left + W - m.right) / 2}" y="18" text-anchor="middle" font-size="14">${esc(o.title)}</text>`,
  ];
  if (o.subtitle) parts.push(`<text x="${(m.left + W - m.right) / 2}" y="33" text-anchor="middle" font-size="11" fill="#555">${esc(o.subtitle)}</text>`);
  for (const t of ticks(x0, x1)) {
    parts.push(`<line x1="${sx(t)}" y1="${H - m.bottom}" x2="${sx(t)}" y2="${m.top}" stroke="#eee"/>`);
    parts.push(`<text x="${sx(t)}" y="${H - m.bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  for (const t of ticks(y0, y1)) {
    parts.push(`<line x1="${m.left}" y1="${sy(t)}" x2="${W - m.right}" y2="${sy(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`);
  }
  parts.push(`<line x1="${m.left}" y1="${H - m.bottom}" x2="${W - m.right}" y2="${H - m.bottom}" stroke="black"/>`);
  parts.push(`<line x1="${m.left}" y1="${H - m.bottom}" x2="${m.left}" y2="${m.top}" stroke="black"/>`);
  parts.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 15}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  o.series.forEach((s, i) => {
    const band = s.points.filter((p) => p.low !== undefined && p.high !== undefined);
    if (band.length > 1) {
      const upper = band.map((p) => `${sx(p.x)},${sy(p.high!)}`);
      const lower = [...band].reverse().map((p) => `${sx(p.x)},${sy(p.low!)}`);
      parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${s.colour}" fill-opacity="0.15" stroke="none"/>`);
    }
    const line = s.points.map((p) => `${sx(p.x)},${sy(p.y)}`).join(' ');
    parts.push(`<polyline points="${line}" fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of s.points) parts.push(`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="3" fill="${s.colour}"/>`);
    const ly = m.top + 10 + i * 20;
    parts.push(`<line x1="${W - m.right + 15}" y1="${ly}" x2="${W - m.right + 40}" y2="${ly}" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${W - m.right + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
