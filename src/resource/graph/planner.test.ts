import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SpanPool, Timeline } from './planner.js';

void test('Timeline: step function of used units; removing spans leaves no breakpoints', () => {
  const tl = new Timeline(2);
  tl.add(0, 10, [0], [3], 1);
  tl.add(5, 20, [0, 1], [1, 2], 1);
  assert.equal(tl.usedAt(0, 4), 3);
  assert.equal(tl.usedAt(0, 7), 4);
  assert.equal(tl.usedAt(1, 15), 2);
  assert.equal(tl.usedAt(0, 20), 0);
  assert.equal(tl.maxUsed(0, 0, 5), 3);
  assert.equal(tl.maxUsed(0, 9, 100), 4);
  assert.equal(tl.maxUsed(0, 10, 100), 1);
  assert.equal(tl.maxUsed(0, 20, 30), 0);
  tl.add(5, 20, [0, 1], [1, 2], -1);
  tl.add(0, 10, [0], [3], -1);
  assert.ok(tl.isEmpty());
});

void test('Timeline equals a brute-force sum of spans', () => {
  const span = fc.record({ s: fc.integer({ min: 0, max: 50 }), d: fc.integer({ min: 1, max: 30 }), t: fc.integer({ min: 0, max: 2 }), a: fc.integer({ min: 1, max: 5 }) });
  fc.assert(
    fc.property(fc.array(span, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }), (spans, drops) => {
      const tl = new Timeline(3);
      const live = [...spans];
      for (const x of spans) tl.add(x.s, x.s + x.d, [x.t], [x.a], 1);
      for (const k of drops) {
        if (live.length === 0) break;
        const [x] = live.splice(k % live.length, 1);
        tl.add(x!.s, x!.s + x!.d, [x!.t], [x!.a], -1);
      }
      for (let t = 0; t < 85; t++) {
        for (let p = 0; p < 3; p++) {
          const want = live.filter((x) => x.t === p && x.s <= t && t < x.s + x.d).reduce((a, x) => a + x.a, 0);
          assert.equal(tl.usedAt(p, t), want);
        }
      }
      for (let p = 0; p < 3; p++) {
        const want = Math.max(0, ...Array.from({ length: 10 }, (_v, i) => live.filter((x) => x.t === p && x.s <= 20 + i && 20 + i < x.s + x.d).reduce((a, x) => a + x.a, 0)));
        assert.equal(tl.maxUsed(p, 20, 30), want);
      }
      if (live.length === 0) assert.ok(tl.isEmpty());
    }),
    { numRuns: 150 },
  );
});

void test('SpanPool: exclusive and shared lists, overlap checks, O(1) removal and reuse', () => {
  const sp = new SpanPool(4);
  assert.ok(sp.idle(1));
  const a = sp.add(1, true, 0, 10, 7, 1);
  const b = sp.add(1, false, 5, 15, 8, 1);
  assert.ok(sp.exclusiveDuring(1, 9, 12));
  assert.ok(!sp.exclusiveDuring(1, 10, 12));
  assert.ok(sp.anyDuring(1, 12, 13));
  assert.deepEqual(sp.spansOf(1).sort(), [a, b].sort());
  sp.remove(a);
  assert.ok(!sp.exclusiveDuring(1, 0, 100));
  const c = sp.add(2, true, 0, 1, 9, 1);
  assert.equal(c, a, 'freed slots are reused');
  sp.remove(b);
  sp.remove(c);
  assert.ok(sp.idle(1) && sp.idle(2));
  assert.equal(sp.live, 0);
  sp.ensureVertices(100);
  assert.ok(sp.idle(99));
});
