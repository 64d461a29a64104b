// How a program's end becomes one of this project's error kinds: pure, on made-up run results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEnd, oneLineSummary, programFailure, type RunResult } from '../../../src/process/run-program.js';
import { OutOfMemoryError, ProgramFailedError } from '../../../src/errors.js';

const ended: RunResult = { exitCode: 1, signal: null, timedOut: false, cancelled: false, durationMs: 61_400, tail: ['Traceback', 'KeyError: 7'], stdout: '' };

test('describeEnd says how a run ended: exit code, signal, timeout with its length, cancelled, never started', () => {
  assert.equal(describeEnd(ended), 'exited with 1');
  assert.equal(describeEnd({ ...ended, exitCode: null, signal: 'SIGKILL' }), 'exited with SIGKILL');
  assert.equal(describeEnd({ ...ended, timedOut: true, exitCode: null, signal: 'SIGTERM' }), 'timed out after 61 s');
  assert.equal(describeEnd({ ...ended, cancelled: true, exitCode: null, signal: 'SIGTERM' }), 'was cancelled');
  assert.equal(describeEnd({ ...ended, exitCode: null, signal: null }, ['/opt/none/pacemaker', 'input.yaml']), 'could not be started (/opt/none/pacemaker)');
});

test('programFailure quotes the output tail and the log, names what the program was doing, and keeps one line for warnings', () => {
  const e = programFailure(ended, { program: 'pace_yaml2yace', doing: 'converting /g/interim_potential_1.yaml', logFile: '/g/pace_yaml2yace.out' });
  assert.ok(e instanceof ProgramFailedError);
  assert.equal(e.retryable, true);
  assert.deepEqual(e.details, { program: 'pace_yaml2yace', exitCode: 1, signal: null, logFile: '/g/pace_yaml2yace.out', known: null });
  assert.equal(e.message, 'pace_yaml2yace exited with 1 converting /g/interim_potential_1.yaml; last output:\nTraceback\nKeyError: 7\nfull output: /g/pace_yaml2yace.out');
  assert.equal(oneLineSummary(e), 'pace_yaml2yace exited with 1: KeyError: 7; see /g/pace_yaml2yace.out');
  assert.equal(oneLineSummary(new Error('first\nsecond')), 'first');
});

test('a recognised pacemaker failure carries its kind, hint and retry policy; out of memory is its own kind', () => {
  const crash = programFailure({ ...ended, tail: ['EARLY STOPPING', 'Traceback (most recent call last)'] }, { program: 'pacemaker', logFile: '/g/pacemaker.out' });
  assert.ok(crash instanceof ProgramFailedError);
  assert.equal(crash.details.known, 'EarlyStoppingCrash');
  assert.equal(crash.retryable, false);
  assert.match(crash.message, /^pacemaker exited with 1 \[EarlyStoppingCrash: early stopping crashed pacemaker/);
  const oom = programFailure({ ...ended, tail: ['MemoryError: Unable to allocate 18.6 GiB'] }, { program: 'pacemaker', logFile: '/g/pacemaker.out' });
  assert.ok(oom instanceof OutOfMemoryError && oom.retryable);
  // A helper whose output is not pacemaker's is not matched against pacemaker's failures.
  const helper = programFailure({ ...ended, tail: ['AttributeError: x'] }, { program: 'mlip-dataset', logFile: '/l', recognise: false });
  assert.ok(helper instanceof ProgramFailedError && helper.details.known === null && helper.retryable);
});

test('a cancelled or timed-out run is never matched against known failures; whether a cancelled one is retried is the caller\'s policy', () => {
  const cancelled = { ...ended, cancelled: true, exitCode: null, signal: 'SIGTERM', tail: ['MemoryError'] };
  const retried = programFailure(cancelled, { program: 'pacemaker', logFile: '/l' });
  assert.ok(retried instanceof ProgramFailedError && retried.retryable && retried.details.known === null);
  const final = programFailure(cancelled, { program: 'pace_select', logFile: '/l', retryCancelled: false });
  assert.ok(final instanceof ProgramFailedError && !final.retryable);
  const timedOut = programFailure({ ...ended, timedOut: true, tail: ['MemoryError'] }, { program: 'pacemaker', logFile: '/l', retryCancelled: false });
  assert.ok(timedOut instanceof ProgramFailedError && timedOut.retryable);
});
