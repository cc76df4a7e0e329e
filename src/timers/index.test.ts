import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_TIMER_MS, setLongTimeout } from './index.js';

const DAY = 86400_000;

void test('a 30-day timer does not fire early (a plain setTimeout fires after 1 ms)', async () => {
  let fired = false;
  const t = setLongTimeout(() => { fired = true; }, 30 * DAY);
  // Timers run in order of their due time: a timer due in 1 ms (the overflow) runs before this one.
  await new Promise((r) => setTimeout(r, 50));
  t.clear();
  assert.equal(fired, false);
});

void test('re-arms in steps until the whole delay has passed, then fires once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let fired = 0;
  setLongTimeout(() => fired++, 2.5 * MAX_TIMER_MS);
  t.mock.timers.tick(MAX_TIMER_MS);
  assert.equal(fired, 0, 'after one step');
  t.mock.timers.tick(MAX_TIMER_MS);
  assert.equal(fired, 0, 'after two steps');
  t.mock.timers.tick(0.5 * MAX_TIMER_MS - 2);
  assert.equal(fired, 0, 'just before the end');
  t.mock.timers.tick(2);
  assert.equal(fired, 1, 'at the end');
  t.mock.timers.tick(10 * MAX_TIMER_MS);
  assert.equal(fired, 1, 'only once');
});

void test('365 days (the longest time limit) fires at 365 days, not before', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let fired = 0;
  setLongTimeout(() => fired++, 365 * DAY);
  // The mock runs a due timer at the end of a tick: tick one step at a time, as real time passes.
  let left = 365 * DAY;
  while (left > MAX_TIMER_MS) {
    t.mock.timers.tick(MAX_TIMER_MS);
    left -= MAX_TIMER_MS;
    assert.equal(fired, 0, `${left} ms before the end`);
  }
  t.mock.timers.tick(left - 1);
  assert.equal(fired, 0, '1 ms before the end');
  t.mock.timers.tick(1);
  assert.equal(fired, 1);
});

void test('short delays behave as setTimeout', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let fired = 0;
  setLongTimeout(() => fired++, 1000);
  t.mock.timers.tick(999);
  assert.equal(fired, 0);
  t.mock.timers.tick(1);
  assert.equal(fired, 1);
});

void test('clear() stops it in any step; Infinity never fires; NaN and negative fire at once', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let fired = 0;
  const a = setLongTimeout(() => fired++, 3 * MAX_TIMER_MS);
  t.mock.timers.tick(MAX_TIMER_MS + 5);
  a.clear();
  a.clear();
  t.mock.timers.tick(5 * MAX_TIMER_MS);
  assert.equal(fired, 0, 'cleared in its second step');
  setLongTimeout(() => fired++, Infinity);
  t.mock.timers.tick(100 * MAX_TIMER_MS);
  assert.equal(fired, 0, 'Infinity');
  setLongTimeout(() => fired++, NaN);
  setLongTimeout(() => fired++, -5);
  t.mock.timers.tick(1);
  assert.equal(fired, 2, 'NaN and negative');
});

void test('unref() keeps applying to later steps', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const unrefs = mock.method(Object.getPrototypeOf(setTimeout(() => {}, 1)) as { unref(): unknown }, 'unref');
  const h = setLongTimeout(() => {}, 2 * MAX_TIMER_MS + 10).unref();
  const before = unrefs.mock.callCount();
  t.mock.timers.tick(MAX_TIMER_MS);
  assert.ok(unrefs.mock.callCount() > before, 'the re-armed step is unref\'ed too');
  h.clear();
  unrefs.mock.restore();
});
