import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FractalError } from '../../errors/index.js';
import { IdSet, Rv1 } from '../index.js';
import { ResourceGraph, allocationJgf, loadConfigText, loadGrug, syntheticGraph, writeSimple } from './index.js';
import type { Jobspec } from '../../jobspec/index.js';
import type { MatchResult } from './index.js';
import { TINY_GRUG, jobspec, makeJob, res, slot, smallGraph } from './test-helpers.js';

const tiny = (policy: 'first' | 'low-id' | 'high-id' | 'pack' | 'spread' = 'high-id'): ResourceGraph => new ResourceGraph(loadGrug(TINY_GRUG), { policy });

function ok(r: MatchResult): number {
  assert.ok(r.outcome === 'ALLOCATED' || r.outcome === 'RESERVED', `expected a match, got ${r.outcome}: ${r.reason ?? ''}`);
  return r.jobid;
}

void test('high-id takes the highest core of the highest socket and node (Fluxion basics/001)', () => {
  const g = tiny('high-id');
  const js = jobspec([res('cluster', 1, res('rack', 1, res('node', 1, slot(1, res('socket', 1, res('core', 1))))))]);
  const got: string[] = [];
  for (let i = 0; i < 4; i++) {
    const id = ok(g.match(js));
    const e = g.rv1(id).entries()[0]!;
    got.push(`${e.hostname}:${e.cores.encode()}`);
  }
  assert.deepEqual(got, ['node1:35', 'node1:17', 'node0:35', 'node0:17']);
  const r = g.match(js);
  assert.equal(r.outcome, 'BUSY');
  assert.deepEqual(g.checkAggregates(), []);
});

void test('low-id mirrors high-id', () => {
  const g = tiny('low-id');
  const js = jobspec([res('node', 1, slot(1, res('socket', 1, res('core', 1))))]);
  const id = ok(g.match(js));
  assert.equal(writeSimple(g, id), ['core0[1:x]', 'socket0[1:x]', 'node0[1:s]', 'rack0[1:s]', 'tiny0[1:s]'].map((s, i) => `      ${'---'.repeat(5 - i)}${s}\n`).join(''));
});

void test('memory is counted in units: memory[6] takes three 2 GB pools, whole', () => {
  const g = tiny('high-id');
  const js = jobspec([res('node', 1, slot(1, res('socket', 2, res('core', 5), res('gpu', 1), res('memory', 6))))]);
  const id = ok(g.match(js));
  const text = writeSimple(g, id);
  assert.match(text, /memory1\[2:x\]\n.*memory2\[2:x\]\n.*memory3\[2:x\]/);
  assert.equal(g.rv1(id).ncores, 10);
  assert.equal(g.rv1(id).ngpus, 2);
});

void test('exclusive node gets the whole subtree; others cannot share it', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'low-id' });
  const id = ok(g.match(makeJob().nodes(1).cores(1).exclusive().build()));
  const R = g.rv1(id);
  assert.equal(R.ncores, 8, 'all cores of the node');
  assert.equal(R.ngpus, 2);
  const other = ok(g.match(makeJob().nodes(1).cores(1).build()));
  assert.notEqual(g.rv1(other).entries()[0]!.rank, R.entries()[0]!.rank);
  assert.deepEqual(g.checkAggregates(), []);
});

void test('shared node: two slot jobs share a node, never a core', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'low-id' });
  const a = g.rv1(ok(g.match(makeJob().nodes(1).cores(2).build())));
  const b = g.rv1(ok(g.match(makeJob().nodes(1).cores(2).build())));
  assert.equal(a.entries()[0]!.rank, b.entries()[0]!.rank);
  assert.equal(a.intersect(b).ncores, 0);
});

void test('a slot bigger than a socket spans the sockets of one node, never two nodes', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'first' });
  const R = g.rv1(ok(g.match(makeJob().nodes(1).cores(8).build())));
  assert.equal(R.nnodes, 1);
  assert.equal(R.ncores, 8);
  const r = g.match(jobspec([slot(1, res('core', 16))]));
  assert.equal(r.outcome, 'UNSATISFIABLE');
  assert.match(r.reason ?? '', /core\[16\]/);
});

void test('strict (Fluxion) levels: a slot must sit right under a matched vertex', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'first' });
  const js = makeJob().nodes(1).cores(8).build();
  assert.equal(g.match(js, { strict: true }).outcome, 'UNSATISFIABLE');
  assert.equal(g.match(js).outcome, 'ALLOCATED');
});

