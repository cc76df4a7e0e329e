import { test } from 'node:test';
import assert from 'node:assert/strict';
import { throwsInvalid } from '../testing/index.js';
import fc from 'fast-check';
import { IdSet, Rv1 } from './index.js';
import type { RankResources, RJson } from './index.js';


const ids = (s: string): IdSet => IdSet.parse(s);

/** The example R of RFC 20 (data/spec_20/example1.json). */
const RFC20_EXAMPLE = {
  version: 1,
  execution: {
    R_lite: [{ rank: '19-22', children: { core: '0-47', gpu: '0-7' } }],
    nodelist: ['node[186-189]'],
    nslots: 32,
    starttime: 1676560542,
    expiration: 1676562342,
  },
};

/** A valid R with one change to execution, for bad-input tests. */
function withExecution(change: Record<string, unknown>): unknown {
  return { version: 1, execution: { ...RFC20_EXAMPLE.execution, ...change } };
}

// ---- examples -----------------------------------------------------------------

void test('RFC 20 example: parse, accessors, and toJSON gives the same R back', () => {
  const r = Rv1.parse(RFC20_EXAMPLE);
  assert.equal(r.nnodes, 4);
  assert.equal(r.ncores, 4 * 48);
  assert.equal(r.ngpus, 4 * 8);
  assert.equal(r.ranks().encode(), '19-22');
  assert.deepEqual(r.nodelist().toArray(), ['node186', 'node187', 'node188', 'node189']);
  assert.deepEqual(r.entry(20), { rank: 20, hostname: 'node187', cores: ids('0-47'), gpus: ids('0-7') });
  assert.equal(r.entry(18), undefined);
  assert.equal(r.starttime, 1676560542);
  assert.equal(r.expiration, 1676562342);
  assert.equal(r.nslots, 32);
  assert.deepEqual(r.toJSON(), RFC20_EXAMPLE);
  assert.deepEqual(r.entries().map((e) => e.rank), [19, 20, 21, 22]);
});

void test('toJSON merges ranks with identical children and compresses hostnames', () => {
  const r = Rv1.fromRanks([
    { rank: 3, hostname: 'n3', cores: ids('0-1'), gpus: ids('0') },
    { rank: 0, hostname: 'n0', cores: ids('0-3'), gpus: IdSet.empty() },
    { rank: 1, hostname: 'n1', cores: ids('0-3'), gpus: IdSet.empty() },
    { rank: 2, hostname: 'login', cores: ids('0-3'), gpus: IdSet.empty() },
  ]);
  const want: RJson = {
    version: 1,
    execution: {
      R_lite: [
        { rank: '0-2', children: { core: '0-3' } },
        { rank: '3', children: { core: '0-1', gpu: '0' } },
      ],
      nodelist: ['n[0-1],login,n3'],
    },
  };
  assert.deepEqual(r.toJSON(), want);
  assert.ok(Rv1.parse(want).equals(r));
  assert.deepEqual(r.entries().map((e) => e.hostname), ['n0', 'n1', 'login', 'n3']);
  // A nodelist may be split over several strings; it is written back as one.
  const split = Rv1.parse({ ...want, execution: { ...want.execution, nodelist: ['n0', 'n1,login', 'n3'] } });
  assert.ok(split.equals(r));
  assert.deepEqual(split.toJSON(), want);
});

void test('R without hostnames has no nodelist; properties and scheduling round trip', () => {
  const json = {
    version: 1,
    execution: {
      R_lite: [{ rank: '0-3', children: { core: '0-7' } }],
      properties: { 'amd-mi50@gpu': '0-1', fast: '3' },
    },
    scheduling: { writer: 'fractal', graph: { nodes: [1, 2, { x: null }] } },
  };
  const r = Rv1.parse(json);
  assert.deepEqual(r.toJSON(), json);
  assert.equal(r.nodelist().size, 0);
  assert.deepEqual(
    Object.fromEntries(Object.entries(r.properties()).map(([k, v]) => [k, v.encode()])),
    json.execution.properties,
  );
  // The opaque key is a copy: changing the input does not change R.
  json.scheduling.writer = 'changed';
  assert.deepEqual(r.scheduling, { writer: 'fractal', graph: { nodes: [1, 2, { x: null }] } });
});

