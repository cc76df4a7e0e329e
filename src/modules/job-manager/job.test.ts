import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyEvent, newJob, resultOf, returnCodeOf, type Job } from './job.js';
import type { JobEvent } from '../../protocol/index.js';

const req = { nnodes: 0, nslots: 1, slotsPerNode: 0, coresPerSlot: 1, gpusPerSlot: 0, exclusive: false, ntasks: 1, duration: 0 };
const ev = (name: string, context?: Record<string, unknown>, timestamp = 1): JobEvent => (context ? { timestamp, name, context } : { timestamp, name });
const replay = (evs: JobEvent[]): Job => evs.reduce(applyEvent, newJob(1, {}, req, 'x'));

const HAPPY = [
  ev('submit', { userid: 5, urgency: 16, flags: 0, version: 1 }), ev('validate'), ev('depend'), ev('priority', { priority: 16 }),
  ev('alloc', { R: { version: 1 } }), ev('start'), ev('finish', { status: 0 }), ev('release', { ranks: 'all', final: true }), ev('free'), ev('clean'),
];

void test('the normal life cycle walks the RFC 21 states', () => {
  const states = HAPPY.map((_, i) => replay(HAPPY.slice(0, i + 1)).state);
  assert.deepEqual(states, ['NEW', 'DEPEND', 'PRIORITY', 'SCHED', 'RUN', 'RUN', 'CLEANUP', 'CLEANUP', 'CLEANUP', 'INACTIVE']);
  const j = replay(HAPPY);
  assert.equal(resultOf(j), 'COMPLETED');
  assert.equal(returnCodeOf(j), 0);
  assert.equal(j.seq, HAPPY.length);
});

void test('a severity-0 exception moves any active state to CLEANUP; others do not', () => {
  for (let i = 2; i < 6; i++) {
    const j = replay([...HAPPY.slice(0, i), ev('exception', { type: 'cancel', severity: 0, note: '' })]);
    assert.equal(j.state, 'CLEANUP', `after ${HAPPY[i - 1]!.name}`);
    assert.equal(resultOf(j), 'CANCELED');
  }
  const j = replay([...HAPPY.slice(0, 4), ev('exception', { type: 'warn', severity: 3, note: '' })]);
  assert.equal(j.state, 'SCHED');
});

void test('the first severity-0 exception is the root cause', () => {
  const j = replay([...HAPPY.slice(0, 6), ev('exception', { type: 'timeout', severity: 0, note: 'a' }), ev('exception', { type: 'cancel', severity: 0, note: 'b' })]);
  assert.equal(j.exception?.type, 'timeout');
  assert.equal(resultOf(j), 'TIMEOUT');
});

void test('exit codes and signals from wait status', () => {
  assert.equal(returnCodeOf({ status: 7 << 8, started: true }), 7);
  assert.equal(returnCodeOf({ status: 9, started: true }), 137);
  assert.equal(resultOf({ status: 7 << 8, started: true }), 'FAILED');
});

void test('dependencies are added and removed by description; jobspec-update changes duration', () => {
  let j = replay(HAPPY.slice(0, 1));
  j = applyEvent(j, ev('dependency-add', { description: 'afterok=3' }));
  j = applyEvent(j, ev('dependency-add', { description: 'begin-time=9' }));
  j = applyEvent(j, ev('dependency-remove', { description: 'afterok=3' }));
  assert.deepEqual(j.deps, ['begin-time=9']);
  j = applyEvent(j, ev('jobspec-update', { 'attributes.system.duration': 600 }));
  assert.equal(j.request.duration, 600);
  assert.deepEqual(j.jobspec, { attributes: { system: { duration: 600 } } });
});

void test('property: replaying any prefix of any event sequence equals applying it step by step, and is pure', () => {
  const names = ['submit', 'validate', 'depend', 'priority', 'urgency', 'alloc', 'start', 'finish', 'release', 'free', 'exception', 'clean', 'annotation'];
  const evArb = fc.record({ name: fc.constantFrom(...names), sev: fc.integer({ min: 0, max: 7 }), n: fc.integer({ min: 0, max: 31 }) })
    .map(({ name, sev, n }) => ev(name, { severity: sev, urgency: n, priority: n, status: n << 8, type: 'x', note: '' }));
  fc.assert(fc.property(fc.array(evArb, { maxLength: 30 }), (evs) => {
    const start = newJob(1, {}, req, 'x');
    const frozen = JSON.stringify(start);
    let j = start;
    for (const e of evs) j = applyEvent(j, e);
    assert.deepEqual(replay(evs), j);
    assert.equal(JSON.stringify(start), frozen);
    // INACTIVE is final for state.
    const k = evs.findIndex((e) => e.name === 'clean');
    if (k >= 0) assert.equal(replay(evs.slice(0, k + 1)).state === 'INACTIVE' ? j.state : 'INACTIVE', 'INACTIVE');
  }));
});
