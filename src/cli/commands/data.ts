/** Commands about labelled data and the dataset. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { labelEmt } from '../../dataset/emt.js';
import { nonNegativeInt, positiveInt } from '../options.js';

export function registerDataCommands(program: Command): void {
  program
    .command('label-emt')
    .description(
      "write labelled Cu/Ni structures from ASE's EMT calculator (real energies and forces) as JSONL",
    )
    .requiredOption('--out <file>', 'output JSONL')
    .option('--count <n>', 'structures', (v) => positiveInt('--count', v), 40)
    .option(
      '--elements <list>',
      'comma-separated EMT elements (Cu, Ni, Al, Ag, Au, Pd, Pt)',
      'Cu,Ni',
    )
    .option('--seed <n>', 'random seed', (v) => nonNegativeInt('--seed', v), 0)
    .action(async (o: { out: string; count: number; elements: string; seed: number }) => {
      const r = await labelEmt({
        out: resolve(o.out),
        count: o.count,
        elements: o.elements.split(','),
        seed: o.seed,
      });
      console.log(JSON.stringify(r));
    });
}
