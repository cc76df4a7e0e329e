import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStart } from './nested-main.js';

void test('nested start: the form batch and alloc write is parsed; anything else goes to the full CLI', () => {
  assert.deepEqual(parseStart([]), { attrs: {}, program: [] });
  assert.deepEqual(parseStart(['-o', 'sched.policy=fcfs', '--setattr', 'a.b=x=y', 'sh', '-c', 'echo -o']),
    { attrs: { 'sched.policy': 'fcfs', 'a.b': 'x=y' }, program: ['sh', '-c', 'echo -o'] });
  assert.deepEqual(parseStart(['--', '-weird-program']), { attrs: {}, program: ['-weird-program'] });
  assert.equal(parseStart(['--fanout', '3', 'true']), undefined, 'other options: the full CLI');
  assert.equal(parseStart(['-o', 'novalue']), undefined, 'a bad -o: the full CLI says what is wrong');
  assert.equal(parseStart(['-o']), undefined);
});
