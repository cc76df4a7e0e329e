import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { NodePool, createPolicy, type QueuePolicy } from '../sched/index.js';
import { simulate, type SimResult } from './engine.js';
import type { SimJob } from './workload.js';

// Textbook schedules on a 100-core machine, computed by hand (docs/scheduling.md).
const pool = new NodePool({ nodes: 100, coresPerNode: 1 });
const J = (id: number, submit: number, procs: number, run: number, estimate = run): SimJob => ({ id, submit, procs, run, estimate });
const starts = (r: SimResult) => Object.fromEntries(r.jobs.map((j, i) => [j.id, r.start[i]]));
const sim = (jobs: SimJob[], policy: string, kill = true) => simulate(jobs, { policy: createPolicy(policy), pool, kill });

// 1 holds 60 cores until 10. 2 (50 cores) must wait for it: shadow time 10.
// 3 is short (ends at 7); 4 is long but uses 30 of the 50 cores that 2 leaves
// spare at time 10 (the extra-processors rule); 5 waits until 10.
const scenario1 = () => [J(1, 0, 60, 10), J(2, 1, 50, 20), J(3, 2, 10, 5), J(4, 3, 30, 100), J(5, 4, 20, 10)];

void test('textbook 1, fcfs: nothing passes the blocked job', () => {
  assert.deepEqual(starts(sim(scenario1(), 'fcfs')), { 1: 0, 2: 10, 3: 10, 4: 10, 5: 15 });
});

void test('textbook 1, easy: a short job backfills and a long one uses the extra processors', () => {
  assert.deepEqual(starts(sim(scenario1(), 'easy')), { 1: 0, 2: 10, 3: 2, 4: 3, 5: 10 });
});

void test('textbook 1, conservative: the same backfills are safe for every reservation', () => {
  assert.deepEqual(starts(sim(scenario1(), 'conservative')), { 1: 0, 2: 10, 3: 2, 4: 3, 5: 10 });
});

// 2 (80 cores) is reserved at 10..30; 3 (90 cores) queues behind it; 4 fits
// beside 2's reservation but would run into 3's start at 30. EASY protects
// only 2 and lets 4 in, which pushes 3 back to 43; conservative keeps 3's
// reservation at 30 and runs 4 at 40.
const scenario2 = () => [J(1, 0, 60, 10), J(2, 1, 80, 20), J(3, 2, 90, 10), J(4, 3, 20, 40)];

void test('textbook 2: easy delays the second job, conservative does not', () => {
  assert.deepEqual(starts(sim(scenario2(), 'easy')), { 1: 0, 2: 10, 3: 43, 4: 3 });
  assert.deepEqual(starts(sim(scenario2(), 'conservative')), { 1: 0, 2: 10, 3: 30, 4: 40 });
  assert.deepEqual(starts(sim(scenario2(), 'fcfs')), { 1: 0, 2: 10, 3: 30, 4: 40 });
  const h = simulate(scenario2(), { policy: createPolicy('hybrid', { reservationDepth: 2 }), pool });
  assert.deepEqual(starts(h), { 1: 0, 2: 10, 3: 30, 4: 40 });
});

void test('jobs are killed at their estimate unless told otherwise; early ends let reservations move earlier', () => {
  const jobs = [J(1, 0, 100, 50, 30), J(2, 1, 100, 10)];
  const killed = sim(jobs, 'easy');
  assert.deepEqual([...killed.end], [30, 40]);
  assert.deepEqual([...killed.killed], [1, 0]);
  const free = sim(jobs, 'easy', false);
  assert.deepEqual([...free.end], [50, 60]);
  const early = sim([J(1, 0, 100, 5, 30), J(2, 1, 100, 10)], 'conservative');
  assert.deepEqual([...early.start], [0, 5]);
});

void test('a policy that over-subscribes is caught by the plan applier', () => {
  const greedy: QueuePolicy = { name: 'greedy', plan: (s) => ({ start: s.pending, reservations: new Map(), more: false }) };
  assert.throws(() => simulate([J(1, 0, 60, 10), J(2, 0, 60, 10)], { policy: greedy, pool }), /over-subscribed/);
  assert.throws(() => sim([J(1, 0, 101, 10)], 'easy'), /can never run on 100 nodes x 1 cores/);
});

// Random workloads on a small machine: invariants of every policy.
const arbJobs = fc.array(
  fc.record({
    submit: fc.integer({ min: 0, max: 200 }),
    procs: fc.integer({ min: 1, max: 100 }),
    run: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 80 })),
    over: fc.integer({ min: -20, max: 60 }),
  }),
  { minLength: 1, maxLength: 25 },
).map((a) => a.map((x, i) => J(i + 1, x.submit, x.procs, x.run, Math.max(0, x.run + x.over))));
const arbPolicy = fc.constantFrom('fcfs', 'easy', 'conservative', 'hybrid');

function checkSchedule(r: SimResult, capacity: number): void {
  const n = r.jobs.length;
  for (let i = 0; i < n; i++) {
    assert.ok(r.start[i]! >= r.jobs[i]!.submit, `job ${i} starts before its submit`);
    assert.ok(r.end[i]! >= r.start[i]!, `job ${i} ends before it starts`);
  }
  for (let i = 0; i < n; i++) {
    const t = r.start[i]!;
    let load = 0;
    for (let k = 0; k < n; k++) if (r.start[k]! <= t && t < r.end[k]!) load += r.jobs[k]!.procs;
    assert.ok(load <= capacity, `${load} cores in use at ${t}`);
  }
}

void test('property: no job starts before its submit time and the machine is never over-subscribed', () => {
  fc.assert(fc.property(arbJobs, arbPolicy, fc.boolean(), (jobs, name, kill) => {
    checkSchedule(sim(jobs, name, kill), 100);
  }), { numRuns: 200 });
});

void test('property: deterministic, and seeded tie-breaks replay identically', () => {
  fc.assert(fc.property(arbJobs, arbPolicy, fc.integer(), (jobs, name, seed) => {
    const a = simulate(jobs, { policy: createPolicy(name), pool, seed });
    const b = simulate(jobs.map((j) => ({ ...j })), { policy: createPolicy(name), pool, seed });
    assert.deepEqual([...a.start], [...b.start]);
    assert.deepEqual([...a.end], [...b.end]);
  }), { numRuns: 100 });
});

void test('property: conservative never delays a reservation, and jobs start no later than first promised', () => {
  fc.assert(fc.property(arbJobs, (jobs) => {
    const inner = createPolicy('conservative');
    const promised = new Map<number, number[]>();
    const recording: QueuePolicy = {
      name: 'conservative',
      plan(s) {
        const p = inner.plan(s);
        for (const [id, at] of p.reservations) promised.set(id, [...(promised.get(id) ?? []), at]);
        return p;
      },
    };
    const r = simulate(jobs, { policy: recording, pool });
    for (const [id, list] of promised) {
      for (let k = 1; k < list.length; k++) assert.ok(list[k]! <= list[k - 1]!, `job ${id}: reservation moved from ${list[k - 1]} to ${list[k]}`);
      assert.ok(r.start[id]! <= list[0]!, `job ${id} started at ${r.start[id]}, promised ${list[0]}`);
    }
  }), { numRuns: 200 });
});
