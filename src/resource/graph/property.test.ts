// Property tests of the matcher's invariants over random small machines and
// random sequences of allocate / reserve / free / drain: nothing is ever
// held twice, free gives back exactly what was taken, and the pruning
// filters always equal a recount.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ResourceGraph, syntheticGraph } from './index.js';
import type { MatchPolicy } from './index.js';
import { jobspec, res, slot } from './test-helpers.js';

interface Machine {
  racks: number;
  nodes: number;
  sockets: number;
  cores: number;
  gpus: number;
  mem: number;
}

type Op =
  | {
      kind: 'match';
      nodes: number;
      slots: number;
      cores: number;
      gpus: number;
      mem: number;
      excl: boolean;
      reserve: boolean;
      duration: number;
      at: number;
      policy: MatchPolicy;
    }
  | { kind: 'free'; pick: number }
  | { kind: 'drain' | 'undrain'; pick: number };

const machineArb: fc.Arbitrary<Machine> = fc.record({
  racks: fc.integer({ min: 1, max: 2 }),
  nodes: fc.integer({ min: 1, max: 3 }),
  sockets: fc.integer({ min: 1, max: 2 }),
  cores: fc.integer({ min: 2, max: 4 }),
  gpus: fc.integer({ min: 0, max: 1 }),
  mem: fc.constantFrom(0, 4, 4),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('match' as const),
      nodes: fc.integer({ min: 0, max: 2 }),
      slots: fc.integer({ min: 1, max: 2 }),
      cores: fc.integer({ min: 1, max: 3 }),
      gpus: fc.integer({ min: 0, max: 1 }),
      mem: fc.constantFrom(0, 0, 0, 2, 6),
      excl: fc.boolean(),
      reserve: fc.boolean(),
      duration: fc.integer({ min: 0, max: 100 }),
      at: fc.integer({ min: 0, max: 60 }),
      policy: fc.constantFrom<MatchPolicy>('first', 'low-id', 'high-id', 'pack', 'spread'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('free' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('drain' as const, 'undrain' as const), pick: fc.nat() }) },
);

function build(m: Machine): ResourceGraph {
  return new ResourceGraph(
    syntheticGraph({
      racksPerCluster: m.racks,
      nodesPerRack: m.nodes,
      socketsPerNode: m.sockets,
      coresPerSocket: m.cores,
      gpusPerSocket: m.gpus,
      memoryPerSocket: m.mem,
    }),
  );
}

function apply(g: ResourceGraph, op: Op): number | undefined {
  switch (op.kind) {
    case 'match': {
      const inner = [res('core', op.cores), ...(op.gpus > 0 ? [res('gpu', op.gpus)] : []), ...(op.mem > 0 ? [res('memory', op.mem)] : [])];
      const top = op.nodes > 0 ? res('node', op.nodes, slot(op.slots, ...inner)) : slot(op.slots, ...inner);
      if (op.excl && op.nodes > 0) top.exclusive = true;
      const r = g.match(jobspec([top], { duration: op.duration }), {
        mode: op.reserve ? 'allocate_orelse_reserve' : 'allocate',
        at: op.at,
        policy: op.policy,
      });
      return r.outcome === 'ALLOCATED' || r.outcome === 'RESERVED' ? r.jobid : undefined;
    }
    case 'free': {
      const ids = g.jobIds();
      if (ids.length > 0) g.free(ids[op.pick % ids.length]!);
      return undefined;
    }
    default: {
      const nodes = g.store.verticesOfType(g.store.typeIndex('node'));
      const v = nodes[op.pick % nodes.length]!;
      g.setStatus(v, op.kind === 'drain' ? 'drained' : 'up');
      return undefined;
    }
  }
}

