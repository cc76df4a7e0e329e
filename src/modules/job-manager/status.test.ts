import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { describeStatus, returnCodeOf, signalName, signalOf } from './job.js';

const USR1 = constants.signals.SIGUSR1;

void test('a task killed by a signal reads as the signal, with 128+n as its exit code', () => {
  assert.equal(signalOf(USR1), USR1);
  assert.equal(signalName(USR1), 'SIGUSR1');
  assert.equal(describeStatus(USR1), 'killed by SIGUSR1');
  assert.equal(describeStatus(constants.signals.SIGSEGV | 0x80), 'killed by SIGSEGV (core dumped)');
  assert.equal(returnCodeOf({ status: USR1, started: true }), 128 + USR1);
});

void test('exit codes read as exit codes; success reads as nothing', () => {
  assert.equal(describeStatus(3 << 8), 'exited with code 3');
  assert.equal(describeStatus((128 + USR1) << 8), `exited with code ${128 + USR1}`, 'a shell that exited 138 itself');
  assert.equal(signalOf(3 << 8), undefined);
  assert.equal(describeStatus(0), '');
  assert.equal(describeStatus(undefined), '');
  assert.equal(returnCodeOf({ status: 3 << 8, started: true }), 3);
});
