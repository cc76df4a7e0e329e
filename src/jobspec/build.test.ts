import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FractalError } from '../errors/index.js';
import { jobspecFromCommand, summarizeJobspec, validateJobspec } from './index.js';
import type { JobShape } from './index.js';

void test('-n4: a slot of 4, one core each, one task per slot', () => {
  const js = jobspecFromCommand(['hostname'], { ntasks: 4 });
  assert.deepEqual(js, {
    version: 1,
    resources: [{ type: 'slot', count: 4, label: 'task', with: [{ type: 'core', count: 1 }] }],
    tasks: [{ command: ['hostname'], slot: 'task', count: { per_slot: 1 } }],
    attributes: { system: { duration: 0 } },
  });
});

void test('defaults: one task, one core', () => {
  const js = jobspecFromCommand(['true'], {});
  assert.deepEqual(js.resources, [{ type: 'slot', count: 1, label: 'task', with: [{ type: 'core', count: 1 }] }]);
  assert.deepEqual(js.tasks[0]?.count, { per_slot: 1 });
});

void test('-N2 -n4 -c2: 2 nodes x 2 slots x 2 cores', () => {
  const js = jobspecFromCommand(['app', '-v'], { nnodes: 2, ntasks: 4, coresPerTask: 2 });
  assert.deepEqual(js.resources, [
    { type: 'node', count: 2, with: [{ type: 'slot', count: 2, label: 'task', with: [{ type: 'core', count: 2 }] }] },
  ]);
  assert.deepEqual(js.tasks, [{ command: ['app', '-v'], slot: 'task', count: { per_slot: 1 } }]);
});

void test('-N2 alone: one task per node', () => {
  const js = jobspecFromCommand(['app'], { nnodes: 2 });
  assert.deepEqual(js.resources[0], { type: 'node', count: 2, with: [{ type: 'slot', count: 1, label: 'task', with: [{ type: 'core', count: 1 }] }] });
  assert.deepEqual(js.tasks[0]?.count, { per_slot: 1 });
});

void test('-N2 -n3: ceil(3/2) = 2 slots per node and a total task count of 3', () => {
  const js = jobspecFromCommand(['app'], { nnodes: 2, ntasks: 3 });
  assert.equal(js.resources[0]?.with?.[0]?.count, 2);
  assert.deepEqual(js.tasks[0]?.count, { total: 3 });
});

void test('-g: gpus per task; -g0 adds no gpu vertex', () => {
  const js = jobspecFromCommand(['app'], { ntasks: 2, coresPerTask: 4, gpusPerTask: 1 });
  assert.deepEqual(js.resources[0]?.with, [{ type: 'core', count: 4 }, { type: 'gpu', count: 1 }]);
  const none = jobspecFromCommand(['app'], { ntasks: 2, gpusPerTask: 0 });
  assert.deepEqual(none.resources[0]?.with, [{ type: 'core', count: 1 }]);
});

void test('--exclusive marks the nodes and allows more nodes than tasks', () => {
  const js = jobspecFromCommand(['app'], { nnodes: 4, ntasks: 2, exclusive: true });
  assert.deepEqual(js.resources[0], { type: 'node', count: 4, exclusive: true, with: [{ type: 'slot', count: 1, label: 'task', with: [{ type: 'core', count: 1 }] }] });
  assert.deepEqual(js.tasks[0]?.count, { total: 2 });
});

void test('system attributes are copied; duration defaults to 0, inf becomes 0, undefined keys are dropped', () => {
  const env = { HOME: '/home/u' };
  const js = jobspecFromCommand(['app'], {}, {
    duration: 90,
    cwd: '/tmp',
    environment: env,
    job: { name: 'myjob' },
    queue: 'batch',
    shell: { options: { verbose: 1 } },
    dependencies: [{ scheme: 'afterok', value: 'f2oLkTLb' }],
    constraints: { properties: ['amd-mi50'] },
    'site-thing': [1, 2],
  });
  assert.deepEqual(js.attributes.system, {
    duration: 90,
    cwd: '/tmp',
    environment: { HOME: '/home/u' },
    job: { name: 'myjob' },
    queue: 'batch',
    shell: { options: { verbose: 1 } },
    dependencies: [{ scheme: 'afterok', value: 'f2oLkTLb' }],
    constraints: { properties: ['amd-mi50'] },
    'site-thing': [1, 2],
  });
  assert.notEqual(js.attributes.system?.environment, env, 'attributes are copied, not shared');
  assert.equal(jobspecFromCommand(['app'], {}, { duration: Infinity }).attributes.system?.duration, 0);
  assert.deepEqual(jobspecFromCommand(['app'], {}, { cwd: undefined } as unknown as { cwd: string }).attributes.system, { duration: 0 });
});

