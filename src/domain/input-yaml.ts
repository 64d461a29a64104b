/**
 * Builds pacemaker's input.yaml as data from a typed config. Pure: the YAML text is made by
 * js-yaml elsewhere, so workflows and unit tests can call this without I/O.
 */
import { isPlainObject } from './input-keys.js';
import type { PacemakerTrainerConfig } from './schemas.js';

export type PacemakerInput = Record<string, unknown> & {
  cutoff: number;
  seed: number;
  potential: Record<string, unknown>;
  data: Record<string, unknown>;
  fit: Record<string, unknown>;
  backend: Record<string, unknown>;
};

export interface InputData {
  /** Training data file(s), as pacemaker's `data.filename` (string or list). */
  filename: string | string[];
  /** Held-out test file(s); when absent, `test_size` from the config splits the training data. */
  testFilename?: string | string[];
}

// Default radial/angular resolution per rank (1-based), from pacemaker's examples: rank 3 gives
// nradmax [8, 3, 2] and lmax [0, 2, 1].
const NRADMAX = [8, 3, 2, 1, 1, 1];
const LMAX = [0, 2, 1, 1, 1, 1];

export function buildPacemakerInput(cfg: PacemakerTrainerConfig, data: InputData): PacemakerInput {
  const generated: PacemakerInput = {
    cutoff: cfg.cutoff,
    seed: cfg.seed,
    metadata: { origin: 'mlip-trainer' },
    potential: {
      deltaSplineBins: 0.001,
      elements: [...cfg.elements],
      embeddings: {
        ALL: { npot: 'FinnisSinclairShiftedScaled', fs_parameters: [1, 1, 1, 0.5], ndensity: 2 },
      },
      bonds: {
        ALL: {
          radbase: 'SBessel',
          radparameters: [5.25],
          rcut: cfg.cutoff,
          dcut: 0.01,
          NameOfCutoffFunction: 'cos',
        },
      },
      functions: {
        number_of_functions_per_element: cfg.functions_per_element,
        ALL: { nradmax_by_orders: NRADMAX.slice(0, cfg.order), lmax_by_orders: LMAX.slice(0, cfg.order) },
      },
    },
    data: {
      filename: data.filename,
      reference_energy: cfg.reference_energy,
      ...(data.testFilename !== undefined
        ? { test_filename: data.testFilename }
        : cfg.test_size > 0
          ? { test_size: cfg.test_size }
          : {}),
    },
    fit: {
      loss: { kappa: cfg.kappa, L1_coeffs: 1e-8, L2_coeffs: 1e-8 },
      optimizer: 'BFGS',
      maxiter: cfg.max_epochs,
      repulsion: 'auto',
    },
    backend: {
      evaluator: cfg.evaluator,
      batch_size: cfg.batch_size,
      display_step: 10,
      ...(cfg.evaluator === 'pyace' ? { parallel_mode: 'serial' } : {}),
    },
  };
  return deepMerge(generated, cfg.input) as PacemakerInput;
}

/**
 * Adjusts an input for continuing from an existing potential with `-p`: pacemaker then ignores
 * the `potential:` section (it must still be present), and a kept `ladder_step` would silently
 * start from an empty potential (upstream issue #39), so it is removed.
 */
export function forContinuation(input: PacemakerInput, maxiter: number): PacemakerInput {
  const fit: Record<string, unknown> = { ...input.fit, maxiter };
  delete fit.ladder_step;
  delete fit.ladder_type;
  // -p replaces the whole potential section; an initial_potential left in it would only mislead.
  const potential: Record<string, unknown> = { ...input.potential };
  delete potential.initial_potential;
  return { ...input, potential, fit };
}

/**
 * How a generation starts from its parent potential:
 * - `continue`: `-p parent` (same basis, same radial functions); the first loss equals the parent's final loss.
 * - `extend`: the configured (larger) shape grown from the parent by pacemaker's ladder
 *   (`potential.initial_potential` + `fit.ladder_step`), never with `-p`.
 * - `reset`: the parent's shape refitted from zero (`potential: {filename, reset: true}`).
 */
export type FineTuneMode = 'continue' | 'extend' | 'reset';

/** Ladder step used by `extend` when the config sets none: pacemaker's documented example. */
export const DEFAULT_LADDER_STEP: readonly [number, number] = [10, 0.02];

export interface FineTunePlan {
  input: PacemakerInput;
  /** Extra pacemaker arguments (only `continue` passes `-p`; `-ip` is never used). */
  args: string[];
}

/** The input and arguments for fine-tuning from `potentialFile` (a name relative to the run folder). */
export function forFineTune(input: PacemakerInput, mode: FineTuneMode, potentialFile: string, maxiter: number): FineTunePlan {
  switch (mode) {
    case 'continue':
      return { input: forContinuation(input, maxiter), args: ['-p', potentialFile] };
    case 'extend': {
      const fit: Record<string, unknown> = { ...input.fit, maxiter };
      fit.ladder_step ??= [...DEFAULT_LADDER_STEP];
      return { input: { ...input, potential: { ...input.potential, initial_potential: potentialFile }, fit }, args: [] };
    }
    case 'reset': {
      const fit: Record<string, unknown> = { ...input.fit, maxiter };
      delete fit.ladder_step;
      delete fit.ladder_type;
      return { input: { ...input, potential: { filename: potentialFile, reset: true }, fit }, args: [] };
    }
  }
}

/** Objects merge key by key; anything else in `over` replaces what `base` had. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}
