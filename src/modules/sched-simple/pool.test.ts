import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Pool, type RankAlloc } from './pool.js';
import type { JobRequest } from '../../jobspec/index.js';

const inv = (n: number, cores: number, gpus = 0) => Array.from({ length: n }, (_, rank) => ({ rank, hostname: `n${rank}`, ncores: cores, ngpus: gpus }));
const slots = (nslots: number, c = 1, g = 0): JobRequest => ({ nnodes: 0, nslots, slotsPerNode: 0, coresPerSlot: c, gpusPerSlot: g, exclusive: false, ntasks: nslots, duration: 0 });
const nodes = (nnodes: number, per: number, c = 1, exclusive = false): JobRequest => ({ nnodes, nslots: nnodes * per, slotsPerNode: per, coresPerSlot: c, gpusPerSlot: 0, exclusive, ntasks: nnodes * per, duration: 0 });

void test('first fit packs slots onto the lowest ranks', () => {
  const p = new Pool(inv(2, 4));
  const a = p.alloc(slots(6)) as RankAlloc[];
  assert.deepEqual(a, [{ rank: 0, cores: [0, 1, 2, 3], gpus: [] }, { rank: 1, cores: [0, 1], gpus: [] }]);
  assert.equal(p.alloc(slots(3)), 'resources');
});

void test('node requests spread slots per node; exclusive takes whole idle nodes', () => {
  const p = new Pool(inv(4, 2));
  const a = p.alloc(nodes(4, 2)) as RankAlloc[];
  assert.equal(a.length, 4);
  p.free(a);
  p.alloc(slots(1));
  const ex = p.alloc(nodes(3, 1, 1, true)) as RankAlloc[];
  assert.deepEqual(ex.map((x) => x.rank), [1, 2, 3]);
  assert.deepEqual(ex[0]!.cores, [0, 1]);
});

void test('unsatisfiable requests are explained; drained nodes still count as feasible', () => {
  const p = new Pool(inv(2, 2, 1));
  assert.match(p.feasible(slots(5)) ?? '', /cannot hold 5 slot/);
  assert.match(p.feasible(nodes(3, 1)) ?? '', /3 nodes/);
  assert.match(p.feasible(slots(1, 1, 2)) ?? '', /GPU/);
  p.setDrained(0, true);
  p.setDrained(1, true);
  assert.equal(p.feasible(slots(4)), undefined);
  assert.equal(p.alloc(slots(1)), 'resources');
});

void test('property: never double-allocates, and free restores exactly what was taken', () => {
  const reqArb = fc.oneof(
    fc.record({ n: fc.integer({ min: 1, max: 6 }), c: fc.integer({ min: 1, max: 3 }) }).map(({ n, c }) => slots(n, c)),
    fc.record({ n: fc.integer({ min: 1, max: 3 }), per: fc.integer({ min: 1, max: 2 }), ex: fc.boolean() }).map(({ n, per, ex }) => nodes(n, per, 1, ex)),
  );
  fc.assert(fc.property(fc.array(fc.tuple(reqArb, fc.boolean()), { maxLength: 40 }), (ops) => {
    const p = new Pool(inv(3, 4));
    const before = JSON.stringify(p.status());
    const live: RankAlloc[][] = [];
    for (const [req, freeOne] of ops) {
      const r = p.alloc(req);
      if (typeof r !== 'string') live.push(r);
      if (freeOne && live.length) p.free(live.shift()!);
      const used = new Set<string>();
      for (const a of live) for (const x of a) for (const c of x.cores) {
        const k = `${x.rank}:${c}`;
        assert.ok(!used.has(k), `core ${k} allocated twice`);
        used.add(k);
      }
      const free = p.status().reduce((s, r) => s + r.freeCores, 0);
      assert.equal(free, 12 - used.size);
    }
    for (const a of live) p.free(a);
    assert.equal(JSON.stringify(p.status()), before);
  }));
});