void test('a rank listed in several R_lite entries gets the union of children', () => {
  const r = Rv1.parse({
    version: 1,
    execution: {
      R_lite: [
        { rank: '0-1', children: { core: '0-3' } },
        { rank: '1', children: { core: '4-7', gpu: '0' } },
      ],
    },
  });
  assert.deepEqual(r.entry(1), { rank: 1, cores: ids('0-7'), gpus: ids('0') });
  throwsInvalid(
    () => Rv1.parse({ version: 1, execution: { R_lite: [{ rank: '0-1', children: { core: '0-3' } }, { rank: '1', children: { core: '3' } }] } }),
    /rank 1 is in execution\.R_lite\[0\] and execution\.R_lite\[1\] with overlapping children/,
  );
});

void test('ranks holding nothing are dropped, but still take their place in nodelist', () => {
  const r = Rv1.parse({
    version: 1,
    execution: {
      R_lite: [
        { rank: '0,2', children: { core: '0-1' } },
        { rank: '1', children: { core: '' } },
      ],
      nodelist: ['a,b,c'],
      properties: { p: '1-2' },
    },
  });
  assert.equal(r.ranks().encode(), '0,2');
  assert.deepEqual(r.nodelist().toArray(), ['a', 'c']);
  assert.equal(r.properties().p?.encode(), '2');
});

void test('bad R is rejected with messages naming the offending key', () => {
  throwsInvalid(() => Rv1.parse('{"version":1}'), /expected an object .* \(parse JSON text with JSON\.parse first\)/);
  throwsInvalid(() => Rv1.parse(null), /expected an object with "version" and "execution" keys, got null/);
  throwsInvalid(() => Rv1.parse({ ...RFC20_EXAMPLE, version: 2 }), /^invalid R: version must be 1, got 2; only R version 1 can be read$/);
  throwsInvalid(() => Rv1.parse({ version: 1 }), /"execution" must be an object with an "R_lite" array, got nothing/);
  throwsInvalid(() => Rv1.parse({ ...RFC20_EXAMPLE, extra: 1 }), /the top level has unknown key "extra"/);
  throwsInvalid(() => Rv1.parse(withExecution({ R_lite: {} })), /execution\.R_lite must be an array/);
  throwsInvalid(() => Rv1.parse(withExecution({ foo: 1 })), /"execution" has unknown key "foo"; R version 1 allows only "R_lite", "nodelist"/);
  throwsInvalid(
    () => Rv1.parse(withExecution({ R_lite: [{ rank: '3-1', children: { core: '0' } }] })),
    /^invalid R: execution\.R_lite\[0\]\.rank: invalid idset "3-1": range end 1 is below start 3/,
  );
  throwsInvalid(
    () => Rv1.parse(withExecution({ R_lite: [{ rank: 5, children: { core: '0' } }] })),
    /execution\.R_lite\[0\]\.rank must be an idset string such as "0-3,7", got 5/,
  );
  throwsInvalid(
    () => Rv1.parse(withExecution({ R_lite: [{ rank: '19-22', children: { core: '0-x' } }] })),
    /execution\.R_lite\[0\]\.children\.core: invalid idset "0-x"/,
  );
  throwsInvalid(
    () => Rv1.parse(withExecution({ R_lite: [{ rank: '19-22', children: { gpu: '0' } }] })),
    /execution\.R_lite\[0\]\.children\.core is missing/,
  );
  throwsInvalid(
    () => Rv1.parse(withExecution({ R_lite: [{ rank: '19-22', children: { core: '0', memory: '1' } }] })),
    /execution\.R_lite\[0\]\.children has unknown resource type "memory"; R version 1 supports only "core" and "gpu"/,
  );
  throwsInvalid(
    () => Rv1.parse(withExecution({ nodelist: ['node[186-188]'] })),
    /^invalid R: execution\.nodelist names 3 hosts but execution\.R_lite has 4 ranks; give exactly one hostname per rank/,
  );
  throwsInvalid(() => Rv1.parse(withExecution({ nodelist: 'node[186-189]' })), /execution\.nodelist must be an array/);
  throwsInvalid(
    () => Rv1.parse(withExecution({ nodelist: ['node[186-189'] })),
    /execution\.nodelist\[0\]: invalid hostlist "node\[186-189": a "\[" is never closed/,
  );
  throwsInvalid(
    () => Rv1.parse(withExecution({ properties: { 'a|b': '19' } })),
    /property name "a\|b" in execution\.properties contains "\|"/,
  );
  throwsInvalid(
    () => Rv1.parse(withExecution({ properties: { fast: '19,40' } })),
    /execution\.properties\["fast"\] names ranks 40 that are not in execution\.R_lite/,
  );
  throwsInvalid(
    () => Rv1.parse(withExecution({ starttime: 100, expiration: 50 })),
    /expiration 50 is not after starttime 100/,
  );
  throwsInvalid(() => Rv1.parse(withExecution({ starttime: -1 })), /execution\.starttime must be a non-negative number/);
  throwsInvalid(() => Rv1.parse(withExecution({ nslots: 0 })), /execution\.nslots must be a positive integer, got 0/);
  throwsInvalid(() => Rv1.parse({ ...RFC20_EXAMPLE, scheduling: [1] }), /"scheduling" must be an object/);
});

