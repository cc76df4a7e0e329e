import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NodePool } from './pool.js';
import { createPolicy } from './policies.js';
import type { PendingJob, Plan, RunningJob, Snapshot } from './types.js';

// Textbook scenarios on a 100-core machine (100 nodes x 1 core), one cycle at
// time 0. Schedules computed by hand; see docs/scheduling.md for the pictures.
const pool = new NodePool({ nodes: 100, coresPerNode: 1 });
const job = (id: number, procs: number, limit: number, submit = 0): PendingJob => ({ id, submit, procs, limit });
const run = (id: number, procs: number, end: number, start = 0): RunningJob => ({ id, procs, start, end });
const snap = (pending: PendingJob[], running: RunningJob[], now = 0): Snapshot => ({ now, pending, running, resources: pool });
const started = (p: Plan) => p.start.map((j) => j.id);
const why = (p: Plan, id: number) => p.waiting?.get(id);

// Running: 60 cores until t=10 (40 free now). Queue: A 50c/20s, B 10c/5s,
// C 30c/100s, D 20c/100s. A blocks; its shadow time is 10 and at 10 there are
// 50 spare cores ("extra"), so C may run past 10. After B and C nothing is free.
const queue1 = () => [job(1, 50, 20), job(2, 10, 5), job(3, 30, 100), job(4, 20, 100)];

void test('fcfs: the blocked head stops the queue; the rest wait for priority', () => {
  const p = createPolicy('fcfs').plan(snap(queue1(), [run(9, 60, 10)]));
  assert.deepEqual(started(p), []);
  assert.deepEqual(why(p, 1), { reason: 'resources' });
  assert.deepEqual(why(p, 2), { reason: 'priority' });
  assert.equal(p.reservations.size, 0);
});

void test('fcfs: starts in order while jobs fit; the queue depth bounds a cycle and asks for another', () => {
  const pending = [job(1, 10, 5), job(2, 10, 5), job(3, 10, 5), job(4, 95, 5), job(5, 1, 1)];
  const all = createPolicy('fcfs').plan(snap(pending, []));
  assert.deepEqual(started(all), [1, 2, 3]);
  assert.equal(all.more, false);
  assert.deepEqual(why(all, 4), { reason: 'resources' });
  assert.deepEqual(why(all, 5), { reason: 'priority' });
  const two = createPolicy('fcfs', { queueDepth: 2 }).plan(snap(pending, []));
  assert.deepEqual(started(two), [1, 2]);
  assert.equal(two.more, true);
  assert.deepEqual(why(two, 3), { reason: 'priority' });
});

void test('easy: short jobs backfill before the shadow time, long ones use the extra processors', () => {
  const p = createPolicy('easy').plan(snap(queue1(), [run(9, 60, 10)]));
  assert.deepEqual(started(p), [2, 3]);
  assert.deepEqual([...p.reservations], [[1, 10]]);
  assert.deepEqual(why(p, 1), { reason: 'resources', start: 10 });
  assert.deepEqual(why(p, 4), { reason: 'resources' });
});

// Running: 60 cores until 10. Queue: A 80c/20s (shadow 10, extra 20),
// E 30c/100s (fits now but would leave A 70 < 80 at time 10), F 20c/100s
// (exactly the extra), S 20c/10s (ends exactly at the shadow time).
const queue2 = () => [job(1, 80, 20), job(2, 30, 100), job(3, 20, 100), job(4, 20, 10)];

void test('easy: a long job larger than the extra processors would delay the head and waits', () => {
  const p = createPolicy('easy').plan(snap(queue2(), [run(9, 60, 10)]));
  assert.deepEqual(started(p), [3, 4]);
  assert.deepEqual(why(p, 1), { reason: 'resources', start: 10 });
  assert.deepEqual(why(p, 2), { reason: 'reservation' });
});

