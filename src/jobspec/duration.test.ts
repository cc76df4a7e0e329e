import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FractalError } from '../errors/index.js';
import { formatDuration, parseDuration } from './index.js';

// RFC 23's own test vectors first, then more.
const GOOD: [string | number, number][] = [
  ['2ms', 0.002],
  ['0.1s', 0.1],
  ['30', 30],
  ['1.2h', 4320],
  ['5m', 300],
  ['0s', 0],
  ['5d', 432000],
  ['inf', Infinity],
  ['INF', Infinity],
  ['infinity', Infinity],
  ['Infinity', Infinity],
  ['1.5h', 5400],
  ['10m', 600],
  ['.5m', 30],
  ['3.', 3],
  ['1e3', 1000],
  ['1e2s', 100],
  [' 30s ', 30],
  ['0', 0],
  [0, 0],
  [90, 90],
  [1.5, 1.5],
  [Infinity, Infinity],
];

const BAD: (string | number)[] = ['5x', '', ' ', '-5', '-1s', 'abc', '1.5.2', '5 m', 'm', '1hh', 'infs', 'nan', 'NaN', '0x10', '1e', '+5', -1, NaN, '1e400'];

for (const [input, seconds] of GOOD) {
  void test(`parseDuration(${JSON.stringify(input)}) = ${seconds}`, () => {
    const got = parseDuration(input);
    if (seconds === Infinity) assert.equal(got, Infinity);
    else assert.ok(Math.abs(got - seconds) < 1e-9, `got ${got}`);
  });
}

for (const input of BAD) {
  void test(`parseDuration(${JSON.stringify(input) ?? String(input)}) is rejected`, () => {
    assert.throws(() => parseDuration(input), (e: unknown) => {
      assert.ok(e instanceof FractalError);
      assert.equal(e.code, 'EINVAL');
      assert.match(e.message, /invalid duration/);
      return true;
    });
  });
}

void test('the rejection message shows the input and how to fix it', () => {
  assert.throws(() => parseDuration('5x'), {
    message: 'invalid duration "5x": use a number with an optional unit s, m, h or d (or ms), e.g. 30s, 10m, 1.5h, or inf for no limit',
  });
  assert.throws(() => parseDuration('-5'), /must not be negative/);
});

const FORMATS: [number, string][] = [
  [0, '0s'],
  [30, '30s'],
  [45, '45s'],
  [0.5, '0.5s'],
  [0.25, '0.25s'],
  [90, '1.5m'],
  [600, '10m'],
  [3600, '1h'],
  [5400, '1.5h'],
  [8100, '135m'],
  [86400, '1d'],
  [172800, '2d'],
  [129600, '1.5d'],
  [43200, '12h'],
  [Infinity, 'inf'],
];

for (const [seconds, text] of FORMATS) {
  void test(`formatDuration(${seconds}) = ${text}`, () => {
    assert.equal(formatDuration(seconds), text);
  });
}

void test('formatDuration rejects negative and NaN', () => {
  assert.throws(() => formatDuration(-1), FractalError);
  assert.throws(() => formatDuration(NaN), FractalError);
});

void test('property: parseDuration(formatDuration(x)) gives x back', () => {
  fc.assert(
    fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), (x) => {
      const back = parseDuration(formatDuration(x));
      return Math.abs(back - x) <= 1e-9 * Math.max(1, x);
    }),
    { numRuns: 500 },
  );
});
