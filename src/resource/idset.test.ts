import { test } from 'node:test';
import assert from 'node:assert/strict';
import { throwsInvalid } from '../testing/index.js';
import fc from 'fast-check';
import { IdSet } from './index.js';

/** Asserts that fn throws an EINVAL FractalError whose message matches re. */

// ---- examples from RFC 22 -------------------------------------------------

void test('RFC 22 forms parse and encode canonically', () => {
  assert.equal(IdSet.parse('1,2,3,5,6,42').encode(), '1-3,5-6,42');
  assert.equal(IdSet.parse('1-3,5-6,42').encode(), '1-3,5-6,42');
  assert.equal(IdSet.parse('[1-3,5-6,42]').encode(), '1-3,5-6,42');
  assert.equal(IdSet.parse('').size, 0);
  assert.equal(IdSet.parse('[]').size, 0);
  assert.equal(IdSet.parse('7').encode(), '7');
  assert.deepEqual(IdSet.parse('0-3,7,9-10').toArray(), [0, 1, 2, 3, 7, 9, 10]);
});

void test('unsorted, overlapping and touching input is normalized', () => {
  assert.equal(IdSet.parse('9-10,7,0-3,2-5,6').encode(), '0-7,9-10');
  assert.equal(IdSet.parse('5,5,5').encode(), '5');
  assert.equal(IdSet.fromArray([3, 1, 2, 2, 10]).encode(), '1-3,10');
  // RFC 22 forbids leading zeros in idset strings we write; reading them is harmless.
  assert.equal(IdSet.parse('007,08-010').encode(), '7-10');
});

void test('brackets only when asked and with more than one id', () => {
  const s = IdSet.parse('0-3,7');
  assert.equal(s.encode({ brackets: true }), '[0-3,7]');
  assert.equal(s.encode(), '0-3,7');
  assert.equal(s.toString(), '0-3,7');
  assert.equal(IdSet.parse('7').encode({ brackets: true }), '7');
  assert.equal(IdSet.empty().encode({ brackets: true }), '');
  assert.equal(IdSet.parse('3-4').encode({ brackets: true }), '[3-4]');
});

void test('bad idsets are rejected with a message naming the problem', () => {
  throwsInvalid(() => IdSet.parse('3-1'), /^invalid idset "3-1": range end 1 is below start 3; write ranges low-high, e\.g\. "1-3"$/);
  throwsInvalid(() => IdSet.parse('1,,2'), /invalid idset "1,,2": empty element/);
  throwsInvalid(() => IdSet.parse('1,'), /empty element/);
  throwsInvalid(() => IdSet.parse('-1'), /element "-1" is not an id or a low-high range/);
  throwsInvalid(() => IdSet.parse('a'), /element "a" is not an id/);
  throwsInvalid(() => IdSet.parse('1 ,2'), /element "1 " is not an id/);
  throwsInvalid(() => IdSet.parse('1-2-3'), /element "1-2-3"/);
  throwsInvalid(() => IdSet.parse('[1-3'), /unbalanced square brackets/);
  throwsInvalid(() => IdSet.parse('1-3]'), /unbalanced square brackets/);
  throwsInvalid(() => IdSet.parse('[[1]]'), /element "\[1\]"/);
  throwsInvalid(() => IdSet.parse('99999999999999999999'), /too large/);
  throwsInvalid(() => IdSet.range(5, 3), /end 3 is below start 5/);
  throwsInvalid(() => IdSet.fromArray([1, -2]), /invalid id -2/);
  throwsInvalid(() => IdSet.fromArray([1.5]), /invalid id 1.5/);
  throwsInvalid(() => IdSet.parse(7 as unknown as string), /expected a string/);
});

void test('queries: size, has, first, last, nth, take, subset', () => {
  const s = IdSet.parse('0-3,7,9-10');
  assert.equal(s.size, 7);
  assert.ok(s.has(0) && s.has(3) && s.has(7) && s.has(10));
  assert.ok(!s.has(4) && !s.has(8) && !s.has(11) && !s.has(-1) && !s.has(1.5));
  assert.equal(s.first(), 0);
  assert.equal(s.last(), 10);
  assert.equal(IdSet.empty().first(), undefined);
  assert.equal(IdSet.empty().last(), undefined);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => s.nth(i)), [0, 1, 2, 3, 7, 9, 10]);
  assert.equal(s.take(5).encode(), '0-3,7');
  assert.equal(s.take(0).size, 0);
  assert.ok(s.take(7).equals(s));
  throwsInvalid(() => s.take(8), /cannot take 8 ids from idset "0-3,7,9-10" which has only 7/);
  throwsInvalid(() => s.take(-1), /non-negative integer/);
  throwsInvalid(() => s.nth(7), /index 7 is out of range for "0-3,7,9-10": valid indexes are 0 to 6/);
  throwsInvalid(() => IdSet.empty().nth(0), /out of range for "": it is empty/);
  assert.ok(IdSet.parse('1-2,9').isSubsetOf(s));
  assert.ok(!IdSet.parse('3-4').isSubsetOf(s));
  assert.ok(IdSet.empty().isSubsetOf(IdSet.empty()));
  assert.deepEqual([...IdSet.parse('5-7')], [5, 6, 7]);
});

