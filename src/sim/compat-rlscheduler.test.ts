import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { sharedDir } from '../testing/index.js';
import { parseSwf, readSwf } from './swf.js';
import { RLS_WINDOWS, rlsWindow, rlsWorkload, runRlscheduler } from './compat-rlscheduler.js';

// The traces live in the shared test data (shared/data/traces); FRACTAL_TRACES overrides.
const traces = process.env.FRACTAL_TRACES ?? join(sharedDir(), 'data/traces/');
const lublin = `${traces.replace(/\/$/, '')}/lublin_256.swf`;
const skip = existsSync(lublin) ? false : `no ${lublin} (set FRACTAL_TRACES)`;
const fractal = fileURLToPath(new URL('../../../bin/fractal', import.meta.url));

void test('rlscheduler loading rules: max procs, -1 request becomes run time, run < 0 becomes 10, run 0 dropped, sorted by id', () => {
  const f = (id: number, run: number, alloc: number, req: number, reqTime: number) => `${id} ${id * 10} 0 ${run} ${alloc} -1 -1 ${req} ${reqTime} -1 1 1 1 1 1 1 -1 -1`;
  const t = parseSwf(['; MaxNodes: 64', f(3, 100, 4, 8, 50), f(1, -1, 2, -1, -1), f(2, 0, 1, 1, 10)].join('\n'));
  const w = rlsWorkload(t);
  assert.equal(w.procs, 64);
  assert.deepEqual(w.jobs, [{ id: 1, submit: 10, run: 10, procs: 2, request: -1 }, { id: 3, submit: 30, run: 100, procs: 8, request: 50 }]);
});

void test('check value: FCFS without backfilling on lublin_256, window 0, is 6862.26', { skip }, async () => {
  const w = rlsWorkload(await readSwf(lublin));
  assert.equal(w.jobs.length, 10000);
  assert.equal(w.procs, 256);
  const bsld = rlsWindow(w, RLS_WINDOWS[0]!, 'fcfs', false);
  assert.equal(bsld.toFixed(2), '6862.26');
});

void test('the four lublin_256 means (docs/validation.md) and determinism', { skip }, async () => {
  const t = await readSwf(lublin);
  const got = [runRlscheduler(t, 'fcfs', false), runRlscheduler(t, 'fcfs', true), runRlscheduler(t, 'sjf', false), runRlscheduler(t, 'sjf', true)];
  assert.deepEqual(got.map((r) => r.mean.toFixed(2)), ['7273.77', '235.82', '277.35', '73.31']);
  assert.deepEqual(got[0]!.windows.map((w) => w.start), RLS_WINDOWS);
  assert.deepEqual(runRlscheduler(t, 'fcfs', true), got[1]);
});

void test('fractal sim --compat rlscheduler --json prints the windows and the mean', { skip: skip || (!existsSync(fractal) && 'no bin/fractal') }, () => {
  const r = spawnSync(process.execPath, [fractal, 'sim', '--trace', lublin, '--compat', 'rlscheduler', '--policy', 'fcfs', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { windows: { start: number; bsld: number }[]; mean: number };
  assert.deepEqual(Object.keys(out), ['windows', 'mean']);
  assert.deepEqual(out.windows[0], { start: 1981, bsld: 6862.263618932564 });
  const bad = spawnSync(process.execPath, [fractal, 'sim', '--trace', lublin, '--compat', 'rlscheduler', '--policy', 'easy'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--compat rlscheduler needs --policy fcfs or --policy sjf \(got "easy"\)/);
  const missing = spawnSync(process.execPath, [fractal, 'sim', '--trace', '/nonexistent.swf', '--policy', 'easy'], { encoding: 'utf8' });
  assert.match(missing.stderr, /trace file "\/nonexistent.swf" does not exist/);
  const policy = spawnSync(process.execPath, [fractal, 'sim', '--trace', lublin, '--policy', 'lifo'], { encoding: 'utf8' });
  assert.match(policy.stderr, /unknown --policy "lifo": use one of fcfs, easy, conservative, hybrid/);
});
