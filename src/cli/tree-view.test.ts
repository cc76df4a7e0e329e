import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drawTree, type TreeNode } from './tree-view.js';
import { countsOf, usageOf, utf8Locale } from './instance-view.js';
import { orderJobs, renderFrame, throughput } from './top-view.js';
import type { JobInfo } from '../protocol/index.js';

const node = (path: string, run: number, pending: number, done: number, children: TreeNode[] = []): TreeNode =>
  ({ path, uri: `local:///x/${path}`, nodes: 2, cores: 4, gpus: 0, jobs: { run, pending, done }, children });

const tree = node('.', 2, 0, 1, [
  node('12', 3, 10, 40, [node('12/5', 1, 0, 0), { path: '12/6', uri: 'local:///gone', error: 'not answering (it may have just ended)', children: [] }]),
  node('13', 0, 0, 7),
]);

void test('pstree: children under their parent job with box-drawing characters', () => {
  assert.deepEqual(drawTree(tree, false), [
    '. ─ 2 nodes 4 cores · 2 run 0 pending 1 done',
    '├── 12 ─ 2 nodes 4 cores · 3 run 10 pending 40 done',
    '│   ├── 12/5 ─ 2 nodes 4 cores · 1 run 0 pending 0 done',
    '│   └── 12/6 ─ not answering (it may have just ended)',
    '└── 13 ─ 2 nodes 4 cores · 0 run 0 pending 7 done',
  ]);
});

void test('pstree: ASCII when asked, or when the locale is not UTF-8', () => {
  assert.deepEqual(drawTree(tree, true), [
    '. - 2 nodes 4 cores | 2 run 0 pending 1 done',
    '|-- 12 - 2 nodes 4 cores | 3 run 10 pending 40 done',
    '|   |-- 12/5 - 2 nodes 4 cores | 1 run 0 pending 0 done',
    '|   `-- 12/6 - not answering (it may have just ended)',
    '`-- 13 - 2 nodes 4 cores | 0 run 0 pending 7 done',
  ]);
  assert.equal(utf8Locale({ LANG: 'en_US.UTF-8' }), true);
  assert.equal(utf8Locale({ LANG: 'C.utf8' }), true);
  assert.equal(utf8Locale({ LANG: 'C' }), false);
  assert.equal(utf8Locale({}), false);
  assert.equal(utf8Locale({ LC_ALL: 'C', LANG: 'en_US.UTF-8' }), false, 'LC_ALL wins');
  assert.deepEqual(drawTree({ ...node('.', 0, 0, 0), nodes: 1, cores: 1, gpus: 2 }, false), ['. ─ 1 node 1 core 2 gpus · 0 run 0 pending 0 done']);
});

void test('instance view: use and counts from sched.status and job-manager.stats', () => {
  const u = usageOf([
    { ncores: 4, ngpus: 1, freeCores: 1, freeGpus: 0, up: true, drained: false },
    { ncores: 4, ngpus: 1, freeCores: 4, freeGpus: 1, up: true, drained: true },
    { ncores: 2, ngpus: 0, freeCores: 2, freeGpus: 0, up: false, drained: false },
  ]);
  assert.deepEqual(u, { nodes: 3, cores: 10, gpus: 2, coresUsed: 3, gpusUsed: 1, up: 1, down: 1, drained: 1 });
  assert.deepEqual(countsOf({ counts: { NEW: 1, DEPEND: 2, PRIORITY: 3, SCHED: 4, RUN: 5, CLEANUP: 6 }, inactive: 7 }), { pending: 10, run: 11, done: 7 });
});

function job(id: number, state: string, priority = 16, extra: Partial<JobInfo> = {}): JobInfo {
  return { id, userid: 12345, name: `j${id}`, state: state as JobInfo['state'], urgency: 16, priority, t_submit: 0, nnodes: 1, ntasks: 1, ncores: 1, duration: 0, ...extra };
}

void test('top: running jobs first, then pending by priority; throughput from two frames; a plain frame', () => {
  const jobs = orderJobs([job(9, 'RUN', 16, { t_run: 90 }), job(3, 'RUN', 16, { t_run: 95, uri: 'local:///c' })], [job(5, 'SCHED', 10), job(8, 'SCHED', 20), job(6, 'SCHED', 10)]);
  assert.deepEqual(jobs.map((j) => j.id), [3, 9, 8, 5, 6]);
  const snap = { usage: usageOf([{ ncores: 4, ngpus: 0, freeCores: 2, freeGpus: 0, up: true, drained: false }]), jobs: { run: 2, pending: 3, done: 50 }, tStart: 40, t: 100 };
  const prev = { ...snap, jobs: { ...snap.jobs, done: 30 }, t: 96 };
  assert.equal(throughput(snap, prev), 5);
  assert.equal(throughput(snap, undefined), undefined);
  const lines = renderFrame({ label: '12', uri: 'local:///c', snap, prev, jobs, selected: -1, message: '', size: undefined });
  assert.deepEqual(lines.slice(0, 3), [
    'fractal top: 12 (local:///c)   uptime 1.0m',
    'cores 2/4 used   gpus 0/0 used   nodes 1 up 0 down 0 drained',
    'jobs 2 run 3 pending 50 done   throughput 5.0 jobs/s',
  ]);
  assert.equal(lines.length, 5 + 5, 'header, blank, column names, five jobs');
  assert.match(lines[5]!, /^\+\s+3 \S+\s+j3\s+R\s+1\s+1\s+5s$/, 'a job running an instance is marked +');
  assert.match(lines[9]!, /^ \s+6 \S+\s+j6\s+S\s+1\s+1\s+-$/);
  // On a terminal: cut to its size, the selected row in reverse video, a key help line last.
  const tty = renderFrame({ label: '12', uri: 'local:///c', snap, prev, jobs, selected: 1, message: '', size: { columns: 40, rows: 8 } });
  assert.equal(tty.length, 8);
  assert.ok(tty.every((l) => l.replace(/\x1b\[[0-9;]*m/g, '').length <= 40));
  assert.match(tty[6]!, /^\x1b\[7m/, 'job 9 (the selected one) is drawn reversed');
  assert.match(tty[7]!, /^up\/down select/);
});