const BAD_SHAPES: { shape: JobShape; message: RegExp }[] = [
  { shape: { nnodes: 0 }, message: /^-N\/--nodes: must be an integer >= 1 \(got 0\)$/ },
  { shape: { ntasks: 0 }, message: /^-n\/--ntasks: must be an integer >= 1 \(got 0\)$/ },
  { shape: { ntasks: 2.5 }, message: /^-n\/--ntasks: must be an integer >= 1 \(got 2\.5\)$/ },
  { shape: { coresPerTask: 0 }, message: /^-c\/--cores-per-task: must be an integer >= 1 \(got 0\)$/ },
  { shape: { gpusPerTask: -1 }, message: /^-g\/--gpus-per-task: must be an integer >= 0 \(got -1\)$/ },
  { shape: { nnodes: 4, ntasks: 2 }, message: /^-N\/--nodes: 4 nodes is more than the 2 tasks of -n\/--ntasks; lower -N, raise -n, or add --exclusive/ },
  { shape: { ntasks: 2, exclusive: true }, message: /^--exclusive: requires -N\/--nodes/ },
];

for (const { shape, message } of BAD_SHAPES) {
  void test(`bad shape ${JSON.stringify(shape)} is rejected naming the option`, () => {
    assert.throws(() => jobspecFromCommand(['app'], shape), (e: unknown) => {
      assert.ok(e instanceof FractalError);
      assert.equal(e.code, 'EINVAL');
      assert.match(e.message, message);
      return true;
    });
  });
}

void test('bad commands and attributes are rejected with their path', () => {
  assert.throws(() => jobspecFromCommand([], {}), /^FractalError: command: give the program/);
  assert.throws(() => jobspecFromCommand([''], {}), /command\[0\]: the program name must not be empty/);
  assert.throws(() => jobspecFromCommand(['app'], {}, { duration: -5 }), /^FractalError: attributes\.system\.duration: must be a number of seconds >= 0 \(got -5\)/);
  assert.throws(() => jobspecFromCommand(['app'], {}, { environment: { A: 1 } } as unknown as { environment: Record<string, string> }), /attributes\.system\.environment\.A: must be a string/);
});

// Valid shapes only: --exclusive needs -N, and -N may exceed -n only with --exclusive.
const validShape: fc.Arbitrary<JobShape> = fc
  .record(
    {
      nnodes: fc.integer({ min: 1, max: 16 }),
      ntasks: fc.integer({ min: 1, max: 64 }),
      coresPerTask: fc.integer({ min: 1, max: 8 }),
      gpusPerTask: fc.integer({ min: 0, max: 4 }),
      exclusive: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  .map((s) => {
    const shape: JobShape = { ...s };
    if (shape.nnodes === undefined) delete shape.exclusive;
    const ntasks = shape.ntasks ?? shape.nnodes ?? 1;
    if (shape.nnodes !== undefined && shape.nnodes > ntasks && shape.exclusive !== true) shape.ntasks = shape.nnodes;
    return shape;
  });

void test('property: the summary of a built jobspec gives the shape back, and the jobspec validates', () => {
  fc.assert(
    fc.property(validShape, fc.array(fc.string(), { minLength: 1, maxLength: 4 }).map((a) => ['prog', ...a]), (shape, command) => {
      const js = jobspecFromCommand(command, shape, { duration: 60 });
      validateJobspec(js);
      validateJobspec(js, { version: 'canonical' });
      const r = summarizeJobspec(js);
      const nnodes = shape.nnodes ?? 0;
      const ntasks = shape.ntasks ?? shape.nnodes ?? 1;
      assert.equal(r.ntasks, ntasks);
      assert.equal(r.nnodes, nnodes);
      assert.equal(r.coresPerSlot, shape.coresPerTask ?? 1);
      assert.equal(r.gpusPerSlot, shape.gpusPerTask ?? 0);
      assert.equal(r.exclusive, shape.exclusive === true);
      assert.equal(r.nslots, nnodes === 0 ? ntasks : nnodes * Math.ceil(ntasks / nnodes));
      assert.equal(r.slotsPerNode, nnodes === 0 ? 0 : Math.ceil(ntasks / nnodes));
      assert.ok(r.nslots >= r.ntasks, 'every task has a slot');
      assert.equal(r.duration, 60);
      assert.deepEqual(js.tasks[0]?.command, command);
    }),
    { numRuns: 500 },
  );
});
