/**
 * The dataset helper's replies, one schema per command, checked on arrival (see runHelper). They
 * say what the helper prints today; a field it stops printing fails loudly here instead of
 * turning into `undefined` further on.
 */
import { z } from 'zod';

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

/** Errors of a pacemaker prediction pickle: meV/atom and meV/Å per force component. */
export const PredMetricsReply = z.object({
  structures: z.number(),
  energy_rmse_mev_per_atom: z.number(),
  force_rmse_mev_per_a: z.number(),
  energy_mae_mev_per_atom: z.number(),
  force_mae_mev_per_a: z.number(),
  ...Usage,
});

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
  summary: z.infer<typeof SummaryReply>;
  info: z.infer<typeof InfoReply>;
  export: z.infer<typeof ExportReply>;
  synthesize: z.infer<typeof SynthesizeReply>;
  'synthesize-results': z.infer<typeof SynthesizeReply>;
  'label-emt': z.infer<typeof LabelEmtReply>;
  'pred-metrics': z.infer<typeof PredMetricsReply>;
  'pred-arrays': z.infer<typeof PredArraysReply>;
}
export type DatasetCommand = keyof DatasetReplies;

/** The reply schema of every dataset helper command. */
export const DATASET_REPLIES: { [C in DatasetCommand]: z.ZodType<DatasetReplies[C]> } = {
  append: AppendReply,
  summary: SummaryReply,
  info: InfoReply,
  export: ExportReply,
  synthesize: SynthesizeReply,
  'synthesize-results': SynthesizeReply,
  'label-emt': LabelEmtReply,
  'pred-metrics': PredMetricsReply,
  'pred-arrays': PredArraysReply,
};
