/**
 * Which files in a folder of labelled results are results: what the active-learning loop's
 * collector takes from `<labelledDir>/generation_NNN/` (and its subfolders, one calculation per
 * folder being the usual DFT layout). Every such file goes to the one reader of labelled data,
 * as `dataset add` and `train --results` do. Pure, so it is tested without disk.
 */

/** CalculationResult JSON/JSONL, extended XYZ, ASE trajectories. */
const RESULT_SUFFIXES = /\.(json|jsonl|ndjson|extxyz|xyz|traj)$/i;
/** pacemaker dataset pickles (`pace_collect` output and the like). */
const PICKLE_SUFFIXES = /\.(pckl\.gzip|pkl\.gz|pkl\.gzip|pckl\.gz|pckl|pkl)$/i;
/** VASP's outputs, as VASP names them (`OUTCAR`, `OUTCAR.relax`, `vasprun.xml`, `vasprun_3.xml`). */
const VASP_NAMES = /^(OUTCAR([._-].*)?|vasprun.*\.xml)$/;

/** Subfolders deeper than this below the generation's folder are not looked into. */
export const LABELLED_MAX_DEPTH = 4;

/** Whether a file of this name is read as labelled results. */
export function isLabelledResultName(name: string): boolean {
  if (name.startsWith('.')) return false;
  return RESULT_SUFFIXES.test(name) || PICKLE_SUFFIXES.test(name) || VASP_NAMES.test(name);
}

/** What the collector takes, for messages. */
export const LABELLED_FILES_DESCRIPTION =
  'CalculationResult .json/.jsonl, extended XYZ (.extxyz, .xyz), ASE .traj, VASP OUTCAR or vasprun*.xml, or a pacemaker pickle (.pckl.gzip, .pkl.gz)';
