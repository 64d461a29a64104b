/**
 * The newest potential's parity plots and error histograms (energy; force overall and per
 * element), from the prediction arrays the dataset helper wrote. Pure.
 */
import type { CampaignReport } from './model.js';
import { base, WIDTH, type Figure } from './figure-base.js';

const mev = (ev: number) => ev * 1000;

/** Parity plots and error histograms of the newest potential (energy; force overall and per element). */
export function predictionFigures(r: CampaignReport): Figure[] {
  if (!r.newest) return [];
  const { arrays: a, version, set, simulated } = r.newest;
  const who = `${version}, ${set} set`;
  const energy = a.energy.reference.map((ref, i) => ({
    reference: ref,
    predicted: a.energy.predicted[i]!,
    error: mev(a.energy.predicted[i]! - ref),
    natoms: a.energy.natoms[i]!,
  }));
  const forces = a.forces.reference.map((ref, i) => ({
    element: a.forces.element[i]!,
    reference: ref,
    predicted: a.forces.predicted[i]!,
    error: mev(a.forces.predicted[i]! - ref),
  }));
  const eLo = Math.min(...a.energy.reference, ...a.energy.predicted);
  const eHi = Math.max(...a.energy.reference, ...a.energy.predicted);
  const fLo = Math.min(...a.forces.reference, ...a.forces.predicted);
  const fHi = Math.max(...a.forces.reference, ...a.forces.predicted);
  // Both axes over the same range, so the diagonal is the 45° line of perfect prediction.
  const square = (lo: number, hi: number) => ({
    domain: [lo - (hi - lo) * 0.03, hi + (hi - lo) * 0.03],
    nice: false,
    zero: false,
  });
  const diagonal = (lo: number, hi: number) => ({
    data: { values: [{ v: lo }, { v: hi }] },
    mark: { type: 'line', color: '#999', strokeDash: [4, 3] },
    encoding: { x: { field: 'v', type: 'quantitative' }, y: { field: 'v', type: 'quantitative' } },
  });
  const sampled =
    a.forces.sampled < a.forces.total
      ? ` (${a.forces.sampled} of ${a.forces.total} components shown; RMSE from all)`
      : '';
  const perEl = Object.entries(a.errors.perElement)
    .map(([el, e]) => `${el} ${e.force_rmse_mev_per_a.toFixed(2)}`)
    .join(', ');
  const figures: Figure[] = [
    {
      name: 'parity-energy',
      title: `Energy parity (${who})`,
      caption: `Predicted against reference energy per atom (${a.reference}), one point per structure. RMSE ${a.errors.energy_rmse_mev_per_atom.toFixed(2)} meV/atom.`,
      spec: {
        ...base(
          `Energy parity: ${who}, RMSE ${a.errors.energy_rmse_mev_per_atom.toFixed(2)} meV/atom`,
          simulated,
        ),
        width: WIDTH * 0.8,
        height: WIDTH * 0.8,
        layer: [
          diagonal(eLo, eHi),
          {
            data: { values: energy },
            mark: { type: 'point', filled: true, opacity: 0.7 },
            encoding: {
              x: {
                field: 'reference',
                type: 'quantitative',
                title: 'reference energy (eV/atom)',
                scale: square(eLo, eHi),
              },
              y: {
                field: 'predicted',
                type: 'quantitative',
                title: 'predicted energy (eV/atom)',
                scale: square(eLo, eHi),
              },
            },
          },
        ],
      },
    },
    {
      name: 'parity-force',
      title: `Force parity (${who})`,
      caption: `Predicted against reference force components, by element${sampled}. RMSE ${a.errors.force_rmse_mev_per_a.toFixed(2)} meV/Å${perEl ? ` (per element: ${perEl})` : ''}.`,
      spec: {
        ...base(
          `Force parity: ${who}, RMSE ${a.errors.force_rmse_mev_per_a.toFixed(2)} meV/Å`,
          simulated,
        ),
        width: WIDTH * 0.8,
        height: WIDTH * 0.8,
        layer: [
          diagonal(fLo, fHi),
          {
            data: { values: forces },
            mark: { type: 'point', filled: true, opacity: 0.5, size: 12 },
            encoding: {
              x: {
                field: 'reference',
                type: 'quantitative',
                title: 'reference force (eV/Å)',
                scale: square(fLo, fHi),
              },
              y: {
                field: 'predicted',
                type: 'quantitative',
                title: 'predicted force (eV/Å)',
                scale: square(fLo, fHi),
              },
              color: { field: 'element', type: 'nominal', title: 'element' },
            },
          },
        ],
      },
    },
    {
      name: 'parity-force-by-element',
      title: `Force parity per element (${who})`,
      caption: `The force parity plot, one panel per element${sampled}.`,
      spec: {
        ...base(`Force parity per element: ${who}`, simulated),
        data: { values: forces },
        facet: { column: { field: 'element', type: 'nominal', title: 'element' } },
        spec: {
          width: WIDTH * 0.55,
          height: WIDTH * 0.55,
          mark: { type: 'point', filled: true, opacity: 0.5, size: 12 },
          encoding: {
            x: {
              field: 'reference',
              type: 'quantitative',
              title: 'reference (eV/Å)',
              scale: square(fLo, fHi),
            },
            y: {
              field: 'predicted',
              type: 'quantitative',
              title: 'predicted (eV/Å)',
              scale: square(fLo, fHi),
            },
            color: { field: 'element', type: 'nominal', legend: null },
          },
        },
      },
    },
    {
      name: 'errors-energy',
      title: `Energy error distribution (${who})`,
      caption: 'Histogram of predicted minus reference energy per atom, one count per structure.',
      spec: {
        ...base(`Energy errors: ${who}`, simulated),
        width: WIDTH,
        height: 200,
        data: { values: energy },
        mark: { type: 'bar' },
        encoding: errorHistogram('energy error (meV/atom)', 'structures'),
      },
    },
    {
      name: 'errors-force',
      title: `Force error distribution per element (${who})`,
      caption: `Histogram of predicted minus reference force components, one panel per element${sampled}.`,
      spec: {
        ...base(`Force errors per element: ${who}`, simulated),
        data: { values: forces },
        facet: { column: { field: 'element', type: 'nominal', title: 'element' } },
        spec: {
          width: WIDTH * 0.55,
          height: 200,
          mark: { type: 'bar' },
          encoding: {
            ...errorHistogram('force error (meV/Å)', 'components'),
            color: { field: 'element', type: 'nominal', legend: null },
          },
        },
      },
    },
  ];
  return figures;
}

/** A histogram of the rows' `error` field in 30 bins, counted on y. */
function errorHistogram(errorTitle: string, countTitle: string) {
  return {
    x: { field: 'error', type: 'quantitative', bin: { maxbins: 30 }, title: errorTitle },
    y: { aggregate: 'count', type: 'quantitative', title: countTitle },
  };
}
