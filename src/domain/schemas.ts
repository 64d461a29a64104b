/**
 * The domain model, as zod schemas with inferred types of the same name. Pure code: workflows
 * import it to validate their input inside the sandbox, so nothing here may do I/O.
 *
 * Units follow ASE and pacemaker: lengths in Å, energies in eV, forces in eV/Å, stress in eV/Å³.
 */
import { z } from 'zod';
import { Finite } from './numbers.js';
import { SelectionStrategyShape, checkGammaRange } from './selection-options.js';
export { DEFAULT_GAMMA_MAX, DEFAULT_RANDOM_FRACTION, SelectionStrategy } from './selection-options.js';
import { isChemicalSymbol } from './elements.js';
import { checkInputOverrides } from './input-keys.js';

const Vec3 = z.tuple([Finite, Finite, Finite]);
const Matrix3 = z.tuple([Vec3, Vec3, Vec3]);

export const ChemicalSymbolSchema = z
  .string()
  .refine(isChemicalSymbol, { error: 'unknown chemical symbol' });

export const Structure = z
  .object({
    /** One chemical symbol per atom. */
    symbols: z.array(ChemicalSymbolSchema).min(1, 'a structure needs at least one atom'),
    /** Cartesian positions, Å, shape `[natoms, 3]`. */
    positions: z.array(Vec3),
    /** Lattice vectors as rows, Å, shape `[3, 3]`. */
    cell: Matrix3,
    /** Periodicity along each lattice vector, shape `[3]`. */
    pbc: z.tuple([z.boolean(), z.boolean(), z.boolean()]),
  })
  .superRefine((s, ctx) => {
    if (s.positions.length !== s.symbols.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['positions'],
        message: `has ${s.positions.length} rows but the structure has ${s.symbols.length} atoms`,
        input: s.positions.length,
      });
    }
  });
export type Structure = z.infer<typeof Structure>;

export const CalculationResult = z
  .object({
    structure: Structure,
    /** Total energy, eV. */
    energy: Finite.optional(),
    /**
     * pacemaker's corrected energy (total energy minus single-atom reference energies), eV: read
     * only when `energy` is absent (a result known only by its corrected energy).
     */
    energy_corrected: Finite.optional(),
    /** Forces, eV/Å, shape `[natoms, 3]`. */
    forces: z.array(Vec3),
    /** Stress, eV/Å³: Voigt `[6]` (xx yy zz yz xz xy) or `[3, 3]`. */
    stress: z.union([z.tuple([Finite, Finite, Finite, Finite, Finite, Finite]), Matrix3]).optional(),
    /** Virial, eV, `[3, 3]`. */
    virial: Matrix3.optional(),
    /** Free-form label carried into the dataset's `name` column. */
    name: z.string().optional(),
  })
  .superRefine((r, ctx) => {
    if (r.energy === undefined && r.energy_corrected === undefined) {
      ctx.addIssue({ code: 'custom', path: ['energy'], message: 'expected a finite number (eV), or energy_corrected', input: undefined });
    }
    if (r.forces.length !== r.structure.symbols.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['forces'],
        message: `has ${r.forces.length} rows but the structure has ${r.structure.symbols.length} atoms`,
        input: r.forces.length,
      });
    }
  });
export type CalculationResult = z.infer<typeof CalculationResult>;