void test('large ranges stay compact', () => {
  const big = IdSet.range(0, 999_999);
  assert.equal(big.size, 1_000_000);
  assert.equal(big.encode(), '0-999999');
  assert.equal(big.nth(654_321), 654_321);
  const holes = big.subtract(IdSet.parse('10,500000-500009'));
  assert.equal(holes.encode(), '0-9,11-499999,500010-999999');
  assert.equal(holes.size, 999_989);
  assert.equal(holes.nth(10), 11);
  assert.equal(holes.take(500_000).last(), 500_010);
  assert.ok(holes.union(IdSet.parse('10,500000-500009')).equals(big));
});

void test('algebra examples', () => {
  const a = IdSet.parse('0-5,10-15');
  const b = IdSet.parse('3-12');
  assert.equal(a.union(b).encode(), '0-15');
  assert.equal(a.intersect(b).encode(), '3-5,10-12');
  assert.equal(a.subtract(b).encode(), '0-2,13-15');
  assert.equal(b.subtract(a).encode(), '6-9');
  assert.equal(IdSet.parse('0-2,4').union(IdSet.parse('3')).encode(), '0-4');
});

// ---- properties -------------------------------------------------------------

/** Small ids, so that a naive Set<number> model is cheap. */
const smallIds = fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 60 });
/** Ranges with big gaps and lengths, to exercise range logic. */
const rangeSet = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 5000 })), { maxLength: 12 })
  .map((pairs) => pairs.reduce((s, [lo, len]) => s.union(IdSet.range(lo, lo + len)), IdSet.empty()));
const anySet = fc.oneof(smallIds.map((a) => IdSet.fromArray(a)), rangeSet);

const sorted = (s: Set<number>): number[] => [...s].sort((x, y) => x - y);

void test('property: parse(encode(x)) round trips, with and without brackets', () => {
  fc.assert(
    fc.property(anySet, fc.boolean(), (s, brackets) => {
      const text = s.encode({ brackets });
      const back = IdSet.parse(text);
      assert.ok(back.equals(s));
      assert.equal(back.encode(), s.encode());
    }),
  );
});

void test('property: parse accepts any order and overlap of elements', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 10 }))), (pairs) => {
      const text = pairs.map(([lo, len]) => (len === 0 ? `${lo}` : `${lo}-${lo + len}`)).join(',');
      const model = new Set<number>();
      for (const [lo, len] of pairs) for (let k = lo; k <= lo + len; k++) model.add(k);
      assert.deepEqual(IdSet.parse(text).toArray(), sorted(model));
    }),
  );
});

void test('property: operations agree with a Set<number> model', () => {
  fc.assert(
    fc.property(smallIds, smallIds, (xs, ys) => {
      const a = IdSet.fromArray(xs);
      const b = IdSet.fromArray(ys);
      const ma = new Set(xs);
      const mb = new Set(ys);
      assert.deepEqual(a.toArray(), sorted(ma));
      assert.equal(a.size, ma.size);
      assert.deepEqual(a.union(b).toArray(), sorted(new Set([...ma, ...mb])));
      assert.deepEqual(a.intersect(b).toArray(), sorted(new Set(xs.filter((x) => mb.has(x)))));
      assert.deepEqual(a.subtract(b).toArray(), sorted(new Set(xs.filter((x) => !mb.has(x)))));
      assert.equal(a.isSubsetOf(b), xs.every((x) => mb.has(x)));
      assert.equal(a.equals(b), a.size === b.size && xs.every((x) => mb.has(x)));
      for (let id = 0; id <= 81; id++) assert.equal(a.has(id), ma.has(id));
      const arr = sorted(ma);
      arr.forEach((id, i) => assert.equal(a.nth(i), id));
      const n = Math.floor(arr.length / 2);
      assert.deepEqual(a.take(n).toArray(), arr.slice(0, n));
      assert.equal(a.first(), arr[0]);
      assert.equal(a.last(), arr[arr.length - 1]);
    }),
  );
});

void test('property: union and intersect are commutative and associative', () => {
  fc.assert(
    fc.property(anySet, anySet, anySet, (a, b, c) => {
      assert.ok(a.union(b).equals(b.union(a)));
      assert.ok(a.intersect(b).equals(b.intersect(a)));
      assert.ok(a.union(b).union(c).equals(a.union(b.union(c))));
      assert.ok(a.intersect(b).intersect(c).equals(a.intersect(b.intersect(c))));
      // Distributivity, for good measure.
      assert.ok(a.intersect(b.union(c)).equals(a.intersect(b).union(a.intersect(c))));
    }),
  );
});

void test('property: subtract then union restores; De Morgan within a universe', () => {
  fc.assert(
    fc.property(anySet, anySet, anySet, (a, b, extra) => {
      const u = extra.union(a).union(b);
      // (a − b) ∪ (a ∩ b) = a, and (a − b) ∪ b = a ∪ b
      assert.ok(a.subtract(b).union(a.intersect(b)).equals(a));
      assert.ok(a.subtract(b).union(b).equals(a.union(b)));
      assert.ok(a.subtract(b).intersect(b).isEmpty());
      // Complements relative to u: u − (a ∪ b) = (u − a) ∩ (u − b), and dually.
      assert.ok(u.subtract(a.union(b)).equals(u.subtract(a).intersect(u.subtract(b))));
      assert.ok(u.subtract(a.intersect(b)).equals(u.subtract(a).union(u.subtract(b))));
      // a − b = a ∩ (u − b)
      assert.ok(a.subtract(b).equals(a.intersect(u.subtract(b))));
      assert.ok(a.intersect(b).isSubsetOf(a) && a.isSubsetOf(a.union(b)));
      assert.equal(a.union(b).size + a.intersect(b).size, a.size + b.size);
    }),
  );
});
