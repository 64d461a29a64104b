/**
 * The dataset helper's replies, one schema per command, checked on arrival (see runHelper). They
 * say what the helper prints today; a field it stops printing fails loudly here instead of
 * turning into `undefined` further on.
 */
import { z } from 'zod';

/** See DatasetState.fittedEnergy. */
export const FittedEnergy = z.enum(['energy', 'energy_corrected']);
export type FittedEnergy = z.infer<typeof FittedEnergy>;

/** Single-atom reference energies, eV: one number for every element, or per element. */
const ReferenceEnergy = z.union([z.number(), z.record(z.string(), z.number())]);

/** Structures (or atoms) per side of the stable train/test split. */
export const SplitCounts = z.object({ train: z.number(), test: z.number() });
export type SplitCounts = z.infer<typeof SplitCounts>;

/** What every successful reply adds: the helper process's own resource use. */
const Usage = { peakRssMb: z.number(), cpuSeconds: z.number() };

/** The dataset after an update, as `append` and `summary` report it. */
export const DatasetState = z.object({
  /** The accumulated dataset, `data/accumulated.pckl.gzip`. */
  path: z.string(),
  /** Training file: pacemaker's `data.filename`. */
  trainPath: z.string(),
  /** Held-out test file, or null to let pacemaker split by `test_size`. */
  testPath: z.string().nullable(),
  /** sha256 of the dataset file: its version. */
  sha256: z.string(),
  /** Structures appended by this call. */
  added: z.number(),
  /** Results of this call already in the dataset (or repeated within the batch), not appended. */
  duplicates: z.number(),
  /** Structures in the dataset afterwards. */
  total: z.number(),
  /** Structures per side of the stable split afterwards. */
  structures: SplitCounts,
  elements: z.array(z.string()),
  /** `data/manifest.json`: counts, version and history of appends. */
  manifestPath: z.string(),
  /**
   * What pacemaker fits as stored: `energy` (it corrects the total energies with the config's
   * `reference_energy`) or `energy_corrected` (some structures are known only by their corrected
   * energy: training passes no `data.reference_energy`). Absent in replies of older versions.
   */
  fittedEnergy: FittedEnergy.default('energy'),
  /** The single-atom energies the dataset's `energy_corrected` values were made with, when known. */
  referenceEnergy: ReferenceEnergy.nullable().default(null),
});
export type DatasetState = z.infer<typeof DatasetState>;

export const AppendReply = DatasetState.extend({
  ...Usage,
  /** Seconds per step of the append (read, validate, hash, lock_wait, ...). */
  timings: z.record(z.string(), z.number()),
  /** The hash index was missing or stale and was rebuilt from the dataset. */
  indexRebuilt: z.boolean(),
});

export const SummaryReply = DatasetState.extend({ ...Usage, rows: z.number(), natoms_total: z.number() });

/** `check`: the results read and validated as `append` would, nothing written. */
export const CheckReply = z.object({
  records: z.number(),
  /** Per file: its results, and how many of them are known only by their corrected energy. */
  files: z.array(z.object({ path: z.string(), records: z.number(), correctedOnly: z.number() })),
  ...Usage,
});

/** One update of the dataset, as recorded in the manifest; it also carries the caller's origin fields. */
export const DatasetHistoryEntry = z.looseObject({
  time: z.string(),
  workflowId: z.string().optional(),
  runId: z.string().optional(),
  generation: z.number().optional(),
  via: z.string().optional(),
  sources: z.array(z.string()),
  received: z.number(),
  added: z.number(),
  addedTrain: z.number(),
  addedTest: z.number(),
  duplicates: z.number(),
  testFraction: z.number(),
  sha256: z.string(),
  /** What the update added per element and split (absent in updates recorded before it was kept). */
  addedElements: z.record(z.string(), z.object({ structures: SplitCounts, atoms: SplitCounts })).optional(),
});
export type DatasetHistoryEntry = z.infer<typeof DatasetHistoryEntry>;

/** The manifest (`data/manifest.json`), as `info` brings it up to date. */
export const DatasetManifest = z.object({
  format: z.number().optional(),
  path: z.string(),
  trainPath: z.string(),
  testPath: z.string().nullable(),
  sha256: z.string(),
  total: z.number(),
  structures: SplitCounts,
  atoms: SplitCounts,
  elements: z.record(z.string(), z.object({ structures: SplitCounts, atoms: SplitCounts })),
  testFraction: z.number().nullable(),
  fittedEnergy: FittedEnergy.default('energy'),
  correctedOnly: z.number().default(0),
  referenceEnergy: ReferenceEnergy.nullable().default(null),
  hash: z.object({ algorithm: z.string(), fields: z.array(z.string()), decimals: z.number() }),
  updated: z.string(),
  history: z.array(DatasetHistoryEntry),
});
export type DatasetManifest = z.infer<typeof DatasetManifest>;

