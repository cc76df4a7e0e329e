import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FractalError } from '../errors/index.js';
import { jobspecFromCommand, summarizeJobspec, validateJobspec, validateJobspecAnyVersion } from './index.js';
import type { JobRequest, Jobspec } from './index.js';
import { load, vectors } from './test-vectors.js';

void test('built -n4: 4 slots of 1 core, no node level', () => {
  assert.deepEqual(summarizeJobspec(jobspecFromCommand(['app'], { ntasks: 4 }, { duration: 600 })), {
    nnodes: 0, nslots: 4, slotsPerNode: 0, coresPerSlot: 1, gpusPerSlot: 0, exclusive: false, ntasks: 4, duration: 600,
  } satisfies JobRequest);
});

void test('built -N2 -n4 -c2 -g1 --exclusive', () => {
  assert.deepEqual(summarizeJobspec(jobspecFromCommand(['app'], { nnodes: 2, ntasks: 4, coresPerTask: 2, gpusPerTask: 1, exclusive: true })), {
    nnodes: 2, nslots: 4, slotsPerNode: 2, coresPerSlot: 2, gpusPerSlot: 1, exclusive: true, ntasks: 4, duration: 0,
  } satisfies JobRequest);
});

void test('built -N2 -n3: 4 slots, 3 tasks', () => {
  const r = summarizeJobspec(jobspecFromCommand(['app'], { nnodes: 2, ntasks: 3 }));
  assert.equal(r.nslots, 4);
  assert.equal(r.slotsPerNode, 2);
  assert.equal(r.ntasks, 3);
});

const EXPECTED_V1: Record<string, Partial<JobRequest>> = {
  'example1.yaml': { nnodes: 4, nslots: 4, slotsPerNode: 1, coresPerSlot: 2, ntasks: 4, duration: 3600 },
  'gpu_count_zero.yaml': { nnodes: 1, coresPerSlot: 1, gpusPerSlot: 0, ntasks: 1 },
  'use_case_2.1.yaml': { nnodes: 4, nslots: 4, ntasks: 5 },
  'use_case_2.3.yaml': { nnodes: 0, nslots: 10, slotsPerNode: 0, coresPerSlot: 2, gpusPerSlot: 1, ntasks: 10 },
  'use_case_2.4.yaml': { nnodes: 4, nslots: 16, slotsPerNode: 4, coresPerSlot: 1, gpusPerSlot: 1, ntasks: 16 },
};

for (const v of vectors('valid_v1')) {
  void test(`summary of valid_v1/${v.name}`, () => {
    const r = summarizeJobspec(validateJobspec(load(v), { version: 'v1' }));
    for (const [k, want] of Object.entries(EXPECTED_V1[v.name] ?? {})) {
      assert.equal(r[k as keyof JobRequest], want, k);
    }
    assert.ok(r.ntasks >= 1 && r.nslots >= 1 && r.coresPerSlot >= 1);
  });
}

// Canonical shapes: either a summary or a clear EINVAL (several slot shapes), never a crash.
for (const v of vectors('valid')) {
  void test(`summary of valid/${v.name} succeeds or refuses cleanly`, () => {
    const js = validateJobspecAnyVersion(load(v));
    try {
      const r = summarizeJobspec(js);
      assert.ok(Number.isInteger(r.nslots) && r.nslots >= 1, JSON.stringify(r));
    } catch (e) {
      assert.ok(e instanceof FractalError && e.code === 'EINVAL', String(e));
      assert.match(e.message, /^tasks\[1\]\.slot: tasks run in different slots/);
    }
  });
}

function canonical(resources: unknown, tasks?: unknown): Jobspec {
  return validateJobspec({
    version: 1,
    resources,
    tasks: tasks ?? [{ command: ['app'], slot: 'task', count: { per_slot: 1 } }],
    attributes: { system: { duration: 5 } },
  }, { version: 'canonical' });
}

void test('sockets between node and slot multiply the slots per node', () => {
  const r = summarizeJobspec(canonical([
    { type: 'node', count: 3, with: [{ type: 'socket', count: 2, with: [{ type: 'slot', count: 4, label: 'task', with: [{ type: 'core', count: 1 }] }] }] },
  ]));
  assert.deepEqual([r.nnodes, r.slotsPerNode, r.nslots, r.ntasks], [3, 8, 24, 24]);
});

void test('levels above the node multiply nodes; sockets and memory inside a slot', () => {
  const r = summarizeJobspec(canonical([
    { type: 'cluster', count: 2, with: [{ type: 'node', count: { min: 2, max: 4, operator: '+', operand: 1 }, exclusive: true, with: [
      { type: 'slot', count: '1-3', label: 'task', with: [
        { type: 'socket', count: 2, with: [{ type: 'core', count: 4 }, { type: 'memory', count: 16, unit: 'GB' }] },
        { type: 'gpu', count: 2 },
      ] },
    ] }] },
  ]));
  assert.deepEqual(r, { nnodes: 4, nslots: 4, slotsPerNode: 1, coresPerSlot: 8, gpusPerSlot: 2, exclusive: true, ntasks: 4, duration: 5 });
});

void test('a node inside each slot: one slot per node, exclusive by default', () => {
  const r = summarizeJobspec(canonical([{ type: 'slot', count: 4, label: 'task', with: [{ type: 'node', count: 1 }] }],
    [{ command: ['app'], slot: 'task', count: { per_resource: { type: 'node', count: 2 } } }]));
  assert.deepEqual([r.nnodes, r.slotsPerNode, r.exclusive, r.ntasks, r.coresPerSlot], [4, 1, true, 8, 0]);
});

void test('refusals name the field', () => {
  assert.throws(() => summarizeJobspec(canonical([{ type: 'slot', count: 1, label: 'task', with: [{ type: 'node', count: 2 }] }])),
    /^FractalError: resources\[0\]: each slot spans 2 nodes/);
  assert.throws(() => summarizeJobspec(canonical([{ type: 'slot', count: 1, label: 'task', with: [{ type: 'core', count: 1 }] }],
    [{ command: ['app'], slot: 'task', count: { per_resource: { type: 'gpu', count: 1 } } }])),
    /^FractalError: tasks\[0\]\.count\.per_resource\.type: slot "task" holds no "gpu" resources/);
  assert.throws(() => summarizeJobspec(canonical([
    { type: 'slot', count: 1, label: 'a', with: [{ type: 'core', count: 1 }] },
    { type: 'slot', count: 1, label: 'b', with: [{ type: 'core', count: 1 }] },
  ], [{ command: ['app'], slot: 'c', count: { per_slot: 1 } }])), /^FractalError: tasks\[0\]\.slot: no slot is labelled "c"; use one of "a", "b"/);
});
