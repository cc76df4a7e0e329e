import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodePool, createPolicy } from '../sched/index.js';
import { simulate } from './engine.js';
import { boundedSlowdown, computeMetrics, distribution, jobsCsv, percentile } from './metrics.js';
import { binTimeline, lineChart, niceTicks, timelinePlots } from './svg.js';
import type { SimJob } from './workload.js';

void test('bounded slowdown: max(1, (wait + run) / max(run, 10))', () => {
  assert.equal(boundedSlowdown(0, 100), 1);
  assert.equal(boundedSlowdown(100, 100), 2);
  assert.equal(boundedSlowdown(95, 5), 10);
  assert.equal(boundedSlowdown(3, 2), 1);
});

void test('percentiles are nearest-rank; the distribution has mean and max', () => {
  const s = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(percentile(s, 0.5), 5);
  assert.equal(percentile(s, 0.9), 9);
  assert.equal(percentile(s, 0.99), 10);
  assert.deepEqual(distribution(Float64Array.from([4, 1, 3, 2])), { mean: 2.5, p50: 2, p90: 4, p95: 4, p99: 4, max: 4 });
});

// Two jobs on 10 cores: A 10 cores 0..100, B 5 cores waits 100 then runs 100.
const J = (id: number, submit: number, procs: number, run: number): SimJob => ({ id, submit, procs, run, estimate: run });
const result = () => simulate([J(7, 0, 10, 100), J(8, 0, 5, 100)], { policy: createPolicy('fcfs'), pool: new NodePool({ nodes: 10, coresPerNode: 1 }) });

void test('metrics of a hand-computed schedule: makespan, utilization, wait, bsld', () => {
  const m = computeMetrics(result());
  assert.equal(m.makespan, 200);
  assert.equal(m.utilization, (10 * 100 + 5 * 100) / (10 * 200));
  assert.equal(m.wait.mean, 50);
  assert.equal(m.bsld.mean, 1.5);
  assert.equal(m.bsld.max, 2);
  assert.equal(m.killed, 0);
});

void test('the per-job CSV has the documented columns in trace order', () => {
  assert.equal(jobsCsv(result()), 'id,submit,start,end,procs,estimate,run,wait,bsld,killed\n7,0,0,100,10,100,100,0,1,0\n8,0,100,200,5,100,100,100,2,0\n');
});

void test('timeline binning is time-weighted; plots are well-formed SVG with axes', () => {
  const b = binTimeline({ time: [0, 50, 100], used: [10, 5, 0], queued: [1, 0, 0] }, 4);
  assert.deepEqual([...b.used], [10, 10, 5, 5]);
  assert.deepEqual([...b.queued], [1, 1, 0, 0]);
  assert.deepEqual(niceTicks(0, 100), [0, 20, 40, 60, 80, 100]);
  const svg = lineChart([{ name: 'a<b', x: [0, 1, 2], y: [0, 5, 2] }], { title: 'T & U', xLabel: 'x', yLabel: 'y' });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /T &amp; U/);
  assert.match(svg, /<polyline /);
  assert.match(svg, /<\/svg>\n$/);
  const p = timelinePlots(result().timeline, 10, 'test');
  assert.match(p.utilization, /cores in use \(%\)/);
  assert.match(p.queue, /pending jobs/);
});
