/** Commands about labelled data and the dataset. */
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { labelEmt } from '../../dataset/emt.js';
import type { DatasetManifest, DatasetSummary } from '../../dataset/store.js';
import { loadDevStackConfig, loadTrainerConfig } from '../../config/load.js';
import { CampaignName, ChemicalSymbolSchema, type TrainerConfig } from '../../domain/schemas.js';
import { EXPORT_FORMATS, type DataLimits, type ExportFormat } from '../../dataset/store.js';
import { resolveToolchain } from '../../pacemaker/toolchain.js';
import { openDataset } from '../../trainer/factory.js';
import { limitsOf } from '../../trainer/pacemaker-trainer.js';
import type { TrainingDataset } from '../../trainer/trainer.js';
import { CliInputError, nonNegativeInt, outputFile, outputFolder, positiveInt, positiveNumber } from '../options.js';
import { DEFAULT_STACK } from './stack.js';

interface StoreOptions {
  campaign: string;
  workspace?: string;
  stack: string;
}

/**
 * The campaign's dataset as the workers see it: the workspace and the pacemaker installation
 * (whose Python writes the pickles) come from temporal-dev.yml unless given.
 */
async function openStore(
  o: StoreOptions,
  testFraction?: number,
  referenceEnergy?: number | Record<string, number> | 'auto',
  engine: TrainerConfig['engine'] = 'pacemaker',
  limits?: DataLimits,
): Promise<TrainingDataset> {
  const name = CampaignName.safeParse(o.campaign);
  if (!name.success) throw new CliInputError(`--campaign ${name.error.issues[0]?.message ?? 'is invalid'} (got ${JSON.stringify(o.campaign)})`);
  const stack = await loadDevStackConfig(o.stack);
  const workspace = o.workspace !== undefined ? resolve(o.workspace) : stack.worker.workspace;
  await outputFolder(o.workspace !== undefined ? '--workspace' : `worker.workspace of ${o.stack}`, workspace);
  const toolchain = await resolveToolchain(stack.worker.pacemaker);
  return openDataset(engine, {
    campaignDir: join(workspace, o.campaign),
    toolchain,
    ...(testFraction !== undefined ? { testFraction } : {}),
    ...(referenceEnergy !== undefined && referenceEnergy !== 'auto' ? { referenceEnergy } : {}),
    ...(limits ? { limits } : {}),
  });
}

/** `--reference-energy -0.3` (every element) or `Cu=-0.25,Ni=-0.5`, single-atom energies in eV. */
function referenceEnergyOption(v: string): number | Record<string, number> {
  const bad = () => new CliInputError(`--reference-energy must be a number (eV, every element) or element=eV pairs like Cu=-0.25,Ni=-0.5, got ${JSON.stringify(v)}`);
  if (/^\s*-?\d/.test(v) && !v.includes('=')) {
    const n = Number(v);
    if (!Number.isFinite(n)) throw bad();
    return n;
  }
  const out: Record<string, number> = {};
  for (const item of v.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    const [el, value, extra] = item.split('=').map((x) => x.trim());
    const n = value === undefined || value === '' ? NaN : Number(value);
    if (extra !== undefined || el === undefined || !ChemicalSymbolSchema.safeParse(el).success || !Number.isFinite(n)) throw bad();
    out[el] = n;
  }
  if (Object.keys(out).length === 0) throw bad();
  return out;
}

function testSize(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new CliInputError(`--test-size must be a fraction in [0, 1), got ${JSON.stringify(v)}`);
  return n;
}

function elementList(v: string): string[] {
  const els = v.split(',').map((e) => e.trim()).filter((e) => e !== '');
  const bad = els.filter((e) => !ChemicalSymbolSchema.safeParse(e).success);
  if (els.length === 0 || bad.length > 0) throw new CliInputError(`--elements must be comma-separated chemical symbols, got ${JSON.stringify(v)}`);
  return els;
}

const withStoreOptions = (c: Command): Command =>
  c
    .requiredOption('--campaign <name>', 'campaign (folder under the workspace)')
    .option('--workspace <dir>', "workspace root (default: temporal-dev.yml's worker.workspace)")
    .option('--stack <file>', 'dev stack description giving the default workspace and pacemaker', DEFAULT_STACK)
    .addOption(new Option('--json', 'print machine-readable JSON only'));

function printSummary(s: DatasetSummary): void {
  console.log(`added ${s.added}, skipped ${s.duplicates} duplicate(s); ${s.total} structures (train ${s.structures.train}, test ${s.structures.test})`);
  console.log(`dataset ${s.path}\nversion ${s.sha256}\ntrain   ${s.trainPath}\ntest    ${s.testPath ?? '(none: pacemaker splits by test_size)'}`);
  if (s.fittedEnergy === 'energy_corrected') console.log(fittedLine(s.referenceEnergy));
}

/** A dataset with structures known only by their corrected energy says how it is trained. */
function fittedLine(reference: number | Record<string, number> | null): string {
  const ref = reference === null ? 'not given' : JSON.stringify(reference);
  return `energy  energy_corrected, fitted as stored (input.yaml without data.reference_energy); reference energies ${ref}`;
}