/** Top-level sections of pacemaker's input.yaml that the pass-through may set. */
const PacemakerInputOverrides = z
  .object({
    metadata: z.record(z.string(), z.string()).optional(),
    potential: z.record(z.string(), z.unknown()).optional(),
    data: z.record(z.string(), z.unknown()).optional(),
    fit: z.record(z.string(), z.unknown()).optional(),
    backend: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** Keys the typed fields own: setting them through `input` as well would be ambiguous. */
export const OWNED_INPUT_KEYS: Readonly<Record<string, string>> = {
  'potential.elements': 'elements',
  'potential.bonds.ALL.rcut': 'cutoff',
  'fit.maxiter': 'max_epochs',
  'fit.loss.kappa': 'kappa',
  'backend.batch_size': 'batch_size',
  'backend.evaluator': 'evaluator',
  'potential.functions.number_of_functions_per_element': 'functions_per_element',
  'data.reference_energy': 'reference_energy',
  'data.test_size': 'test_size',
  'potential.initial_potential': 'initialPotential` with `fineTune: extend',
  'potential.filename': 'initialPotential` with `fineTune: reset',
  'potential.reset': 'initialPotential` with `fineTune: reset',
};

/** Keys written by the dataset stage, never by users. */
const DATASET_OWNED_KEYS = ['data.filename', 'data.test_filename'];

function getPath(obj: unknown, path: string[]): unknown {
  let cur: unknown = obj;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/**
 * The specification's PacemakerTrainerConfig. Field names are the specification's (snake_case, as
 * in pacemaker's own input.yaml) so a config file reads the same in Python and here.
 */
export const PacemakerTrainerConfig = z
  .object({
    /** Radial cutoff, Å: top-level `cutoff` and `bonds.ALL.rcut`. */
    cutoff: Finite.refine((v) => v > 0 && v <= 20, { error: 'must be > 0 and <= 20 Å' }),
    /** Maximum rank of the basis functions (body order = rank + 1): length of nradmax/lmax_by_orders. */
    order: z.number().int().min(1).max(6).default(3),
    elements: z
      .array(ChemicalSymbolSchema)
      .min(1, 'at least one element is required')
      .refine((els) => new Set(els).size === els.length, { error: 'lists an element twice' }),
    /** `backend.batch_size`: chunks the loss evaluation (BFGS stays full-batch). */
    batch_size: z.number().int().min(1).default(10),
    /** `fit.maxiter`: optimizer iterations. */
    max_epochs: z.number().int().min(1, 'must be at least 1').default(100),
    evaluator: z.enum(['pyace', 'tensorpot']).default('tensorpot'),
    functions_per_element: z.number().int().min(1).default(20),
    /** `fit.loss.kappa`: weight of forces (1 - kappa on energies). */
    kappa: Finite.refine((v) => v >= 0 && v <= 1, { error: 'must be within [0, 1]' }).default(0.3),
    seed: z.number().int().min(0).default(42),
    /** Fraction (0 < x < 1) of structures held out as the test set; 0 disables it. */
    test_size: Finite.refine((v) => v >= 0 && v < 1, { error: 'must be within [0, 1)' }).default(0.1),
    /**
     * `data.reference_energy`: single-atom energies subtracted from the total energies (eV).
     * `auto` lets pacemaker fit them by least squares; needed because the dataset stores `energy`.
     */
    reference_energy: z
      .union([z.literal('auto'), Finite, z.record(z.string(), Finite)])
      .default('auto'),
    /**
     * Sanity limit of labelled data, eV/atom: a result with |energy| / atoms above it is refused
     * (DEFAULT_LIMITS when absent; all-electron total energies need more). Only decides which data
     * is accepted, so it is not part of the config's identity (configSha256).
     */
    max_energy_per_atom_ev: Finite.refine((v) => v > 0, { error: 'must be > 0' }).optional(),
    /** Sanity limit of labelled data, eV/Å: a result with any |force component| above it is refused. */
    max_force_ev_per_a: Finite.refine((v) => v > 0, { error: 'must be > 0' }).optional(),
    /** Any other pacemaker input.yaml key, merged over the generated sections. */
    input: PacemakerInputOverrides.default({}),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    for (const [dotted, field] of Object.entries(OWNED_INPUT_KEYS)) {
      const path = dotted.split('.');
      const v = getPath(cfg.input, path);
      if (v !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['input', ...path],
          message: `is set by the typed field \`${field}\`; set \`${field}\` instead`,
          input: v,
        });
      }
    }
    for (const dotted of DATASET_OWNED_KEYS) {
      const path = dotted.split('.');
      const v = getPath(cfg.input, path);
      if (v !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['input', ...path], message: 'is written by the dataset stage; pass result files instead', input: v });
      }
    }
    for (const issue of checkInputOverrides(cfg.input)) {
      ctx.addIssue({ code: 'custom', path: ['input', ...issue.path], message: issue.message, input: issue.value });
    }
    if (typeof cfg.reference_energy === 'object') {
      for (const el of cfg.elements) {
        if (!(el in cfg.reference_energy)) {
          ctx.addIssue({ code: 'custom', path: ['reference_energy', el], message: 'is missing: give a single-atom energy for every element, or use auto', input: undefined });
        }
      }
    }
  });