void test('fromRanks validates its entries', () => {
  const e = (rank: number, hostname?: string): RankResources =>
    hostname === undefined ? { rank, cores: ids('0'), gpus: IdSet.empty() } : { rank, hostname, cores: ids('0'), gpus: IdSet.empty() };
  throwsInvalid(() => Rv1.fromRanks([e(1), e(1)]), /rank 1 appears in more than one entry \(again at entries\[1\]\)/);
  throwsInvalid(() => Rv1.fromRanks([e(-1)]), /entries\[0\]\.rank must be a non-negative integer, got -1/);
  throwsInvalid(() => Rv1.fromRanks([e(0, 'a'), e(1)]), /rank 0 has hostname "a" but rank 1 has none; give every rank a hostname, or none/);
  throwsInvalid(() => Rv1.fromRanks([e(0, 'a b')]), /invalid R hostname for rank 0 "a b": it contains whitespace/);
  throwsInvalid(() => Rv1.fromRanks([e(0)], { properties: { x: ids('0-1') } }), /property "x" names ranks 1 that have no entry/);
  throwsInvalid(() => Rv1.fromRanks([e(0)], { starttime: 10, expiration: 10 }), /expiration 10 is not after starttime 10/);
  assert.ok(Rv1.fromRanks([]).isEmpty());
  assert.deepEqual(Rv1.fromRanks([]).toJSON(), { version: 1, execution: { R_lite: [] } });
});

void test('withTimes returns a copy with a new window', () => {
  const r = Rv1.parse(RFC20_EXAMPLE);
  const t = r.withTimes(100, 200);
  assert.equal(t.starttime, 100);
  assert.equal(t.expiration, 200);
  assert.equal(r.starttime, 1676560542);
  assert.equal(t.nslots, 32);
  assert.ok(!t.equals(r));
  assert.ok(t.withTimes(r.starttime, r.expiration).equals(r));
  const unset = r.withTimes(0, 0).toJSON();
  assert.equal(unset.execution.starttime, undefined);
  assert.equal(unset.execution.expiration, undefined);
  throwsInvalid(() => r.withTimes(5, 1), /expiration 1 is not after starttime 5/);
});