function printManifest(m: DatasetManifest): void {
  const rows = Object.entries(m.elements)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([el, c]) => `  ${el.padEnd(3)} structures ${String(c.structures.train).padStart(7)} train ${String(c.structures.test).padStart(7)} test   atoms ${String(c.atoms.train).padStart(9)} train ${String(c.atoms.test).padStart(9)} test`);
  console.log(`dataset   ${m.path}\nversion   ${m.sha256}\nupdated   ${m.updated}`);
  console.log(`structures ${m.total} (train ${m.structures.train}, test ${m.structures.test}); atoms train ${m.atoms.train}, test ${m.atoms.test}; test fraction ${m.testFraction ?? 'n/a'}`);
  console.log(`train     ${m.trainPath}\ntest      ${m.testPath ?? '(none)'}\nper element:\n${rows.join('\n')}`);
  if (m.fittedEnergy === 'energy_corrected') console.log(`${fittedLine(m.referenceEnergy)}; ${m.correctedOnly} structure(s) without a total energy`);
  console.log(`history (${m.history.length} update(s), newest last):`);
  for (const h of m.history.slice(-20)) {
    const who = [h.workflowId, h.generation !== undefined ? `generation ${h.generation}` : undefined, h.via].filter((x) => x !== undefined).join(', ');
    console.log(`  ${h.time}  +${h.added} (${h.duplicates ?? 0} duplicate(s) skipped)  ${who}`);
  }
}

export function registerDataCommands(program: Command): void {
  program
    .command('label-emt')
    .description(
      "write labelled Cu/Ni structures from ASE's EMT calculator (real energies and forces) as JSONL",
    )
    .requiredOption('--out <file>', 'output JSONL')
    .option('--count <n>', 'structures', (v) => positiveInt('--count', v, 100_000), 40)
    .option(
      '--elements <list>',
      'comma-separated EMT elements (Cu, Ni, Al, Ag, Au, Pd, Pt)',
      'Cu,Ni',
    )
    .option('--seed <n>', 'random seed', (v) => nonNegativeInt('--seed', v, 2 ** 32 - 1), 0)
    .action(async (o: { out: string; count: number; elements: string; seed: number }) => {
      await outputFile('--out', o.out);
      const r = await labelEmt({
        out: resolve(o.out),
        count: o.count,
        elements: o.elements.split(','),
        seed: o.seed,
      });
      console.log(JSON.stringify(r));
    });

  const dataset = program.command('dataset').description("a campaign's accumulated pacemaker dataset");

  withStoreOptions(
    dataset
      .command('add')
      .description('validate result files and append the structures not yet in the dataset')
      .argument('<files...>', 'CalculationResult JSON/JSONL, pacemaker dataset pickles, or any file ASE reads with energies and forces (extxyz, .traj, OUTCAR, vasprun.xml)')
      .option('--config <file>', 'trainer config: its elements, test_size, reference energies and sanity limits apply')
      .option('--elements <list>', 'comma-separated elements every atom must be one of (overrides --config)', elementList)
      .option('--test-size <fraction>', 'share of new structures held out for testing (default: --config, else as recorded)', testSize)
      .option('--reference-energy <eV>', "single-atom energies: a number or Cu=-0.25,Ni=-0.5 (overrides --config); for energy_corrected-only data, the ones it was corrected with", referenceEnergyOption)
      .option('--max-energy-per-atom <eV>', 'refuse results with |energy|/atom above this (default: --config, else 1000)', (v) => positiveNumber('--max-energy-per-atom', v))
      .option('--max-force <eV/Å>', 'refuse results with any |force component| above this (default: --config, else 1000)', (v) => positiveNumber('--max-force', v)),
  ).action(async (files: string[], o: StoreOptions & { config?: string; elements?: string[]; testSize?: number; referenceEnergy?: number | Record<string, number>; maxEnergyPerAtom?: number; maxForce?: number; json?: boolean }) => {
    const trainer = o.config !== undefined ? await loadTrainerConfig(o.config) : undefined;
    const cfg = trainer?.pacemaker;
    const limits: DataLimits = {
      ...(cfg ? limitsOf(cfg) : {}),
      ...(o.maxEnergyPerAtom !== undefined ? { maxEnergyPerAtom: o.maxEnergyPerAtom } : {}),
      ...(o.maxForce !== undefined ? { maxForce: o.maxForce } : {}),
    };
    const store = await openStore(o, o.testSize ?? cfg?.test_size, o.referenceEnergy ?? cfg?.reference_energy, trainer?.engine, limits);
    const s = await store.appendFiles(files.map((f) => resolve(f)), o.elements ?? cfg?.elements, { via: 'cli' });
    if (o.json) console.log(JSON.stringify(s));
    else printSummary(s);
  });

  withStoreOptions(dataset.command('info').description('print the manifest: counts per split and element, version, history')).action(
    async (o: StoreOptions & { json?: boolean }) => {
      const m = await (await openStore(o)).info();
      if (o.json) console.log(JSON.stringify(m, null, 2));
      else printManifest(m);
    },
  );

  withStoreOptions(
    dataset
      .command('export')
      .description('write the dataset back out')
      .addOption(new Option('--format <format>', "output format: extended XYZ, CalculationResult JSONL, or pacemaker's dataset pickle").choices([...EXPORT_FORMATS]).default('extxyz'))
      .requiredOption('--out <file>', 'output file')
      .addOption(new Option('--split <side>', 'which structures').choices(['all', 'train', 'test']).default('all')),
  ).action(async (o: StoreOptions & { format: ExportFormat; out: string; split: 'all' | 'train' | 'test'; json?: boolean }) => {
    await outputFile('--out', o.out);
    const r = await (await openStore(o)).export(resolve(o.out), o.format, o.split);
    console.log(o.json ? JSON.stringify(r) : `wrote ${r.rows} structure(s) to ${r.out}`);
  });
}
