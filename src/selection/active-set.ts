/**
 * The potential's active set: pace_activeset on the new potential and its training data writes
 * `<potential>.asi` beside it, which the exploration stage needs to compute extrapolation grades.
 * Too few atoms for the basis ("under-determined") is a state of the data, not a failure: the
 * artifact is finished without an active set and says why.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { OutputMissingError } from '../errors.js';
import { DEFAULT_SELECTION_MEMORY_LIMIT, type FileRef, type PotentialArtifact } from '../domain/schemas.js';
import { exists, sha256File, writeFileAtomic } from '../util/files.js';
import { failureOf, NEEDS_ALL_ATOMS, runPace, UNDER_DETERMINED, type StepContext } from './programs.js';

export interface ComputeActiveSetOptions extends StepContext {
  /** The potential YAML (pace_activeset reads the B-basis, not the .yace). */
  potentialYaml: string;
  /** Training data file(s) the potential was fitted on. */
  data: string[];
  /** pace_activeset's `-m` (default 8GB): above it, it works in batches. */
  memoryLimit?: string;
}

export interface ActiveSetResult {
  activeSet: FileRef | null;
  /** Plain words on why there is none. */
  warning: string | null;
  seconds: number;
}

export async function computeActiveSet(o: ComputeActiveSetOptions): Promise<ActiveSetResult> {
  const dir = dirname(o.potentialYaml);
  const asi = o.potentialYaml.replace(/\.ya?ml$/, '.asi');
  const args = [basename(o.potentialYaml), ...o.data.flatMap((d) => ['-d', d]), '-m', o.memoryLimit ?? DEFAULT_SELECTION_MEMORY_LIMIT];
  let res = await runPace(o, 'pace_activeset', args, dir);
  let seconds = res.durationMs / 1000;
  // Above the memory limit pace_activeset works in batches, which it refuses without -a
  // (error-based atom selection is not implemented there): retry considering all atoms.
  if (res.exitCode !== 0 && NEEDS_ALL_ATOMS.test(res.tail.join('\n'))) {
    res = await runPace(o, 'pace_activeset', [...args, '-a'], dir);
    seconds += res.durationMs / 1000;
  }
  if (res.exitCode !== 0) {
    const tail = res.tail.join('\n');
    if (UNDER_DETERMINED.test(tail)) {
      const detail = /projections shape=\((\d+), (\d+)\)/.exec(tail);
      return {
        activeSet: null,
        warning: `no active set: the training data have too few atoms of one element for the potential's basis (under-determined${detail ? `: ${detail[1]} atoms for ${detail[2]} functions` : ''}); label more structures and it will be computed next generation`,
        seconds,
      };
    }
    throw failureOf('pace_activeset', res);
  }
  if (!(await exists(asi))) throw new OutputMissingError(`pace_activeset exited 0 but wrote no ${asi}`);
  return { activeSet: { path: asi, sha256: await sha256File(asi) }, warning: null, seconds };
}

/**
 * Adds the active set to a finished artifact and rewrites its artifact.json. Idempotent: an
 * artifact whose active set file is intact is returned as it is.
 */
export async function attachActiveSet<A extends PotentialArtifact>(
  artifact: A,
  o: Omit<ComputeActiveSetOptions, 'potentialYaml'>,
): Promise<A> {
  const current = artifact.activeSet;
  if (current && (await exists(current.path)) && (await sha256File(current.path)) === current.sha256) return artifact;
  const r = await computeActiveSet({ ...o, potentialYaml: artifact.potentialYaml });
  const files = { ...artifact.files };
  if (r.activeSet) files[basename(r.activeSet.path)] = r.activeSet;
  // Spread, not parse: the artifact may carry other stages' fields that the schema would strip.
  const updated: A = {
    ...artifact,
    files,
    activeSet: r.activeSet,
    activeSetWarning: r.warning,
    timings: { ...artifact.timings, activeSetSeconds: r.seconds },
  };
  const file = join(dirname(artifact.path), 'artifact.json');
  // Keep whatever else artifact.json holds (other stages' fields) and only add ours.
  const onDisk = (await exists(file)) ? (JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>) : {};
  await writeFileAtomic(
    file,
    JSON.stringify({ ...onDisk, files: { ...((onDisk.files as object) ?? {}), ...files }, activeSet: r.activeSet, activeSetWarning: r.warning }, null, 2) + '\n',
  );
  return updated;
}
