/**
 * `mlip-trainer report`: reads a campaign folder, asks the dataset helper for the newest
 * potential's parity and error arrays (its prediction pickle, joined with the dataset for each
 * atom's element), renders every figure to SVG and writes the page:
 *
 *   <out>/index.html           the self-contained page (figures inline)
 *   <out>/figures/<name>.svg   one file per figure, for papers and slides
 *   <out>/figures/<name>.vl.json  its Vega-Lite spec with the data, to restyle or re-render
 *   <out>/data/<version>-<set>-predictions.json  the arrays the parity plots show
 *
 * Only the workspace is read: no Temporal server is needed, so a report can be made on any host
 * that sees the files, during a campaign or long after it.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runBridge } from '../dataset/bridge.js';
import { BadInputError } from '../errors.js';
import { exists, writeFileAtomic } from '../util/files.js';
import { campaignFigures } from './figures.js';
import type { CampaignReport, PredictionArrays } from './model.js';
import { reportPage } from './page.js';
import { readDataset, readGenerations } from './read-campaign.js';
import { renderSvg } from './render.js';

export interface BuildReportOptions {
  /** `<workspace>/<campaign>`. */
  campaignDir: string;
  /** Default `<campaignDir>/report`. */
  out?: string;
  /** The Python that runs the dataset helper (the toolchain's). */
  python: string;
  signal?: AbortSignal;
}

export interface BuiltReport {
  html: string;
  figures: string[];
  generations: number;
  /** What the report could not show, in plain words (e.g. no prediction pickle). */
  notes: string[];
}

/** The newest trained generation's predictions: its test set, or its train set when it has no test set. */
async function newestPredictions(
  report: Omit<CampaignReport, 'newest' | 'made'>,
  dataset: Awaited<ReturnType<typeof readDataset>>,
  dataDir: string,
  o: BuildReportOptions,
  notes: string[],
): Promise<CampaignReport['newest']> {
  const newest = report.generations.filter((g) => g.kind === 'potential' && g.path !== null).at(-1);
  if (!newest) return null;
  const dir = join(report.campaignDir, 'potentials', newest.version);
  for (const set of ['test', 'train'] as const) {
    const pred = join(dir, `${set}_pred.pckl.gzip`);
    if (!(await exists(pred))) continue;
    const out = join(dataDir, `${newest.version}-${set}-predictions.json`);
    const structures = set === 'test' ? dataset?.testPath : dataset?.trainPath;
    try {
      await runBridge(
        'pred-arrays',
        ['--pred', pred, '--out', out, ...(structures ? ['--structures', structures] : [])],
        {
          python: o.python,
          logFile: join(dataDir, 'pred-arrays.log'),
          ...(o.signal ? { signal: o.signal } : {}),
        },
      );
    } catch (err) {
      notes.push(
        `no parity plots: reading ${pred} failed (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
      );
      return null;
    }
    const arrays = JSON.parse(await readFile(out, 'utf8')) as PredictionArrays;
    if (set === 'train')
      notes.push(`${newest.version} has no test set: its parity plots show the train set`);
    return { version: newest.version, set, simulated: newest.simulated, arrays };
  }
  notes.push(
    `no parity plots: ${newest.version} has no prediction pickle (test_pred.pckl.gzip or train_pred.pckl.gzip)`,
  );
  return null;
}

export async function buildReport(o: BuildReportOptions): Promise<BuiltReport> {
  const campaignDir = resolve(o.campaignDir);
  const out = resolve(o.out ?? join(campaignDir, 'report'));
  const notes: string[] = [];
  const generations = await readGenerations(campaignDir);
  const dataset = await readDataset(campaignDir);
  if (generations.length === 0 && dataset === null) {
    throw new BadInputError(
      `no campaign at ${campaignDir}: it has no potentials/, selections/ or data/manifest.json (check --campaign and --workspace)`,
    );
  }
  const dataDir = join(out, 'data');
  const figuresDir = join(out, 'figures');
  await mkdir(dataDir, { recursive: true });
  await mkdir(figuresDir, { recursive: true });
  const partial = {
    campaign: campaignDir.split('/').filter(Boolean).pop() ?? campaignDir,
    campaignDir,
    elements: [] as string[],
    generations,
    dataset,
  };
  const newest = await newestPredictions(partial, dataset, dataDir, o, notes);
  const elements = new Set<string>();
  for (const h of dataset?.history ?? [])
    for (const el of Object.keys(h.elements ?? {})) elements.add(el);
  for (const el of Object.keys(newest?.arrays.errors.perElement ?? {}))
    if (el !== '?') elements.add(el);
  const report: CampaignReport = {
    ...partial,
    elements: [...elements].sort(),
    newest,
    made: new Date().toISOString(),
  };

  const rendered = [];
  for (const f of campaignFigures(report)) {
    const svg = await renderSvg(f.spec);
    const file = join(figuresDir, `${f.name}.svg`);
    await writeFileAtomic(file, svg);
    await writeFileAtomic(join(figuresDir, `${f.name}.vl.json`), JSON.stringify(f.spec, null, 1));
    rendered.push({ ...f, svg, file: `figures/${f.name}.svg`, path: file });
  }
  const html = join(out, 'index.html');
  await writeFileAtomic(html, reportPage(report, rendered));
  return { html, figures: rendered.map((f) => f.path), generations: generations.length, notes };
}
