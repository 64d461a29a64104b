// The selection's pure parts: the pool in the workflow input, the memory limit, the artifact fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RANDOM_FRACTION, MemoryLimit, PotentialArtifact, SelectionPool, TrainPotentialInput, describeIssues } from '../../../src/domain/schemas.js';
import { NEEDS_ALL_ATOMS, UNDER_DETERMINED, failureOf } from '../../../src/selection/programs.js';
import { OutOfMemoryError, ProgramFailedError } from '../../../src/errors.js';

const base = {
  campaign: 'c',
  generation: 0,
  config: { engine: 'pacemaker', pacemaker: { elements: ['Cu'], cutoff: 5 } },
};

test('the workflow input has no pool by default, and a pool gets the default memory limit and random share', () => {
  assert.equal(TrainPotentialInput.parse(base).pool, null);
  const withPool = TrainPotentialInput.parse({ ...base, pool: { path: '/p.pckl.gzip', n: 5 } });
  assert.deepEqual(withPool.pool, { path: '/p.pckl.gzip', n: 5, memoryLimit: '8GB', randomFraction: DEFAULT_RANDOM_FRACTION });
});

test('a pool with n <= 0, a missing path, an unknown key or a bad memory limit is refused, naming field and value', () => {
  const bad = (pool: unknown) => {
    const r = TrainPotentialInput.safeParse({ ...base, pool }, { reportInput: true });
    if (r.success) throw new assert.AssertionError({ message: 'expected the pool to be refused' });
    return describeIssues(r.error, 'input');
  };
  assert.match(bad({ path: '/p', n: 0 }), /input\.pool\.n: must be at least 1 \(got 0\)/);
  assert.match(bad({ path: '/p', n: 2.5 }), /input\.pool\.n: .*\(got 2\.5\)/);
  assert.match(bad({ n: 3 }), /input\.pool\.path/);
  assert.match(bad({ path: '/p', n: 3, memoryLimit: '1e9' }), /input\.pool\.memoryLimit: must look like 8GB or 500MB \(got "1e9"\)/);
  assert.match(bad({ path: '/p', n: 3, size: 1 }), /input\.pool: Unrecognized key/);
});

test('memory limits are only <number>GB or <number>MB, because pacemaker evaluates the text as Python', () => {
  for (const ok of ['8GB', '500MB', '1.5GB']) assert.ok(MemoryLimit.safeParse(ok).success, ok);
  for (const no of ['8gb', '8 GB', 'auto', '2**30', '__import__("os").system("x")', '']) assert.equal(MemoryLimit.safeParse(no).success, false, no);
  assert.equal(SelectionPool.parse({ path: 'p', n: 1, memoryLimit: '2GB' }).memoryLimit, '2GB');
});

test('an artifact from before active sets and selection (no activeSet, no selection) still parses', () => {
  const a = {
    path: '/g/output_potential.yace',
    potentialYaml: '/g/output_potential.yaml',
    metrics: { train: { energy_rmse_mev_per_atom: 1, force_rmse_mev_per_a: 2, energy_mae_mev_per_atom: null, force_mae_mev_per_a: null, iterations: 3, loss: null }, test: null },
    version: 'generation_000',
    parentVersion: null,
    datasetSha256: 'x',
    configSha256: 'y',
    files: {},
    simulated: true,
    trainerVersion: 'sim',
    timings: { pacemakerSeconds: 1, conversionSeconds: 1 },
  };
  const parsed = PotentialArtifact.parse(a);
  assert.equal(parsed.activeSet, undefined);
  assert.equal(PotentialArtifact.parse({ ...a, activeSet: null, activeSetWarning: 'under-determined' }).activeSetWarning, 'under-determined');
});

test("pace_activeset's under-determined and batch-mode messages are recognised as they are printed", () => {
  assert.ok(UNDER_DETERMINED.test('ValueError: Insufficient atomic environments to determine active set for species type 0, system is under-determined, projections shape=(3, 10)'));
  assert.ok(NEEDS_ALL_ATOMS.test('2026/11/30 05:07:46 E - WARNING! Error-based selection of atoms in batch mode is not implemented. Please use --all-atoms option'));
});

test('a failed pace program becomes ProgramFailed (retryable unless cancelled) or OutOfMemory, with its output tail', () => {
  const res = { exitCode: 1, signal: null, timedOut: false, cancelled: false, durationMs: 5, tail: ['Traceback', 'KeyError: 7'], stdout: '', logFile: '/w/pace_select.out' };
  const e = failureOf('pace_select', res);
  assert.ok(e instanceof ProgramFailedError);
  assert.equal(e.retryable, true);
  assert.match(e.message, /pace_select exited with 1; last output:\nTraceback\nKeyError: 7\nfull output: \/w\/pace_select\.out/);
  const cancelled = failureOf('pace_select', { ...res, cancelled: true, exitCode: null, signal: 'SIGTERM' });
  assert.ok(cancelled instanceof ProgramFailedError && !cancelled.retryable);
  const oom = failureOf('pace_select', { ...res, tail: ['MemoryError: Unable to allocate 18.6 GiB for an array'] });
  assert.ok(oom instanceof OutOfMemoryError, 'a MemoryError is the OutOfMemory kind');
});