void test('count ranges take as many as are free, rounded to an acceptable value', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'first' });
  const up = g.rv1(ok(g.match(jobspec([res('node', { min: 1, max: 3, operator: '+', operand: 1 }, slot(1, res('core', 1)))]))));
  assert.equal(up.nnodes, 3);
  const g2 = new ResourceGraph(smallGraph(), { policy: 'first' });
  const pow = g2.rv1(ok(g2.match(jobspec([res('node', { min: 1, max: 8, operator: '*', operand: 2 }, slot(1, res('core', 1)))]))));
  assert.equal(pow.nnodes, 4);
  const g3 = new ResourceGraph(smallGraph(), { policy: 'first' });
  const three = g3.rv1(ok(g3.match(jobspec([res('node', { min: 1, max: 3, operator: '*', operand: 2 }, slot(1, res('core', 1)))]))));
  assert.equal(three.nnodes, 2, '1, 2 are acceptable; 3 is not');
});

void test('allocate_orelse_reserve reserves the earliest start; free lets it move', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'first' });
  const whole = makeJob().nodes(4).cores(8).duration(100).build();
  assert.equal(g.match(whole).outcome, 'ALLOCATED');
  const r = g.match(makeJob().nodes(1).cores(1).duration(50).build(), { mode: 'allocate_orelse_reserve' });
  assert.equal(r.outcome, 'RESERVED');
  assert.equal(r.start, 100);
  assert.equal(g.rv1(r.jobid).starttime, 100);
  assert.equal(g.rv1(r.jobid).expiration, 150);
  // A job that fits before the reservation does not need to wait for it.
  const later = g.match(makeJob().nodes(4).cores(8).duration(10).build(), { mode: 'allocate_orelse_reserve' });
  assert.equal(later.outcome, 'RESERVED');
  assert.equal(later.start, 150);
  assert.deepEqual(g.checkAggregates(), []);
});

void test('allocate at a future time (backfill planning) and earliest fit', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'first' });
  ok(g.match(makeJob().nodes(4).cores(8).duration(100).build()));
  assert.equal(g.match(makeJob().nodes(1).build(), { at: 50 }).outcome, 'BUSY');
  const r = g.match(makeJob().nodes(1).duration(10).build(), { at: 100 });
  assert.equal(r.outcome, 'ALLOCATED');
  assert.equal(r.start, 100);
});

void test('satisfiability ignores what is busy or down; unsatisfiable says why', () => {
  const g = tiny('low-id');
  const fits = jobspec([res('node', 1, slot(1, res('socket', 1, res('core', 18))))]);
  const too = jobspec([res('node', 1, slot(1, res('socket', 1, res('core', 19))))]);
  g.drain('node[0-1]');
  assert.equal(g.match(fits, { mode: 'satisfiability' }).outcome, 'SATISFIABLE');
  assert.equal(g.match(fits).outcome, 'BUSY');
  const r = g.match(too, { mode: 'satisfiability' });
  assert.equal(r.outcome, 'UNSATISFIABLE');
  assert.match(r.reason ?? '', /core\[19\] at resources\[0\]\S*: only 18 of 19 core fit under any one socket \(best: socket\d\); needed by node\[1\] → slot\[1\] → socket\[1\]/);
  const zone = g.match(jobspec([res('zone', 1, slot(1, res('core', 1)))]));
  assert.equal(zone.outcome, 'UNSATISFIABLE');
  assert.match(zone.reason ?? '', /no resources of type "zone"/);
});

void test('drain blocks new work, undrain restores it; running jobs keep their resources', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'low-id' });
  const id = ok(g.match(makeJob().nodes(1).cores(1).build()));
  const rank = g.rv1(id).entries()[0]!.rank;
  g.drain(`node${rank}`);
  assert.ok(g.hasJob(id));
  const others = ok(g.match(makeJob().nodes(3).cores(8).build()));
  assert.ok(!g.rv1(others).ranks().has(rank));
  assert.equal(g.match(makeJob().nodes(1).cores(1).build()).outcome, 'BUSY');
  g.undrain(`node${rank}`);
  assert.equal(g.match(makeJob().nodes(1).cores(1).build()).outcome, 'ALLOCATED');
});