void test('set algebra examples', () => {
  const all = Rv1.fromRanks(
    [0, 1, 2].map((rank) => ({ rank, hostname: `n${rank}`, cores: ids('0-7'), gpus: ids('0-1') })),
    { properties: { fast: ids('0,2') }, starttime: 10, expiration: 20 },
  );
  const job = Rv1.fromRanks([
    { rank: 0, hostname: 'n0', cores: ids('0-7'), gpus: ids('0-1') },
    { rank: 1, hostname: 'n1', cores: ids('0-3'), gpus: IdSet.empty() },
  ], { properties: { fast: ids('0') } }); // an allocation carries its ranks' properties
  const free = all.subtract(job);
  assert.equal(free.ranks().encode(), '1-2');
  assert.deepEqual(free.entry(1), { rank: 1, hostname: 'n1', cores: ids('4-7'), gpus: ids('0-1') });
  assert.equal(free.properties().fast?.encode(), '2');
  assert.equal(free.starttime, 10);
  assert.ok(free.union(job).equals(all));
  assert.equal(all.intersect(job).ncores, 12);
  assert.ok(all.intersect(job).subtract(job).isEmpty());
  throwsInvalid(
    () => all.union(Rv1.fromRanks([{ rank: 1, hostname: 'other', cores: ids('9'), gpus: IdSet.empty() }])),
    /cannot union R: rank 1 is host "n1" in one set and "other" in the other/,
  );
  throwsInvalid(
    () => all.union(Rv1.fromRanks([{ rank: 5, cores: ids('0'), gpus: IdSet.empty() }])),
    /cannot union R: rank 0 has hostname "n0" but rank 5 has none/,
  );
});

void test('10,000 identical nodes encode to well under 1 KB', () => {
  const t0 = performance.now();
  const cores = IdSet.range(0, 63);
  const entries: RankResources[] = Array.from({ length: 10_000 }, (_, rank) => ({
    rank,
    hostname: `node${String(rank).padStart(4, '0')}`,
    cores,
    gpus: IdSet.empty(),
  }));
  const r = Rv1.fromRanks(entries);
  const t1 = performance.now();
  const text = JSON.stringify(r.toJSON());
  const back = Rv1.parse(JSON.parse(text));
  const t2 = performance.now();
  assert.ok(text.length < 1024, `R is ${text.length} bytes`);
  assert.equal(text, '{"version":1,"execution":{"R_lite":[{"rank":"0-9999","children":{"core":"0-63"}}],"nodelist":["node[0000-9999]"]}}');
  assert.ok(back.equals(r));
  assert.equal(back.ncores, 640_000);
  // Timings are informational only; benchmarks measure speed.
  console.log(
    `10k-node R: ${text.length} bytes; fromRanks ${(t1 - t0).toFixed(1)} ms, encode+decode ${(t2 - t1).toFixed(1)} ms`,
  );
});

// ---- properties -------------------------------------------------------------

const MAX_RANK = 40;
const smallSet = (max: number): fc.Arbitrary<IdSet> =>
  fc.array(fc.integer({ min: 0, max }), { maxLength: max }).map((a) => IdSet.fromArray(a));

/**
 * Hostnames and properties are functions of the rank, so that any two
 * generated sets agree about them (as two R of one instance do).
 */
const hostOf = (rank: number): string => (rank % 7 === 3 ? `login${rank}` : `node${String(rank).padStart(3, '0')}`);
const PROPERTIES: [string, (rank: number) => boolean][] = [
  ['fast', (r) => r % 3 === 0],
  ['amd-mi50@gpu', (r) => r % 5 === 0],
  ['+local', (r) => r < 10],
];

interface Shape {
  named: boolean;
  props: boolean;
  starttime: number;
  expiration: number;
}
const shapeArb: fc.Arbitrary<Shape> = fc.record({
  named: fc.boolean(),
  props: fc.boolean(),
  starttime: fc.constantFrom(0, 1000),
  expiration: fc.constantFrom(0, 5000.5),
});

const rv1Of = (shape: Shape): fc.Arbitrary<Rv1> =>
  fc
    .uniqueArray(fc.record({ rank: fc.integer({ min: 0, max: MAX_RANK }), cores: smallSet(15), gpus: smallSet(3) }), {
      selector: (e) => e.rank,
      maxLength: 25,
    })
    .map((list) => {
      const entries: RankResources[] = list.map((e) => (shape.named ? { ...e, hostname: hostOf(e.rank) } : e));
      const ranks = IdSet.fromArray(list.map((e) => e.rank));
      const properties: Record<string, IdSet> = {};
      if (shape.props) {
        for (const [name, has] of PROPERTIES) properties[name] = IdSet.fromArray(ranks.toArray().filter(has));
      }
      return Rv1.fromRanks(entries, { properties, starttime: shape.starttime, expiration: shape.expiration });
    });