export type PacemakerTrainerConfig = z.infer<typeof PacemakerTrainerConfig>;
export type PacemakerTrainerConfigInput = z.input<typeof PacemakerTrainerConfig>;

/** Trainer configuration, discriminated by engine so other engines can join later. */
export const TrainerConfig = z.discriminatedUnion('engine', [
  z.object({ engine: z.literal('pacemaker'), pacemaker: PacemakerTrainerConfig }).strict(),
]);
export type TrainerConfig = z.infer<typeof TrainerConfig>;
export type TrainerConfigInput = z.input<typeof TrainerConfig>;

/** Error and accuracy figures as pacemaker reports them. */
export const ErrorMetrics = z.object({
  /** Energy RMSE, meV/atom. */
  energy_rmse_mev_per_atom: z.number(),
  /** Force RMSE per component, meV/Å. */
  force_rmse_mev_per_a: z.number(),
  energy_mae_mev_per_atom: z.number().nullable(),
  force_mae_mev_per_a: z.number().nullable(),
  iterations: z.number().int(),
  loss: z.number().nullable(),
});
export type ErrorMetrics = z.infer<typeof ErrorMetrics>;

export const FileRef = z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) });
export type FileRef = z.infer<typeof FileRef>;

/**
 * Memory limit handed to pace_select (`-mem`) and pace_activeset (`-m`), which batch their work
 * to stay under it. Only `<number>GB` / `<number>MB`: pacemaker evaluates the text as Python.
 */
export const MemoryLimit = z.string().regex(/^\d+(\.\d+)?(GB|MB)$/, 'must look like 8GB or 500MB');
export const DEFAULT_SELECTION_MEMORY_LIMIT = '8GB';

/** The sanity limits applied to labelled data when a config sets none. */
export const DEFAULT_LIMITS = { max_energy_per_atom_ev: 1000, max_force_ev_per_a: 1000 } as const;

/**
 * LAMMPS atom type -> element, `{"1": "Cu", "2": "Ni"}`: LAMMPS files carry type numbers, and
 * elements are never guessed from masses.
 */
export const TypeMap = z
  .record(z.string().regex(/^[1-9]\d{0,5}$/, 'must be a LAMMPS atom type (1, 2, ...)'), ChemicalSymbolSchema)
  .refine((m) => Object.keys(m).length > 0, { error: 'maps no type' });
export type TypeMap = z.infer<typeof TypeMap>;

/** `{"1": "Cu", "2": "Ni"}` -> `1=Cu,2=Ni`, as the selection helper takes it. */
export function typeMapArgument(m: TypeMap): string {
  return Object.entries(m)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([t, el]) => `${t}=${el}`)
    .join(',');
}

/** Candidates to choose from for labelling: `n` structures picked from the pool file. */
export const SelectionPool = z
  .object({
    /**
     * Any file of structures readable by the workers, labelled or not: extended XYZ, ASE .traj,
     * VASP POSCAR/CONTCAR/XDATCAR, LAMMPS dump or data (with `typeMap`), CIF, JSON/JSONL of
     * Structure, or a dataset pickle.
     */
    path: z.string().min(1),
    /** How many structures to select: exactly n when the pool holds at least n. */
    n: z.number().int().min(1, 'must be at least 1'),
    memoryLimit: MemoryLimit.default(DEFAULT_SELECTION_MEMORY_LIMIT),
    /** For a LAMMPS pool: atom type -> element. */
    typeMap: TypeMap.optional(),
    ...SelectionStrategyShape,
  })
  .strict()
  .superRefine(checkGammaRange);