void test('constraints: properties, hostlist, ranks, not, and the RFC 35 string', () => {
  const fresh = (): ResourceGraph =>
    new ResourceGraph(
      syntheticGraph({ racksPerCluster: 1, nodesPerRack: 8, coresPerSocket: 2, nodeProperties: (i) => (i % 2 === 1 ? { 'gpu-model': 'a100', ssd: '' } : undefined) }),
      { policy: 'low-id' },
    );
  const one = makeJob().nodes(1).build();
  const ranks = (c: Record<string, unknown> | string): string => {
    const g = fresh();
    const r = g.match(one, { constraint: c });
    return r.outcome === 'ALLOCATED' ? g.rv1(r.jobid).ranks().encode() : r.outcome;
  };
  assert.equal(ranks({ properties: ['ssd'] }), '1');
  assert.equal(ranks({ properties: ['gpu-model=a100'] }), '1');
  assert.equal(ranks({ properties: ['gpu-model=h100'] }), 'UNSATISFIABLE');
  assert.equal(ranks({ properties: ['^ssd'] }), '0');
  assert.equal(ranks({ hostlist: ['node[6-7]'] }), '6');
  assert.equal(ranks({ ranks: ['7'] }), '7');
  assert.equal(ranks({ or: [{ ranks: ['5'] }, { ranks: ['4'] }] }), '4');
  assert.equal(ranks('ssd & -host:node[1,3]'), '5');
  assert.equal(ranks('rank:2 | rank:6'), '2');
  const g = fresh();
  const none = g.match(makeJob().nodes(2).build(), { constraint: { and: [{ properties: ['ssd'] }, { not: [{ properties: ['ssd'] }] }] } });
  assert.equal(none.outcome, 'UNSATISFIABLE');
  assert.match(none.reason ?? '', /constraints/);
  // From the jobspec itself.
  const js = makeJob().nodes(1).constraints({ properties: ['ssd'] }).build();
  assert.equal(g.rv1(ok(g.match(js))).ranks().encode(), '1');
  assert.equal(g.rv1(ok(g.match(js))).ranks().encode(), '1', 'the node is shared: its second core');
  assert.equal(g.rv1(ok(g.match(js))).ranks().encode(), '3');
});

void test('pack fills the fullest rack that still fits; spread the emptiest', () => {
  const mk = (p: 'pack' | 'spread'): ResourceGraph => new ResourceGraph(syntheticGraph({ racksPerCluster: 2, nodesPerRack: 4, coresPerSocket: 4 }), { policy: p });
  for (const p of ['pack', 'spread'] as const) {
    const g = mk(p);
    // Occupy one node of rack 0 (nodes 0-3).
    ok(g.match(makeJob().nodes(1).cores(4).build(), { policy: 'low-id' }));
    const r = g.rv1(ok(g.match(makeJob().nodes(2).cores(4).build())));
    const racks = new Set([...r.ranks()].map((n) => Math.floor(n / 4)));
    assert.deepEqual([...racks], p === 'pack' ? [0] : [1], p);
  }
});

void test('high-id over unsorted children sorts them; first walks graph order', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'first' });
  const r = g.rv1(ok(g.match(makeJob().nodes(1).cores(1).build())));
  assert.equal(r.entries()[0]!.rank, 0);
  const h = g.rv1(ok(g.match(makeJob().nodes(1).cores(1).build(), { policy: 'high-id' })));
  assert.equal(h.entries()[0]!.rank, 3);
});

void test('free restores the graph; freeing twice is an error naming the job', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'first' });
  const before = g.stat();
  const id = ok(g.match(makeJob().nodes(2).cores(3).gpus(1).build()));
  assert.notDeepEqual(g.stat(), before);
  g.free(id);
  assert.deepEqual(g.stat(), before);
  assert.throws(() => g.free(id), (e: unknown) => e instanceof FractalError && e.code === 'ENOENT' && /job 1/.test(e.message));
});

void test('add and remove subgraphs at runtime', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'first' });
  const big = makeJob().nodes(5).cores(1).build();
  assert.equal(g.match(big).outcome, 'UNSATISFIABLE');
  const rack = g.addSubgraph('/cluster0', {
    type: 'rack',
    id: 9,
    children: [{ type: 'node', id: 99, rank: 99, children: [{ type: 'socket', id: 0, children: [{ type: 'core', id: 0 }, { type: 'core', id: 1 }] }] }],
  });
  assert.deepEqual(g.checkAggregates(), []);
  const id = ok(g.match(big));
  assert.ok(g.rv1(id).ranks().has(99));
  assert.throws(() => g.removeSubgraph(rack), (e: unknown) => e instanceof FractalError && e.code === 'EBUSY');
  g.free(id);
  g.removeSubgraph(rack);
  assert.deepEqual(g.checkAggregates(), []);
  assert.equal(g.match(big).outcome, 'UNSATISFIABLE');
  // A leaf that gains children, and new types.
  g.addSubgraph('/cluster0/rack0/node0/socket0/core0', { type: 'hwthread', id: 0 });
  g.addSubgraph('/cluster0/rack0/node1', { type: 'nvme', size: 800, unit: 'GB' });
  assert.deepEqual(g.checkAggregates(), []);
  const nv = g.match(jobspec([res('node', 1, slot(1, res('nvme', 100)))]));
  assert.equal(nv.outcome, 'ALLOCATED');
});