const anyRv1 = shapeArb.chain(rv1Of);
/** Three sets of the same shape (hostnames on all or none, same times). */
const triple = shapeArb.chain((s) => fc.tuple(rv1Of(s), rv1Of(s), rv1Of(s)));

void test('property: parse(toJSON(x)) round trips through JSON text', () => {
  fc.assert(
    fc.property(anyRv1, (r) => {
      const json = r.toJSON();
      const back = Rv1.parse(JSON.parse(JSON.stringify(json)));
      assert.ok(back.equals(r));
      assert.deepEqual(back.toJSON(), json);
      assert.deepEqual(back.entries(), r.entries());
      assert.equal(back.nnodes, r.nnodes);
      assert.equal(back.ncores, r.ncores);
      assert.equal(back.ngpus, r.ngpus);
      // Compactness: one R_lite entry per distinct children, not per rank.
      const distinct = new Set(r.entries().map((e) => `${e.cores.encode()};${e.gpus.encode()}`));
      assert.equal(json.execution.R_lite.length, distinct.size);
    }),
  );
});

/** What rank `rank` holds in r, as two idsets (empty when absent). */
function holds(r: Rv1, rank: number): [IdSet, IdSet] {
  const e = r.entry(rank);
  return e === undefined ? [IdSet.empty(), IdSet.empty()] : [e.cores, e.gpus];
}

void test('property: Rv1 algebra is per-rank idset algebra', () => {
  const ops: [string, (a: Rv1, b: Rv1) => Rv1, (x: IdSet, y: IdSet) => IdSet][] = [
    ['union', (a, b) => a.union(b), (x, y) => x.union(y)],
    ['intersect', (a, b) => a.intersect(b), (x, y) => x.intersect(y)],
    ['subtract', (a, b) => a.subtract(b), (x, y) => x.subtract(y)],
  ];
  fc.assert(
    fc.property(triple, ([a, b]) => {
      for (const [name, op, setOp] of ops) {
        const r = op(a, b);
        for (let rank = 0; rank <= MAX_RANK; rank++) {
          const [ac, ag] = holds(a, rank);
          const [bc, bg] = holds(b, rank);
          const cores = setOp(ac, bc);
          const gpus = setOp(ag, bg);
          const e = r.entry(rank);
          if (cores.isEmpty() && gpus.isEmpty()) {
            assert.equal(e, undefined, `${name}: rank ${rank} should be absent`);
          } else {
            assert.ok(e !== undefined, `${name}: rank ${rank} should be present`);
            assert.ok(e.cores.equals(cores) && e.gpus.equals(gpus), `${name}: rank ${rank}`);
            assert.equal(e.hostname, a.entry(rank)?.hostname ?? b.entry(rank)?.hostname);
          }
        }
        assert.equal(r.starttime, a.starttime);
        assert.equal(r.expiration, a.expiration);
      }
    }),
  );
});

void test('property: Rv1 algebra laws', () => {
  fc.assert(
    fc.property(triple, ([a, b, c]) => {
      assert.ok(a.union(b).equals(b.union(a)));
      assert.ok(a.intersect(b).equals(b.intersect(a)));
      assert.ok(a.union(b).union(c).equals(a.union(b.union(c))));
      assert.ok(a.intersect(b).intersect(c).equals(a.intersect(b.intersect(c))));
      assert.ok(a.subtract(b).union(a.intersect(b)).equals(a));
      assert.ok(a.subtract(b).union(b).equals(a.union(b)));
      assert.ok(a.subtract(b).intersect(b).isEmpty());
      const u = a.union(b).union(c);
      assert.ok(u.subtract(a.union(b)).equals(u.subtract(a).intersect(u.subtract(b))));
      assert.ok(u.subtract(a.intersect(b)).equals(u.subtract(a).union(u.subtract(b))));
      assert.equal(a.union(b).ncores + a.intersect(b).ncores, a.ncores + b.ncores);
      assert.equal(a.subtract(a).isEmpty(), true);
      assert.ok(a.union(a).equals(a) && a.intersect(a).equals(a));
    }),
  );
});