export type SelectionPool = z.infer<typeof SelectionPool>;

/** Distribution of per-structure max extrapolation grades gamma (dimensionless; <= 1 interpolates). */
export const GammaStats = z.object({
  /** null when a structure has an element without any active set (gamma unbounded). */
  min: z.number().nullable(),
  max: z.number().nullable(),
  mean: z.number().nullable(),
  median: z.number().nullable(),
  aboveOne: z.number().int(),
  noActiveSet: z.number().int(),
});
export type GammaStats = z.infer<typeof GammaStats>;

/** How a selected structure was chosen: D-optimality, the fill by largest gamma, or the random share. */
export const ChosenBy = z.enum(['pace_select', 'gamma', 'random']);
/** Structures chosen each way (`random` absent in results recorded before it existed). */
export const SelectionCounts = z.object({ pace_select: z.number().int(), gamma: z.number().int(), random: z.number().int().default(0) });
/** Under gamma thresholds: the candidates kept, and those graded below gammaMin or above gammaMax. */
export const SelectionCandidates = z.object({ kept: z.number().int(), below: z.number().int(), above: z.number().int() });

/** What selectActiveSet chose, and how: indices into the pool, one entry per selected structure. */
export const ActiveSetSelection = z.object({
  /** The pool as given, and its size (structures). */
  pool: z.string(),
  poolSize: z.number().int(),
  requested: z.number().int(),
  /** Positions in the pool (0-based), in the order chosen. */
  indices: z.array(z.number().int()),
  /** How each structure was chosen: by pace_select (D-optimality), filled by largest gamma, or drawn at random (randomFraction). */
  chosenBy: z.array(ChosenBy),
  /** Max gamma over the structure's atoms against the current active set; null = element without one. */
  gammaMax: z.array(z.number().nullable()),
  counts: SelectionCounts,
  /** The options it ran with (absent in results recorded before they existed). */
  strategy: z.object({ random: z.number().int(), gammaMin: z.number().nullable(), gammaMax: z.number().nullable(), seed: z.number().int() }).optional(),
  /** Under gamma thresholds: candidates kept, and those graded below gammaMin or above gammaMax. */
  candidates: SelectionCandidates.nullable().optional(),
  /** How many pace_select returned for `-m n` (its cap: at most the active set's size). */
  paceSelectReturned: z.number().int(),
  gamma: GammaStats.nullable(),
  /** Over the whole pool, when known: the fill computed it, or pace_select's projections were at hand (in process). */
  poolGamma: GammaStats.nullable(),
  /**
   * `pool_gamma.json` beside the selection: every pool structure's max gamma against the active
   * set the selection ended with, when known. Absent in results recorded before it was written.
   */
  poolGammaFile: z.string().nullable().optional(),
  /** The selected structures as a pacemaker dataset pickle (index = position in the pool). */
  selected: FileRef,
  /** The same indices as JSON, beside the pickle. */
  indicesFile: z.string(),
  /** Potential YAML the selection used; unfittedPotential: the dry-run shape (generation 0). */
  potential: z.string(),
  unfittedPotential: z.boolean(),
  activeSet: z.string().nullable(),
  memoryLimit: z.string(),
  warnings: z.array(z.string()),
  simulated: z.boolean(),
  /**
   * How pace_select's choice was made: `in-process` runs its own function
   * (pyace.aceselect.select_structures_maxvol) inside the selection process, so the fill reuses
   * its projections; `program` runs the pace_select program beside a projecting process (older
   * pyace without that module). Absent in results recorded before this field existed.
   */
  via: z.enum(['in-process', 'program']).optional(),
  /** Wall time, s. */
  timings: z.object({ totalSeconds: z.number(), paceSelectSeconds: z.number(), dryRunSeconds: z.number() }),
});
export type ActiveSetSelection = z.infer<typeof ActiveSetSelection>;