export const InfoReply = DatasetManifest.extend(Usage);

export const ExportReply = z.object({ rows: z.number(), out: z.string().optional(), format: z.string().optional(), ...Usage });

/** `synthesize` and `synthesize-results`: benchmark data written to `out`. */
export const SynthesizeReply = z.object({ out: z.string(), count: z.number(), ...Usage });

export const LabelEmtReply = z.object({ out: z.string(), count: z.number(), elements: z.array(z.string()), ...Usage });

/** Errors of predictions: meV/atom and meV/Å per force component. */
export const PredictionErrors = z.object({
  structures: z.number(),
  energy_rmse_mev_per_atom: z.number(),
  force_rmse_mev_per_a: z.number(),
  energy_mae_mev_per_atom: z.number(),
  force_mae_mev_per_a: z.number(),
});
export type PredictionErrors = z.infer<typeof PredictionErrors>;

/** Errors of a pacemaker prediction pickle; with `--by-category`, per category of the names too. */
export const PredMetricsReply = PredictionErrors.extend({
  categories: z.record(z.string(), PredictionErrors).optional(),
  ...Usage,
});

/** What the oracle did: pool positions labelled now, and skipped (labelled before). */
export const LabelReply = z.object({
  out: z.string(),
  calculator: z.string(),
  labelled: z.array(z.number()),
  skipped: z.array(z.number()),
  /** Records in `out` afterwards. */
  records: z.number(),
  lockWaitSeconds: z.number(),
  seconds: z.number(),
  /** The pool without the chosen structures, when asked for. */
  remaining: z.object({ path: z.string(), rows: z.number(), removed: z.number(), sha256: z.string() }).nullable(),
  ...Usage,
});

export const CalculatorsReply = z.object({
  calculators: z.array(z.object({ name: z.string(), elements: z.array(z.string()), description: z.string() })),
  ...Usage,
});

const Written = z.object({ path: z.string(), rows: z.number(), categories: z.record(z.string(), z.number()), sha256: z.string() });
export const ExplorationPoolReply = z.object({ pool: Written, test: Written.optional(), ...Usage });

/**
 * `pred-arrays`: a prediction pickle's parity and error arrays, written to `out` (see
 * PredictionArrays in src/report/inputs.ts), with the errors from all its rows.
 */
export const PredArraysReply = z.object({
  out: z.string(),
  structures: z.number(),
  atoms: z.number(),
  elements: z.array(z.string()),
  elementsKnown: z.boolean(),
  forcesSampled: z.number(),
  forcesTotal: z.number(),
  energy_rmse_mev_per_atom: z.number(),
  force_rmse_mev_per_a: z.number(),
  energy_mae_mev_per_atom: z.number(),
  force_mae_mev_per_a: z.number(),
  ...Usage,
});

/** What each dataset helper command replies. */
export interface DatasetReplies {
  append: z.infer<typeof AppendReply>;
  check: z.infer<typeof CheckReply>;
  summary: z.infer<typeof SummaryReply>;
  info: z.infer<typeof InfoReply>;
  export: z.infer<typeof ExportReply>;
  synthesize: z.infer<typeof SynthesizeReply>;
  'synthesize-results': z.infer<typeof SynthesizeReply>;
  'label-emt': z.infer<typeof LabelEmtReply>;
  'pred-metrics': z.infer<typeof PredMetricsReply>;
  label: z.infer<typeof LabelReply>;
  calculators: z.infer<typeof CalculatorsReply>;
  'exploration-pool': z.infer<typeof ExplorationPoolReply>;
  'pred-arrays': z.infer<typeof PredArraysReply>;
}
export type DatasetCommand = keyof DatasetReplies;

/** The reply schema of every dataset helper command. */
export const DATASET_REPLIES: { [C in DatasetCommand]: z.ZodType<DatasetReplies[C]> } = {
  append: AppendReply,
  check: CheckReply,
  summary: SummaryReply,
  info: InfoReply,
  export: ExportReply,
  synthesize: SynthesizeReply,
  'synthesize-results': SynthesizeReply,
  'label-emt': LabelEmtReply,
  'pred-metrics': PredMetricsReply,
  label: LabelReply,
  calculators: CalculatorsReply,
  'exploration-pool': ExplorationPoolReply,
  'pred-arrays': PredArraysReply,
};
