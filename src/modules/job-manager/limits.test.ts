import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkQueued, queuedLimits, DEFAULT_MAX_JOBS } from './limits.js';

void test('queued-job limits: defaults and -o job-manager.max-jobs / max-user-jobs', () => {
  assert.deepEqual(queuedLimits({}), { maxJobs: DEFAULT_MAX_JOBS, maxUserJobs: DEFAULT_MAX_JOBS });
  assert.deepEqual(queuedLimits({ 'job-manager.max-jobs': '50' }), { maxJobs: 50, maxUserJobs: 50 });
  assert.deepEqual(queuedLimits({ 'job-manager.max-jobs': '50', 'job-manager.max-user-jobs': '7' }), { maxJobs: 50, maxUserJobs: 7 });
  for (const bad of ['0', '-1', '1.5', 'lots', '']) {
    assert.throws(() => queuedLimits({ 'job-manager.max-user-jobs': bad }), /max-user-jobs/, bad);
  }
});

void test('a submission that would pass a limit is refused whole, with the limit named', () => {
  const l = { maxJobs: 10, maxUserJobs: 4 };
  assert.doesNotThrow(() => checkQueued(l, 4, 0, 0));
  assert.doesNotThrow(() => checkQueued(l, 1, 9, 3));
  assert.throws(() => checkQueued(l, 2, 9, 0), (e: { code?: string; message?: string }) => e.code === 'EBUSY' && /max-jobs/.test(e.message ?? '') && /9 active/.test(e.message ?? ''));
  assert.throws(() => checkQueued(l, 1, 5, 4), (e: { code?: string; message?: string }) => e.code === 'EBUSY' && /max-user-jobs/.test(e.message ?? ''));
});
