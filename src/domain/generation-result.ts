/**
 * What trainPotentialWorkflow returns: the potential it trained, or, at the start of an
 * active-learning campaign (a pool of candidates and nothing labelled yet), only the structures
 * it selected for labelling. Types only, so workflow code, clients and the CLI share them.
 */
import type { ActiveSetSelection, PotentialArtifact } from './schemas.js';

/**
 * What an early-stopped potential adds to its PotentialArtifact: the finaliseCheckpoint
 * activity's `stoppedEarly` (src/trainer/finalise-checkpoint.ts). Results of generations stopped
 * before the stopped potential was evaluated lack `trainMetricsFrom`, `evaluationDir` and `warnings`.
 */
export interface EarlyStopInfo {
  /** The checkpoint the potential was taken from. */
  checkpoint: string;
  /**
   * The iteration the potential and its metrics belong to: iterations of the generation (earlier
   * runs of a resumed generation included, as at the end of a fit) up to the metrics.txt row
   * whose train errors the evaluation reproduces (the initial state excluded); when there is no
   * evaluation, or no row matches, up to metrics.txt's last row. A stop in a resumed run that had
   * completed no iteration yet takes the checkpoint it resumed from, and that checkpoint's count.
   */
  iterations: number;
  /**
   * Where metrics.train comes from: `evaluation` (train_pred.pckl.gzip of the `--no-fit` run on
   * the stopped potential, with the loss of its metrics.txt row) or `metrics.txt` (its last row;
   * the evaluation failed), or, for a stop at the checkpoint a resumed run started from,
   * `learning_curve.tsv` (its point of that iteration; the evaluation failed).
   */
  trainMetricsFrom: 'evaluation' | 'metrics.txt' | 'learning_curve.tsv';
  /** The `--no-fit` evaluation's folder, relative to the generation folder. */
  evaluationDir: string;
  /** Why metrics.test is null (evaluation failed, no test set), or why `iterations` is not exact. */
  warnings: string[];
}

/** A generation that trained a potential: a PotentialArtifact, plus `stoppedEarly` when a stop was asked for. */
export type GenerationArtifact = PotentialArtifact & {
  /** `potential` in results since selection-only generations exist; absent in older ones. */
  kind?: 'potential';
  /** The activity's EarlyStopInfo and the reason the stopTraining signal gave. */
  stoppedEarly?: EarlyStopInfo & { reason?: string };
};

/**
 * A generation that had a pool but no labelled structures: it selected from the pool with the
 * unfitted potential shape (or `initialPotential`, when given) and trained nothing.
 */
export interface SelectionOnlyResult {
  kind: 'selection-only';
  /** e.g. `generation_000`. */
  version: string;
  /** Always false: no potential was trained, so there is no `.yace`, no metrics, no active set. */
  trained: false;
  /** Plain words on why nothing was trained. */
  reason: string;
  /** The structures to label next (see ActiveSetSelection). */
  selection: ActiveSetSelection;
  /** The (empty) dataset it found, for traceability. */
  datasetSha256: string;
  /** Wall time of the programs, s. */
  timings: { datasetSeconds: number };
}

export type GenerationResult = GenerationArtifact | SelectionOnlyResult;

export function isSelectionOnly(r: GenerationResult): r is SelectionOnlyResult {
  return r.kind === 'selection-only';
}