void test('jobspec problems are EINVAL; expected failures are results', () => {
  const g = tiny();
  assert.throws(() => g.match({ version: 1 }), (e: unknown) => e instanceof FractalError && e.code === 'EINVAL');
  assert.throws(() => g.match(makeJob().build(), { policy: 'best' as 'first' }), /unknown match policy "best"/);
  assert.throws(() => g.match(makeJob().build(), { jobid: 0 }), /positive integer/);
});

void test('matching through another subsystem: one switch instead of one rack', () => {
  const fresh = (): ResourceGraph =>
    new ResourceGraph(
      loadConfigText(`
racks:
  - { name: rack0, hosts: "n[0,2]" }
  - { name: rack1, hosts: "n[1,3]" }
hosts:
  - { hosts: "n[0-3]", cores: 2 }
vertices:
  - { type: switch, name: "sw[0-1]" }
edges:
  - { subsystem: network, from: sw0, to: "n[0-1]" }
  - { subsystem: network, from: sw1, to: "n[2-3]" }
`),
      { policy: 'first' },
    );
  const two = (top: string): Jobspec => jobspec([res(top, 1, res('node', 2, slot(1, res('core', 2))))]);
  let g = fresh();
  assert.equal(g.rv1(ok(g.match(two('rack')))).nodelist().encode(), 'n[0,2]');
  g = fresh();
  const id = ok(g.match(two('switch'), { subsystem: 'network' }));
  assert.equal(g.rv1(id).nodelist().encode(), 'n[0-1]');
  // The switch is part of what the job holds (shared), the next job gets the other switch.
  assert.ok(allocationJgf(g, id).graph.nodes.some((n) => n.metadata.name === 'sw0'));
  assert.equal(g.rv1(ok(g.match(two('switch'), { subsystem: 'network' }))).nodelist().encode(), 'n[2-3]');
  assert.equal(g.match(two('switch'), { subsystem: 'network' }).outcome, 'BUSY');
  assert.throws(() => g.match(two('switch'), { subsystem: 'power' }), /no subsystem "power"; it has containment, network/);
  assert.deepEqual(g.checkAggregates(), []);
});

void test('claimR re-claims exactly the vertices of an R, after a restart', () => {
  const a = new ResourceGraph(smallGraph(), { policy: 'low-id' });
  const ids = [ok(a.match(makeJob().nodes(2).cores(3).gpus(1).build())), ok(a.match(makeJob().cores(2).build()))];
  const b = new ResourceGraph(smallGraph(), { policy: 'low-id' });
  for (const id of ids) b.claimR(id, a.rv1(id), 0, 3600);
  for (const id of ids) assert.deepEqual(b.rv1(id).toJSON(), a.rv1(id).toJSON());
  assert.deepEqual(b.stat(), a.stat());
  assert.deepEqual(b.checkAggregates(), []);
  // A claim that overlaps a held core is refused and changes nothing.
  assert.throws(() => b.claimR(99, a.rv1(ids[1]!), 0, 3600), (e: FractalError) => e.code === 'EBUSY' && /held by another job/.test(e.message));
  assert.equal(b.hasJob(99), false);
  assert.throws(() => b.claimR(98, Rv1.fromRanks([{ rank: 77, cores: IdSet.parse('0'), gpus: IdSet.fromArray([]) }]), 0, 10), /rank 77 has no core 0/);
  // The next automatic job id does not collide with claimed ones.
  const next = ok(b.match(makeJob().cores(1).build()));
  assert.ok(!ids.includes(next));
});

void test('extend moves an allocation\'s end and keeps the counts exact', () => {
  const g = new ResourceGraph(smallGraph(), { policy: 'low-id' });
  const id = ok(g.match(makeJob().nodes(1).cores(8).build(), { duration: 100 }));
  const before = g.rv1(id).entries()[0]!;
  g.extend(id, 500);
  assert.equal(g.info(id)!.end, 500);
  const after = g.rv1(id).entries()[0]!;
  assert.equal(after.rank, before.rank);
  assert.equal(after.cores.encode(), before.cores.encode());
  assert.deepEqual(g.checkAggregates(), []);
  // Nothing can take those cores before the new end.
  const r = g.match(makeJob().nodes(1).cores(8).build(), { at: 200, duration: 10, policy: 'first' });
  assert.notEqual(r.outcome === 'ALLOCATED' ? g.rv1(r.jobid).entries()[0]!.rank : -1, g.rv1(id).entries()[0]!.rank);
  assert.throws(() => g.extend(12345, 10), /holds no resources/);
});