void test('conservative: every job gets a reservation; backfill respects all of them', () => {
  const p = createPolicy('conservative').plan(snap(queue1(), [run(9, 60, 10)]));
  assert.deepEqual(started(p), [2, 3]);
  assert.deepEqual([...p.reservations], [[1, 10], [4, 10]]);
  assert.deepEqual(why(p, 4), { reason: 'resources', start: 10 });
  const q = createPolicy('conservative').plan(snap(queue2(), [run(9, 60, 10)]));
  assert.deepEqual(started(q), [3, 4]);
  assert.deepEqual([...q.reservations], [[1, 10], [2, 30]]);
  assert.deepEqual(why(q, 2), { reason: 'reservation', start: 30 });
});

// Running: 60 cores until 10. A 80c/20s reserved at 10..30; B 90c/10s blocks
// too; C 20c/40s fits beside A's reservation but overlaps B's (30..40) once B
// has one: EASY starts C (delaying B), conservative and hybrid K=2 do not.
const queue3 = () => [job(1, 80, 20), job(2, 90, 10), job(3, 20, 40)];

void test('easy vs conservative vs hybrid: only reserved jobs are protected', () => {
  const easy = createPolicy('easy').plan(snap(queue3(), [run(9, 60, 10)]));
  assert.deepEqual(started(easy), [3]);
  assert.deepEqual([...easy.reservations], [[1, 10]]);
  assert.deepEqual(why(easy, 2), { reason: 'resources' });
  const cons = createPolicy('conservative').plan(snap(queue3(), [run(9, 60, 10)]));
  assert.deepEqual(started(cons), []);
  assert.deepEqual([...cons.reservations], [[1, 10], [2, 30], [3, 40]]);
  assert.deepEqual(why(cons, 3), { reason: 'reservation', start: 40 });
  const h2 = createPolicy('hybrid', { reservationDepth: 2 }).plan(snap(queue3(), [run(9, 60, 10)]));
  assert.deepEqual(started(h2), []);
  assert.deepEqual([...h2.reservations], [[1, 10], [2, 30]]);
  const h1 = createPolicy('hybrid', { reservationDepth: 1 }).plan(snap(queue3(), [run(9, 60, 10)]));
  assert.deepEqual(started(h1), started(easy));
});

void test('conservative places jobs with earlier reservations first, so a reservation never moves later', () => {
  // Job 2 arrived first in priority order but job 3 holds the earlier reservation.
  const pending: PendingJob[] = [job(1, 80, 20), { ...job(2, 100, 10), reservation: 40 }, { ...job(3, 20, 40), reservation: 0 }];
  const p = createPolicy('conservative').plan(snap(pending, [run(9, 60, 10)]));
  assert.deepEqual(started(p), [3]);
});

void test('unsatisfiable jobs are reported and skipped, not blocking the queue', () => {
  for (const name of ['fcfs', 'easy', 'conservative', 'hybrid']) {
    const p = createPolicy(name).plan(snap([job(1, 150, 10), job(2, 10, 10)], []));
    assert.deepEqual(started(p), [2], name);
    assert.deepEqual(why(p, 1), { reason: 'unsatisfiable' }, name);
  }
});

void test('whole-node requests count nodes x cores per node', () => {
  const p4 = new NodePool({ nodes: 4, coresPerNode: 8 });
  assert.equal(p4.demand({ procs: 1, nodes: 2 }), 16);
  assert.match(p4.infeasible({ procs: 1, nodes: 5 }) ?? '', /5 nodes/);
  const plan = createPolicy('easy').plan({ now: 0, resources: p4, running: [run(9, 20, 50)], pending: [{ ...job(1, 0, 10), nodes: 2 }, job(2, 12, 10)] });
  assert.deepEqual(started(plan), [2]);
  assert.deepEqual([...plan.reservations], [[1, 50]]);
});

void test('bad policy names and options are rejected with what to use', () => {
  assert.throws(() => createPolicy('sjf'), /unknown scheduling policy "sjf": use one of fcfs, easy, conservative, hybrid/);
  assert.throws(() => createPolicy('fcfs', { queueDepth: 0 }), /queue depth/);
  assert.throws(() => createPolicy('hybrid', { reservationDepth: -1 }), /reservation depth/);
  assert.throws(() => new NodePool({ nodes: 0, coresPerNode: 1 }), /nodes >= 1/);
});

