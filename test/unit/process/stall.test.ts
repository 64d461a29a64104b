// The stall watchdog's rules, on an injected clock: how long a program may be silent, when a
// silence is reported as "no progress", and what a stall report holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeSilence, formatDuration, noProgressSeconds, STALL_POLICIES, stallLimitSeconds, StallWatch } from '../../../src/process/stall.js';
import { describeEnd, programFailure, type RunResult } from '../../../src/process/run-program.js';
import { OutOfMemoryError, ProgramFailedError, StalledError } from '../../../src/errors.js';

test("a fit's limit is its floor until 10 x the observed seconds per iteration is longer; a site's limit replaces both", () => {
  const fit = STALL_POLICIES.pacemaker;
  assert.equal(stallLimitSeconds(fit, null), 30 * 60);
  assert.equal(stallLimitSeconds(fit, 0.5), 30 * 60);
  assert.equal(stallLimitSeconds(fit, 600), 6000);
  assert.equal(stallLimitSeconds(fit, 600, 45), 45);
  assert.equal(stallLimitSeconds(fit, null, 0), 0, '0: the watchdog is off');
  // Programs without iterations have their floor only.
  assert.equal(stallLimitSeconds(STALL_POLICIES.pace_select, 600), STALL_POLICIES.pace_select.floorSeconds);
});

test('the watch reports a stall only once the silence is longer than the limit, with the last whole line', () => {
  let now = 0;
  const w = new StallWatch({ limitSeconds: 10, now: () => now });
  w.heard('iteration 1');
  now = 9_000;
  assert.equal(w.check(), null);
  w.heard(); // a partial line (SciPy's progress) counts as output too
  now = 18_000;
  assert.equal(w.check(), null);
  now = 19_500;
  assert.deepEqual(w.check(), { silentSeconds: 10.5, limitSeconds: 10, lastLine: 'iteration 1' });
});

test('a limit that grows with the observed rate is asked for at every check; 0 or a non-finite limit never stalls', () => {
  let now = 0;
  let limit = 5;
  const w = new StallWatch({ limitSeconds: () => limit, now: () => now });
  now = 6_000;
  limit = 60;
  assert.equal(w.check(), null);
  const off = new StallWatch({ limitSeconds: 0, now: () => now });
  now = 1e9;
  assert.equal(off.check(), null);
  assert.equal(off.checkEveryMs(), 5000);
});

test('the watch checks ten times per limit, between 0.1 and 5 s apart', () => {
  assert.equal(new StallWatch({ limitSeconds: 3 }).checkEveryMs(), 300);
  assert.equal(new StallWatch({ limitSeconds: 0.2 }).checkEveryMs(), 100);
  assert.equal(new StallWatch({ limitSeconds: 1800 }).checkEveryMs(), 5000);
});

test('a silence is reported as "no progress" from 3 iterations (at least 30 s) or half the limit, whichever comes first', () => {
  assert.equal(noProgressSeconds(20, 1800, 1), null);
  assert.equal(noProgressSeconds(31, 1800, 1), 31);
  assert.equal(noProgressSeconds(100, 1800, 60), null, 'a slow fit is silent between iterations');
  assert.equal(noProgressSeconds(181, 1800, 60), 181);
  assert.equal(noProgressSeconds(3, 5, null), 3, 'half of a short limit');
  assert.equal(describeSilence(95), 'no progress for 95 s');
  assert.equal(describeSilence(12 * 60 + 40), 'no progress for 12 min');
  assert.equal(formatDuration(0.5), '0.5 s');
  assert.equal(formatDuration(312), '5 min 12 s');
  assert.equal(formatDuration(1800), '30 min');
});

const ended: RunResult = { exitCode: null, signal: 'SIGTERM', timedOut: false, cancelled: false, durationMs: 2000, tail: ['iteration 9'], stdout: '' };

test('a stalled run is a retryable Stalled failure naming its last line and how long it was silent, never a recognised failure', () => {
  const res = { ...ended, tail: ['ResourceExhaustedError'], stalled: { silentSeconds: 1900, limitSeconds: 1800, lastLine: 'Iteration:  #9' } };
  assert.equal(describeEnd(res), 'stalled: no output for 31 min 40 s (limit 30 min), so its process group was killed');
  const err = programFailure(res, { program: 'pacemaker', logFile: '/g/pacemaker.out' });
  assert.ok(err instanceof StalledError);
  assert.equal(err.retryable, true);
  assert.equal(err.type, 'Stalled');
  assert.deepEqual(err.details, { program: 'pacemaker', silentSeconds: 1900, limitSeconds: 1800, lastLine: 'Iteration:  #9', logFile: '/g/pacemaker.out' });
  assert.match(err.message, /^pacemaker stalled: .*; last line: "Iteration: {2}#9"; last output:/);
});

test('a SIGKILL not sent by the worker is the kernel out-of-memory kill; after a cancel, timeout or stall it is not', () => {
  const killed = programFailure({ ...ended, signal: 'SIGKILL' }, { program: 'pacemaker', logFile: '/l' });
  assert.ok(killed instanceof OutOfMemoryError && killed.retryable);
  assert.match(killed.message, /killed by the kernel/);
  const cancelled = programFailure({ ...ended, signal: 'SIGKILL', cancelled: true }, { program: 'pacemaker', logFile: '/l' });
  assert.ok(cancelled instanceof ProgramFailedError);
  const timedOut = programFailure({ ...ended, signal: 'SIGKILL', timedOut: true }, { program: 'pacemaker', logFile: '/l' });
  assert.ok(timedOut instanceof ProgramFailedError);
});
