/**
 * The specification's BaseTrainer: what a training engine does for a generation, whatever the engine.
 * Activities and the CLI use only this (from createTrainer / openDataset); PacemakerTrainer is
 * the one engine.
 *
 * The specification's `train(dataset, initial_potential)` appends the labelled results and then trains.
 * Here those are two steps, `updateDataset` and `train`, because a generation runs them as two
 * activities (retried apart: a crashed fit must not append again); `train` takes the dataset
 * version the update returned.
 */
import { BadInputError } from '../errors.js';
import type { EarlyStopInfo } from '../domain/generation-result.js';
import type { FineTuneMode } from '../domain/input-yaml.js';
import type { CheckpointRef, TrainingProgress } from '../domain/progress.js';
import type { PotentialArtifact } from '../domain/schemas.js';
import type { AppendOrigin, DatasetManifest, DatasetSummary, TrainingData } from '../dataset/store.js';
import type { Toolchain } from '../pacemaker/toolchain.js';
import type { RunOwner } from './stale-process.js';

export interface Trainer {
  /**
   * The specification's update_dataset: validates result files (CalculationResult JSON/JSONL, or anything
   * ASE reads with energies and forces) against the config's elements and appends the results
   * not yet in the campaign's dataset. Idempotent: a re-sent batch adds nothing.
   */
  updateDataset(files: readonly string[], origin?: AppendOrigin): Promise<DatasetSummary>;

  /**
   * The specification's train: trains the generation's potential on `data` (a dataset version from
   * updateDataset), from scratch (`initialPotential` null) or fine-tuned from a parent. Resumes
   * from the newest checkpoint of the same inputs; a generation already trained on the same
   * data, config and parent returns its artifact without training again.
   */
  train(data: TrainingData, initialPotential: InitialPotential | null, ctx?: TrainContext): Promise<PotentialArtifact>;

  /**
   * Early stop: after training was stopped (its program killed), the generation's newest
   * checkpoint becomes its potential, with metrics and an artifact like a finished fit's.
   */
  finaliseCheckpoint(data: TrainingData, ctx?: StopContext): Promise<EarlyStoppedArtifact>;
}

/** The potential a fine-tune starts from, and how (see FineTuneMode). */
export interface InitialPotential {
  path: string;
  mode: FineTuneMode;
}

/** What the previous attempt of the same generation reported last (Temporal's heartbeat details). */
export interface ResumePoint {
  /** Its newest checkpoint: used when intact and of the same inputs (the folder's own record may be newer). */
  checkpoint?: CheckpointRef | null;
  /** Its `backend.batch_size` (smaller after out-of-memory exits): never exceeded. */
  batchSize?: number | null;
}

export interface TrainContext {
  /** Fires on every parsed iteration, new checkpoint and stage change. */
  onProgress?: (p: TrainingProgress) => void;
  /** Cancels training: the running program's process group is killed. */
  signal?: AbortSignal;
  resume?: ResumePoint;
  /** Workflow id + activity id + attempt: keys the pid file used to stop a stale pacemaker. */
  owner?: RunOwner;
}

export interface StopContext {
  signal?: AbortSignal;
}

/** The artifact of a generation whose training was stopped early, and how it was stopped. */
export type EarlyStoppedArtifact = PotentialArtifact & { stoppedEarly: EarlyStopInfo };

/**
 * The start of a generation as its input gives it: no parent (from scratch), or a parent and a
 * fine-tune mode (`continue` when none is given). A mode without a parent is bad input.
 */
export function initialPotentialOf(path: string | null, fineTune?: FineTuneMode): InitialPotential | null {
  if (path === null) {
    if (fineTune !== undefined) throw new BadInputError(`fineTune: ${JSON.stringify(fineTune)} needs an initialPotential to start from (got null)`);
    return null;
  }
  return { path, mode: fineTune ?? 'continue' };
}

/** The campaign's dataset in the engine's format, for the dataset commands that need no trainer config. */
export interface TrainingDataset {
  /** See Trainer.updateDataset; `elements`: every atom must be one of these. */
  appendFiles(files: readonly string[], elements?: readonly string[], origin?: AppendOrigin): Promise<DatasetSummary>;
  /** The manifest: counts per split and element, version, history. */
  info(): Promise<DatasetManifest>;
  /** Writes the dataset (or one side of the split) as extended XYZ or CalculationResult JSONL. */
  export(out: string, format: 'extxyz' | 'jsonl', split?: 'all' | 'train' | 'test'): Promise<{ rows: number; out: string }>;
}

/** A campaign's dataset, opened without a trainer config (the CLI's dataset commands). */
export interface DatasetContext {
  /** Root of one campaign: holds `data/` and `potentials/`. */
  campaignDir: string;
  toolchain: Toolchain;
  /** Share of new structures held out for testing; undefined: as the dataset last recorded. */
  testFraction?: number;
  /** Single-atom energies, eV: the dataset then carries `energy_corrected`. */
  referenceEnergy?: number | Record<string, number>;
}
