// The command line's value parsing: bad values name the flag and the value. Pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { campaignName, CliInputError, nonNegativeInt, positiveInt, positiveNumber, typeMap } from '../../../src/cli/options.js';
import { connectionFailureReason, isConnectionFailure, unreachableMessage } from '../../../src/cli/connect.js';

test('counts are whole numbers written as digits, within their bounds', () => {
  assert.equal(positiveInt('-n', '50'), 50);
  assert.equal(nonNegativeInt('--generation', '0', 999), 0);
  for (const bad of ['0', '-1', '1.5', '1e3', '0x10', 'NaN', '', 'many', '99999999999999999999']) {
    assert.throws(() => positiveInt('-n', bad), (e: unknown) => e instanceof CliInputError && e.message === `-n must be a positive integer, got ${JSON.stringify(bad)}`);
  }
  assert.throws(() => nonNegativeInt('--generation', '1000', 999), /--generation must be at most 999, got "1000"/);
});

test('positive numbers take decimals and exponents, never NaN, Infinity or zero', () => {
  assert.equal(positiveNumber('--max-force', '2.5e3'), 2500);
  for (const bad of ['0', '-3', 'NaN', 'Infinity', '1e400', '', 'abc']) {
    assert.throws(() => positiveNumber('--max-force', bad), new RegExp(`--max-force must be a positive number, got ${JSON.stringify(bad)}`));
  }
});

test('a type map is type=element pairs', () => {
  assert.deepEqual(typeMap('--type-map', '1=Cu, 2=Ni'), { '1': 'Cu', '2': 'Ni' });
  for (const bad of ['1:Cu', '0=Cu', '1=Kk', 'Cu', ',', '1=Cu,1=Ni']) {
    assert.throws(() => typeMap('--type-map', bad), (e: unknown) => e instanceof CliInputError && e.message.includes(`got ${JSON.stringify(bad)}`));
  }
});

test('campaign names become folders and workflow ids', () => {
  assert.equal(campaignName('--campaign', 'cu-ni_2'), 'cu-ni_2');
  assert.throws(() => campaignName('--campaign', '../x'), /--campaign must be .* \(got "\.\.\/x"\)/);
});

test('an unreachable server is told in one line with the address and what to do', () => {
  const line = unreachableMessage('localhost:7233', 'ECONNREFUSED');
  assert.equal(line.includes('\n'), false);
  assert.match(line, /cannot reach the Temporal server at localhost:7233 \(ECONNREFUSED\); start the embedded one with `mlip-trainer dev`.*TEMPORAL_ADDRESS/);
  const native = { name: 'TransportError', message: 'tonic::transport::Error(Transport, ConnectError(ConnectError("tcp connect error", 127.0.0.1:1, Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })))' };
  assert.ok(isConnectionFailure(native));
  assert.equal(connectionFailureReason(Object.assign(new Error(native.message), { name: native.name })), 'Connection refused');
  assert.ok(isConnectionFailure(new Error('Failed to connect before the deadline')));
  assert.equal(isConnectionFailure(new Error('workflow failed')), false);
});
