import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialState, leaveLost, onKey, parseKeys, selectedIndex, type Key, type Row, type TopState } from './top-keys.js';

const rows: Row[] = [{ id: 4 }, { id: 7, uri: 'local:///tmp/x/jobs/7/local.sock' }, { id: 9 }];

function press(s: TopState, keys: Key[], r: Row[] = rows): TopState {
  for (const k of keys) s = onKey(s, k, r);
  return s;
}

void test('top keys: raw terminal bytes become keys (arrows in CSI and SS3 form, j/k, Enter, Backspace, Escape, h, q, Ctrl-C)', () => {
  assert.deepEqual(parseKeys('\x1b[A\x1b[B\x1bOA\x1bOB'), ['up', 'down', 'up', 'down']);
  assert.deepEqual(parseKeys('kj\r\n'), ['up', 'down', 'enter', 'enter']);
  assert.deepEqual(parseKeys('\x7f\bh\x1b'), ['back', 'back', 'back', 'back']);
  assert.deepEqual(parseKeys('q'), ['quit']);
  assert.deepEqual(parseKeys('\x03'), ['quit']);
  // Other keys and sequences (right arrow, F5, letters) do nothing.
  assert.deepEqual(parseKeys('\x1b[C\x1b[15~xyz'), []);
  assert.deepEqual(parseKeys('\x1b[1;5A'), ['up'], 'an arrow with a modifier is still an arrow');
});

void test('top keys: up/down move the selection within the rows, kept by job id', () => {
  let s = initialState();
  assert.equal(selectedIndex(s, rows), 0, 'the first row is selected at first');
  s = press(s, ['down']);
  assert.equal(s.selected, 7);
  s = press(s, ['down', 'down', 'down']);
  assert.equal(s.selected, 9, 'down stops at the last row');
  s = press(s, ['up', 'up', 'up', 'up']);
  assert.equal(s.selected, 4, 'up stops at the first row');
  // The selection follows the job when a refresh reorders the rows.
  s = press(s, ['down']);
  assert.equal(selectedIndex(s, [{ id: 1 }, { id: 9 }, { id: 7 }]), 2);
  // A selected job that left the list: the first row.
  assert.equal(selectedIndex(s, [{ id: 1 }, { id: 2 }]), 0);
  assert.equal(selectedIndex(s, []), -1);
  assert.deepEqual(press(initialState(), ['down', 'up', 'enter'], []), { ...initialState(), message: 'no job to descend into' });
});

void test('top keys: Enter descends into a job that runs an instance, Backspace returns with the job selected again', () => {
  let s = press(initialState(), ['enter']);
  assert.deepEqual(s.path, [], 'job 4 runs no instance');
  assert.match(s.message, /job 4 runs no nested instance/);
  s = press(s, ['down', 'enter']);
  assert.deepEqual(s.path, [{ id: 7, uri: 'local:///tmp/x/jobs/7/local.sock' }]);
  assert.equal(s.selected, undefined, 'the child starts at its first row');
  assert.equal(s.message, '');
  // Two levels down, then back up twice.
  s = press(s, ['enter'], [{ id: 2, uri: 'local:///tmp/x/jobs/7/jobs/2/local.sock' }]);
  assert.deepEqual(s.path.map((l) => l.id), [7, 2]);
  s = press(s, ['back'], []);
  assert.deepEqual(s.path.map((l) => l.id), [7]);
  assert.equal(s.selected, 2);
  s = press(s, ['back']);
  assert.deepEqual(s.path, []);
  assert.equal(s.selected, 7, 'the job descended from is selected again');
  s = press(s, ['back']);
  assert.deepEqual(s.path, []);
  assert.match(s.message, /already at the top/);
  assert.equal(press(s, ['quit']).quit, true);
  assert.equal(press(press(initialState(), ['down', 'enter']), ['quit']).quit, true, 'q quits from any level');
});

void test('top keys: a level that stops answering is left for its parent, saying why', () => {
  const s = press(initialState(), ['down', 'enter']);
  const up = leaveLost(s, 'not answering (it may have just ended)');
  assert.deepEqual(up.path, []);
  assert.equal(up.selected, 7);
  assert.equal(up.message, "job 7's instance: not answering (it may have just ended)");
  assert.deepEqual(leaveLost(initialState(), "x"), initialState(), "nothing to leave at the top");
});