/** The specification's PotentialArtifact, extended with what makes a potential traceable. */
export const PotentialArtifact = z.object({
  /** The `.yace` file, absolute path. */
  path: z.string(),
  /** The pacemaker potential YAML the `.yace` was converted from. */
  potentialYaml: z.string(),
  metrics: z.object({ train: ErrorMetrics, test: ErrorMetrics.nullable() }),
  /** e.g. `generation_005`. */
  version: z.string(),
  parentVersion: z.string().nullable(),
  datasetSha256: z.string(),
  configSha256: z.string(),
  /** Every file of the generation folder that matters, with its hash. */
  files: z.record(z.string(), FileRef),
  /** True when the pacemaker simulator, not pacemaker, produced it. */
  simulated: z.boolean(),
  /** `pacemaker -v` or the simulator's version line. */
  trainerVersion: z.string(),
  /** pace_activeset's `.asi` beside the `.yace`; null when it could not be computed. */
  activeSet: FileRef.nullable().optional(),
  /** Why there is no active set (e.g. too few atoms for the basis: "under-determined"). */
  activeSetWarning: z.string().nullable().optional(),
  /** Structures selected from the input's pool for labelling. */
  selection: ActiveSetSelection.nullable().optional(),
  /**
   * Where the fit that finished ran: the worker's host, the GPU its training slot pinned it to
   * (null: not pinned) and its threads per program (null: the programs' defaults). Every run's
   * are in the generation's runs.jsonl.
   */
  resources: z.object({ host: z.string(), gpu: z.string().nullable(), threads: z.number().int().positive().nullable() }).optional(),
  /** Wall time of the programs themselves, s: what orchestration overhead is measured against. */
  timings: z.object({
    pacemakerSeconds: z.number(),
    conversionSeconds: z.number(),
    /** The bridge recomputing test errors from test_pred.pckl.gzip. */
    metricsSeconds: z.number().default(0),
    datasetSeconds: z.number().optional(),
    /** pace_activeset after training. */
    activeSetSeconds: z.number().optional(),
  }),
});
export type PotentialArtifact = z.infer<typeof PotentialArtifact>;

/** See FineTuneMode in input-yaml.ts: continue (-p, same basis), extend (ladder from it), reset (same shape from zero). */
export const FineTuneMode = z.enum(['continue', 'extend', 'reset']);

/** Campaign names become folder names and workflow ids. */
export const CampaignName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** The single JSON object a training generation starts from (CLI, UI, parent workflow). */
export const TrainPotentialInput = z
  .object({
    campaign: CampaignName,
    generation: z.number().int().min(0).max(999),
    config: TrainerConfig,
    /** Result files (JSON array or JSONL of CalculationResult) readable by the workers. */
    results: z.array(z.string().min(1)).default([]),
    /** Pacemaker potential YAML to fine-tune from. */
    initialPotential: z.string().min(1).nullable().default(null),
    parentVersion: z.string().nullable().default(null),
    /** Candidates to select from for the next labelling round; none by default. */
    pool: SelectionPool.nullable().default(null),
    /** How to start from initialPotential; `continue` (-p) when absent. */
    fineTune: FineTuneMode.optional(),
  })
  .strict();
export type TrainPotentialInput = z.infer<typeof TrainPotentialInput>;
export type TrainPotentialInputRaw = z.input<typeof TrainPotentialInput>;

/** Renders a zod error as one line per issue: `path.to.field: message (got value)`. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((iss) => {
      const path = [prefix, ...iss.path.map(String)].filter((p) => p !== '').join('.');
      const got = iss.code !== 'unrecognized_keys' && 'input' in iss && iss.input !== undefined ? ` (got ${shortRepr(iss.input)})` : '';
      return `${path || '(root)'}: ${iss.message}${got}`;
    })
    .join('\n');
}

/** A value as a short JSON-like text; deeply nested or cyclic values are cut, never overflow the stack. */
export function shortRepr(v: unknown): string {
  let s: string | undefined;
  try {
    s = typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v);
  } catch {
    s = Array.isArray(v) ? '[[[... (nested too deeply to show)' : '{... (nested too deeply to show)';
  }
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
