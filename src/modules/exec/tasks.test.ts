import { test } from 'node:test';
import assert from 'node:assert/strict';
import { distributeTasks } from './tasks.js';

const share = (rank: number, ncores: number) => ({ rank, cores: Array.from({ length: ncores }, (_, i) => i), gpus: [], hostname: 'h' });
const req = (o: Partial<{ nnodes: number; slotsPerNode: number; coresPerSlot: number; ntasks: number }>) => ({
  nnodes: 0, nslots: 1, slotsPerNode: 0, coresPerSlot: 1, gpusPerSlot: 0, exclusive: false, ntasks: 1, duration: 0, ...o,
});

void test('-N4 -n8: two tasks per node, contiguous ranks', () => {
  const t = distributeTasks([0, 1, 2, 3].map((r) => share(r, 2)), req({ nnodes: 4, slotsPerNode: 2, ntasks: 8 }));
  assert.deepEqual(t, [[0, 1], [2, 3], [4, 5], [6, 7]]);
});

void test('-N2 -n3: the first node gets the extra task', () => {
  assert.deepEqual(distributeTasks([share(0, 2), share(1, 2)], req({ nnodes: 2, slotsPerNode: 2, ntasks: 3 })), [[0, 1], [2]]);
});

void test('slots without nodes follow the cores each rank got', () => {
  assert.deepEqual(distributeTasks([share(0, 4), share(1, 2)], req({ coresPerSlot: 2, ntasks: 3 })), [[0, 1], [2]]);
});