/** Every pair of overlapping spans on a vertex from different jobs must both be shared. */
function doubleAllocations(g: ResourceGraph): string[] {
  const sp = g.spans;
  const out: string[] = [];
  for (let v = 0; v < g.store.count; v++) {
    const ids = sp.spansOf(v);
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const a = ids[i]!;
        const b = ids[j]!;
        if (sp.job[a] === sp.job[b]) continue;
        const overlap = sp.start[a]! < sp.end[b]! && sp.start[b]! < sp.end[a]!;
        if (overlap && (sp.excl[a] === 1 || sp.excl[b] === 1)) out.push(`${g.store.path(v)} is held by two jobs at once`);
      }
    }
  }
  return out;
}

/** Cores and GPUs in the R of jobs whose time windows overlap must be disjoint. */
function overlappingR(g: ResourceGraph): string[] {
  const ids = g.jobIds();
  const out: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const a = g.info(ids[i]!)!;
      const b = g.info(ids[j]!)!;
      if (!(a.start < b.end && b.start < a.end)) continue;
      const both = g.rv1(a.jobid).intersect(g.rv1(b.jobid));
      if (both.ncores > 0 || both.ngpus > 0) out.push(`jobs ${a.jobid} and ${b.jobid} share ${JSON.stringify(both.toJSON().execution.R_lite)}`);
    }
  }
  return out;
}

/** Everything observable about the graph's allocation state. */
function snapshot(g: ResourceGraph): unknown {
  const s = g.store;
  const sp = g.spans;
  const spans: string[] = [];
  for (let v = 0; v < s.count; v++) {
    for (const id of sp.spansOf(v)) spans.push(`${v}:${sp.job[id]}:${sp.start[id]}:${sp.end[id]}:${sp.excl[id]}:${sp.needs[id]}`);
  }
  spans.sort();
  const free: number[] = [];
  const types = s.typeNames();
  for (let v = 0; v < s.count; v++) {
    if (s.isLeaf(v)) continue;
    for (const t of types) for (const at of [0, 10, 50, 99, 150]) free.push(g.freeUnits(v, t, at, at + 7));
  }
  return { spans, free, stat: g.stat(), jobs: g.jobIds().sort() };
}

void test('never double-allocate; pruning counts always equal a full recount', () => {
  fc.assert(
    fc.property(machineArb, fc.array(opArb, { minLength: 1, maxLength: 25 }), (m, ops) => {
      const g = build(m);
      for (const op of ops) {
        apply(g, op);
        assert.deepEqual(doubleAllocations(g), []);
        assert.deepEqual(overlappingR(g), []);
        assert.deepEqual(g.checkAggregates(), []);
      }
    }),
    { numRuns: 120 },
  );
});

void test('free restores exactly what was taken', () => {
  fc.assert(
    fc.property(machineArb, fc.array(opArb, { maxLength: 15 }), opArb, (m, prefix, last) => {
      const g = build(m);
      for (const op of prefix) apply(g, op);
      const before = snapshot(g);
      const id = apply(g, last.kind === 'match' ? last : { ...last, kind: 'free' });
      if (last.kind !== 'match' || id === undefined) return;
      assert.notDeepEqual(snapshot(g), before);
      g.free(id);
      assert.deepEqual(snapshot(g), before);
    }),
    { numRuns: 150 },
  );
});

void test('what satisfiability accepts, an empty machine allocates', () => {
  fc.assert(
    fc.property(machineArb, opArb, (m, op) => {
      if (op.kind !== 'match') return;
      const g = build(m);
      const inner = [res('core', op.cores), ...(op.gpus > 0 ? [res('gpu', op.gpus)] : [])];
      const js = jobspec([op.nodes > 0 ? res('node', op.nodes, slot(op.slots, ...inner)) : slot(op.slots, ...inner)]);
      const sat = g.match(js, { mode: 'satisfiability', policy: op.policy }).outcome;
      const alloc = g.match(js, { policy: op.policy }).outcome;
      assert.equal(alloc === 'ALLOCATED', sat === 'SATISFIABLE');
      if (sat !== 'SATISFIABLE') assert.equal(alloc, 'UNSATISFIABLE');
    }),
    { numRuns: 150 },
  );
});
