/**
 * What trainPotentialWorkflow returns: the potential it trained, or, at the start of an
 * active-learning campaign (a pool of candidates and nothing labelled yet), only the structures
 * it selected for labelling. Types only, so workflow code, clients and the CLI share them.
 */
import type { ActiveSetSelection, PotentialArtifact } from './schemas.js';

/** A generation that trained a potential: a PotentialArtifact, plus `stoppedEarly` when a stop was asked for. */
export type GenerationArtifact = PotentialArtifact & {
  /** `potential` in results since selection-only generations exist; absent in older ones. */
  kind?: 'potential';
  stoppedEarly?: { checkpoint: string; iterations: number; reason?: string };
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
