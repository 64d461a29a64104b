/**
 * What a campaign report shows, read from the workspace alone (no Temporal server needed): the
 * generations' artifacts, learning curves, run and stage journals, the dataset's history, the
 * selections and the newest potential's predictions. Pure types, so the figures and the page
 * are built and unit-tested without files.
 */
import type { ActiveSetSelection, ErrorMetrics, GammaStats } from '../domain/schemas.js';
import type { CurvePoint } from '../trainer/learning-curve.js';

/** How a generation started: from scratch, or fine-tuned from a parent in one of three ways. */
export type StartMode = 'scratch' | 'continue' | 'extend' | 'reset';

/** One pacemaker run of a generation, as runs.jsonl records it. */
export interface RunSpan {
  run: number;
  /** Iteration (across runs) it started from; > 0 means it resumed from a checkpoint. */
  offset: number;
  /** How it ended: exit code 0, a failure (out of memory, killed), or still open. */
  outcome: 'completed' | 'failed' | 'open';
  failure: string | null;
}

/** A stage's wall time in one generation, from the stage journal (retries and waits included). */
export interface StageTime {
  stage: string;
  seconds: number;
  attempts: number;
}

/** Every pool structure's grade against the active set, and which ones were chosen how. */
export interface PoolGamma {
  /** Largest gamma per pool structure; null: an element with no active set. */
  gammaMax: (number | null)[];
  selected: number[];
  chosenBy: string[];
}

export interface GenerationReport {
  version: string;
  generation: number;
  /** `potential`: trained; `selection-only`: selected from the pool and trained nothing. */
  kind: 'potential' | 'selection-only';
  parentVersion: string | null;
  start: StartMode;
  simulated: boolean;
  metrics: { train: ErrorMetrics; test: ErrorMetrics | null } | null;
  path: string | null;
  /** Why and where a stop asked for ended the fit (the newest checkpoint became the potential). */
  stoppedEarly: { iteration: number | null; reason: string | null } | null;
  curve: CurvePoint[];
  runs: RunSpan[];
  selection: ActiveSetSelection | null;
  poolGamma: PoolGamma | null;
  stages: StageTime[];
  /** Program run time from the artifact (s), when there is no stage journal. */
  programSeconds: Record<string, number>;
}

/** What one dataset update added, per element and split. */
export interface DatasetGrowth {
  generation: number | null;
  time: string;
  added: { train: number; test: number };
  /** Per element: atoms added to train and test; absent in updates recorded before it was kept. */
  elements: Record<
    string,
    { structures: { train: number; test: number }; atoms: { train: number; test: number } }
  > | null;
}

/** The parity and error arrays of a prediction pickle (python: mlip_trainer.predictions). */
export interface PredictionArrays {
  source: string;
  reference: string;
  structures: number;
  atoms: number;
  elementsKnown: boolean;
  /** Per structure, eV/atom. */
  energy: { reference: number[]; predicted: number[]; natoms: number[] };
  /** Per sampled force component, eV/Å. */
  forces: {
    element: string[];
    reference: number[];
    predicted: number[];
    sampled: number;
    total: number;
  };
  errors: {
    energy_rmse_mev_per_atom: number;
    energy_mae_mev_per_atom: number;
    force_rmse_mev_per_a: number;
    force_mae_mev_per_a: number;
    perElement: Record<
      string,
      {
        force_rmse_mev_per_a: number;
        force_mae_mev_per_a: number;
        components: number;
        atoms: number;
      }
    >;
  };
}

export interface CampaignReport {
  campaign: string;
  campaignDir: string;
  elements: string[];
  generations: GenerationReport[];
  dataset: { total: number; train: number; test: number; history: DatasetGrowth[] } | null;
  /** The newest trained generation's predictions: on its test set, or its train set when it has none. */
  newest: {
    version: string;
    set: 'test' | 'train';
    simulated: boolean;
    arrays: PredictionArrays;
  } | null;
  /** When the report was made (ISO). */
  made: string;
}

export type { GammaStats };
