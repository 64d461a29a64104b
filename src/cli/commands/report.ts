/** `report`: a campaign's page of figures, from its folder in the workspace. */
import { dirname, join, resolve } from 'node:path';
import { isSelectionOnly, type GenerationResult } from '../../domain/generation-result.js';
import type { Command } from 'commander';
import { loadDevStackConfig } from '../../config/load.js';
import { CampaignName } from '../../domain/schemas.js';
import { resolveToolchain } from '../../pacemaker/toolchain.js';
import { buildReport, type BuiltReport } from '../../report/build-report.js';
import { CliInputError } from '../options.js';
import { DEFAULT_STACK_FILE as DEFAULT_STACK } from '../../paths.js';

export type ReportTarget = { out?: string; stack?: string } & (
  | {
      campaign: string;
      /** Default: the dev stack's worker.workspace. */
      workspace?: string;
    }
  | { campaignDir: string }
);

/**
 * The campaign folder a result lives in: `<campaign>/potentials/<version>/output_potential.yace`
 * or `<campaign>/selections/<version>/selected.pckl.gzip`, so `train --wait --report` needs no
 * --workspace: the workers wrote it there.
 */
export function campaignDirOf(r: GenerationResult): string {
  const file = isSelectionOnly(r) ? r.selection.selected.path : r.path;
  return dirname(dirname(dirname(file)));
}

/**
 * Makes the report of a campaign; `train --wait --report` and `demo --report` call it too. The
 * workspace and the Python that reads the pickles come from temporal-dev.yml unless given.
 */
export async function reportCampaign(o: ReportTarget): Promise<BuiltReport> {
  const stack = await loadDevStackConfig(o.stack ?? DEFAULT_STACK);
  let campaignDir: string;
  if ('campaignDir' in o) campaignDir = o.campaignDir;
  else {
    const name = CampaignName.safeParse(o.campaign);
    if (!name.success)
      throw new CliInputError(
        `--campaign ${name.error.issues[0]?.message ?? 'is invalid'} (got ${JSON.stringify(o.campaign)})`,
      );
    campaignDir = join(
      o.workspace !== undefined ? resolve(o.workspace) : stack.worker.workspace,
      o.campaign,
    );
  }
  const toolchain = await resolveToolchain(stack.worker.pacemaker);
  return buildReport({
    campaignDir,
    python: toolchain.python,
    ...(o.out !== undefined ? { out: resolve(o.out) } : {}),
  });
}

/** What a report run tells the user: where the page is, how to open it, what it could not show. */
export function printReport(
  r: BuiltReport,
  log: (line: string) => void = (l) => console.error(l),
): void {
  log(
    `report: ${r.html} (${r.figures.length} figures as SVG in ${join(r.html, '..', 'figures')}/)`,
  );
  for (const n of r.notes) log(`  note: ${n}`);
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      "a campaign's report: one self-contained HTML page and one SVG per figure (RMSE per generation, learning curves, parity, errors, dataset, selection, time per stage)",
    )
    .requiredOption('--campaign <name>', 'campaign (folder under the workspace)')
    .option('--out <dir>', 'where to write it (default: <workspace>/<campaign>/report)')
    .option('--workspace <dir>', "workspace root (default: temporal-dev.yml's worker.workspace)")
    .option(
      '--stack <file>',
      'dev stack description giving the default workspace and pacemaker',
      DEFAULT_STACK,
    )
    .option('--json', 'print machine-readable JSON only')
    .action(
      async (o: {
        campaign: string;
        workspace?: string;
        out?: string;
        stack: string;
        json?: boolean;
      }) => {
        const r = await reportCampaign(o);
        if (o.json) console.log(JSON.stringify(r));
        else printReport(r, (l) => console.log(l));
      },
    );
}