void test('the profile: earliest start skips segments that are too full', () => {
  const pr = pool.profile(0, [run(1, 50, 10), run(2, 30, 20), run(3, 20, 30)]);
  assert.equal(pr.freeAt(0), 0);
  assert.equal(pr.freeAt(15), 50);
  assert.equal(pr.earliestStart({ procs: 60 }, 5, 0), 20);
  pr.reserve({ procs: 60 }, 20, 25);
  assert.equal(pr.freeAt(22), 20);
  assert.equal(pr.freeAt(25), 80);
  assert.equal(pr.earliestStart({ procs: 60 }, 10, 0), 25);
  assert.equal(pr.earliestStart({ procs: 40 }, 10, 0), 10);
  assert.equal(pr.earliestStart({ procs: 101 }, 1, 0), Infinity);
  assert.equal(pr.fits({ procs: 50 }, 10, 20), true);
  assert.equal(pr.fits({ procs: 50 }, 10, 25), false);
  assert.equal(pr.fits({ procs: 20 }, 10, 30), true);
});

// Property: whatever the snapshot, a plan never over-subscribes the machine:
// running jobs, the jobs it starts and the reservations it makes fit together
// at every moment, and every started job fits now.
const arbSnapshot = fc.record({
  running: fc.array(fc.record({ procs: fc.integer({ min: 1, max: 40 }), end: fc.integer({ min: 1, max: 100 }) }), { maxLength: 8 }),
  pending: fc.array(fc.record({ procs: fc.integer({ min: 1, max: 100 }), limit: fc.integer({ min: 1, max: 100 }) }), { maxLength: 15 }),
});

void test('property: plans never over-subscribe, now or at any reserved time', () => {
  fc.assert(fc.property(arbSnapshot, fc.constantFrom('fcfs', 'easy', 'conservative', 'hybrid'), (g, name) => {
    const running: RunningJob[] = [];
    let used = 0;
    for (const [i, r] of g.running.entries()) {
      if (used + r.procs > 100) break;
      used += r.procs;
      running.push(run(1000 + i, r.procs, r.end));
    }
    const pending = g.pending.map((p, i) => job(i, p.procs, p.limit));
    const p = createPolicy(name).plan(snap(pending, running));
    const intervals: [number, number, number][] = running.map((r) => [0, r.end, r.procs]);
    for (const j of p.start) intervals.push([0, j.limit, j.procs]);
    for (const [id, at] of p.reservations) {
      const j = pending[id]!;
      intervals.push([at, at + j.limit, j.procs]);
      assert.ok(at > 0, 'a reservation is for later');
    }
    const times = [...new Set(intervals.map((x) => x[0]))];
    for (const t of times) {
      const load = intervals.filter(([s, e]) => s <= t && t < e).reduce((a, x) => a + x[2], 0);
      assert.ok(load <= 100, `${name}: ${load} cores in use at ${t}`);
    }
    for (const j of pending) {
      if (p.start.includes(j)) continue;
      assert.ok(p.waiting?.has(j.id), `${name}: job ${j.id} has a reason`);
    }
  }), { numRuns: 300 });
});

void test('a zero time limit still holds the cores for the instant it starts', () => {
  const p = createPolicy('easy').plan(snap([job(1, 60, 0), job(2, 60, 0), job(3, 40, 0)], []));
  assert.deepEqual(started(p), [1, 3]);
  assert.equal(why(p, 2)?.reason, 'resources');
  assert.ok((p.reservations.get(2) ?? 0) > 0);
});

void test('without explain the plan carries no reasons (the simulator\'s fast path)', () => {
  const p = createPolicy('easy').plan({ ...snap(queue1(), [run(9, 60, 10)]), explain: false });
  assert.deepEqual(started(p), [2, 3]);
  assert.equal(p.waiting, undefined);
  assert.deepEqual([...p.reservations], [[1, 10]]);
});
