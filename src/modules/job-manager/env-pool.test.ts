import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvPool } from './env-pool.js';

void test('env pool: one copy per distinct environment, released as jobs start or end', () => {
  const p = new EnvPool();
  p.hold([1, 2, 3], { A: '1' });
  p.hold([4], { A: '1' });
  p.hold([5], { A: '2' });
  assert.deepEqual(p.size, { envs: 2, jobs: 5 });
  assert.deepEqual(p.take(1), { A: '1' });
  assert.equal(p.take(1), undefined, 'taken once');
  p.drop(2);
  p.drop(99);
  assert.deepEqual(p.take(3), { A: '1' });
  assert.deepEqual(p.size, { envs: 2, jobs: 2 });
  assert.deepEqual(p.take(4), { A: '1' });
  assert.deepEqual(p.size, { envs: 1, jobs: 1 }, 'the last job of an environment lets it go');
  p.hold([6], undefined);
  assert.equal(p.take(6), undefined, 'no environment: nothing held');
});
