import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FractalError } from '../errors/index.js';
import { validateJobspec, validateJobspecAnyVersion } from './index.js';
import type { JobspecVersion } from './index.js';
import { load, vectors } from './test-vectors.js';

/** The thrown FractalError (EINVAL, non-empty message), or a failed assertion. */
function rejection(fn: () => unknown): FractalError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof FractalError, `expected a FractalError, got ${String(e)}`);
    assert.equal(e.code, 'EINVAL');
    assert.ok(e.message.length > 0);
    return e;
  }
  assert.fail('expected the document to be rejected');
}

// ------------------------------------------------------------------ vectors

const VALID = [...vectors('valid'), ...vectors('valid_v1')];
const INVALID = vectors('invalid');
const INVALID_V1 = vectors('invalid_v1');

// The invalid_v1 files that are nevertheless valid canonical jobspec: they are
// rejected as V1 only (flux tests them against the V1 schema, not the general one).
const CANONICAL_BUT_NOT_V1 = [
  'duration_missing.yaml',
  'res_type_unknown.yaml',
  'slot_node.yaml',
  'task_count_per_resource.yaml',
  'version_wrong.yaml',
  'with_toomany.yaml',
  'with_whatnow.yaml',
];

void test('vector folders are found and not empty', () => {
  assert.ok(VALID.length >= 30, `valid vectors: ${VALID.length}`);
  assert.ok(INVALID.length >= 50, `invalid vectors: ${INVALID.length}`);
  assert.ok(INVALID_V1.length >= 10, `invalid_v1 vectors: ${INVALID_V1.length}`);
});

for (const v of VALID) {
  void test(`vector accepted (any version): ${v.path.split('/').slice(-2).join('/')}`, () => {
    validateJobspecAnyVersion(load(v));
  });
}

for (const v of vectors('valid')) {
  void test(`vector accepted (canonical): valid/${v.name}`, () => {
    validateJobspec(load(v), { version: 'canonical' });
  });
}

for (const v of vectors('valid_v1')) {
  void test(`vector accepted (v1 and auto): valid_v1/${v.name}`, () => {
    validateJobspec(load(v), { version: 'v1' });
    validateJobspec(load(v));
  });
}

for (const v of INVALID) {
  void test(`vector rejected (canonical and any version): invalid/${v.name}`, () => {
    for (const version of ['canonical', 'v1', 'auto'] as const) rejection(() => validateJobspec(load(v), { version }));
    rejection(() => validateJobspecAnyVersion(load(v)));
  });
}

for (const v of INVALID_V1) {
  void test(`vector rejected (v1): invalid_v1/${v.name}`, () => {
    rejection(() => validateJobspec(load(v), { version: 'v1' }));
    rejection(() => validateJobspec(load(v)));
    if (CANONICAL_BUT_NOT_V1.includes(v.name)) validateJobspecAnyVersion(load(v));
    else rejection(() => validateJobspecAnyVersion(load(v)));
  });
}

// ------------------------------------------------- messages name the field

const V1_BASE = {
  version: 1,
  resources: [{ type: 'node', count: 2, with: [{ type: 'slot', count: 1, label: 'task', with: [{ type: 'core', count: 1 }] }] }],
  tasks: [{ command: ['hostname'], slot: 'task', count: { per_slot: 1 } }],
  attributes: { system: { duration: 0 } },
};

/** V1_BASE with one change applied to a deep copy. */
function mutate(change: (js: Record<string, unknown> & typeof V1_BASE) => void): unknown {
  const js = structuredClone(V1_BASE);
  change(js);
  return js;
}

const MESSAGE_CASES: { name: string; doc: unknown; version?: JobspecVersion; message: RegExp }[] = [
  { name: 'not a mapping', doc: [1], message: /^jobspec: must be a mapping/ },
  { name: 'core count 0', doc: mutate((js) => { js.resources[0]!.with[0]!.with[0]!.count = 0; }), message: /^resources\[0\]\.with\[0\]\.with\[0\]\.count: must be an integer >= 1 \(got 0\)/ },
  { name: 'second slot child not core/gpu', doc: mutate((js) => { js.resources[0]!.with[0]!.with.push({ type: 'memory', count: 4 }); }), message: /^resources\[0\]\.with\[0\]\.with\[1\]\.type: .*core or gpu.*\(got "memory"\)/ },
  { name: 'duration string', doc: mutate((js) => { (js.attributes.system as Record<string, unknown>)['duration'] = '1h'; }), message: /^attributes\.system\.duration: must be a number of seconds >= 0 \(got "1h"\); .*3600/ },
  { name: 'duration missing in v1', doc: mutate((js) => { js.attributes.system = {} as typeof js.attributes.system; }), message: /^attributes\.system\.duration: is required in jobspec V1/ },
  { name: 'environment value', doc: mutate((js) => { (js.attributes.system as Record<string, unknown>)['environment'] = { HOME: 1 }; }), message: /^attributes\.system\.environment\.HOME: must be a string, or null/ },
  { name: 'odd environment name', doc: mutate((js) => { (js.attributes.system as Record<string, unknown>)['environment'] = { 'BASH_FUNC_f%%': 1 }; }), message: /^attributes\.system\.environment\["BASH_FUNC_f%%"\]: must be a string/ },
  { name: 'job name', doc: mutate((js) => { (js.attributes.system as Record<string, unknown>)['job'] = { name: 5 }; }), message: /^attributes\.system\.job\.name: must be a string/ },
  { name: 'string dependency without type', doc: mutate((js) => { (js.attributes.system as Record<string, unknown>)['dependencies'] = [{ scheme: 'string', value: 'foo', scope: 'user' }]; }), message: /^attributes\.system\.dependencies\[0\]\.type: is required for scheme "string"/ },
  { name: 'empty dependencies', doc: mutate((js) => { (js.attributes.system as Record<string, unknown>)['dependencies'] = []; }), message: /^attributes\.system\.dependencies: must not be empty/ },
  { name: 'per_slot 2 in v1', doc: mutate((js) => { js.tasks[0]!.count = { per_slot: 2 }; }), message: /^tasks\[0\]\.count\.per_slot: must be 1 in jobspec V1 \(got 2\)/ },
  { name: 'total below node count', doc: mutate((js) => { (js.tasks[0] as Record<string, unknown>)['count'] = { total: 1 }; }), message: /^tasks\[0\]\.count\.total: must be >= the node count 2 \(got 1\)/ },
  { name: 'slot label mismatch in v1', doc: mutate((js) => { js.tasks[0]!.slot = 'foo'; }), message: /^tasks\[0\]\.slot: no slot is labelled "foo"; use the slot's label "task"/ },
  { name: 'two tasks in v1', doc: mutate((js) => { js.tasks.push(structuredClone(js.tasks[0]!)); }), message: /^tasks: jobspec V1 takes exactly one task \(got 2\)/ },
  { name: 'task attributes in v1', doc: mutate((js) => { (js.tasks[0] as Record<string, unknown>)['attributes'] = {}; }), message: /^tasks\[0\]\.attributes: unknown key/ },
  { name: 'range count in v1', doc: mutate((js) => { (js.resources[0] as Record<string, unknown>)['count'] = { min: 1 }; }), message: /^resources\[0\]\.count: must be an integer >= 1 \(got a mapping\); ranges and count strings need canonical jobspec/ },
  { name: 'duplicate labels (canonical)', version: 'canonical', doc: mutate((js) => { js.resources.push(structuredClone(js.resources[0]!)); }), message: /^resources\[1\]\.with\[0\]\.label: "task" is already used at resources\[0\]\.with\[0\]/ },
  { name: 'empty with (canonical)', version: 'canonical', doc: mutate((js) => { js.resources[0]!.with = []; }), message: /^resources\[0\]\.with: must list at least one resource vertex/ },
  { name: 'bad range string (canonical)', version: 'canonical', doc: mutate((js) => { (js.resources[0] as Record<string, unknown>)['count'] = '4-2'; }), message: /^resources\[0\]\.count: in range "4-2", max must be >= min 4 \(got 2\)/ },
  { name: 'descending idset (canonical)', version: 'canonical', doc: mutate((js) => { (js.resources[0] as Record<string, unknown>)['count'] = '9,4'; }), message: /^resources\[0\]\.count: "9,4" is not a valid count/ },
  { name: 'unknown task count key (canonical)', version: 'canonical', doc: mutate((js) => { (js.tasks[0] as Record<string, unknown>)['count'] = { per_node: 1 }; }), message: /^tasks\[0\]\.count\.per_node: unknown key/ },
  { name: 'auto mode explains canonical-only documents', doc: mutate((js) => { js.resources[0]!.type = 'rack'; }), message: /^resources\[0\]\.type: .*\(got "rack"\).*valid canonical jobspec, RFC 14, but Fractal runs jobspec V1/ },
];

for (const c of MESSAGE_CASES) {
  void test(`message names the field: ${c.name}`, () => {
    const e = rejection(() => validateJobspec(c.doc, c.version === undefined ? {} : { version: c.version }));
    assert.match(e.message, c.message);
  });
}

void test('the accepted document is returned as-is', () => {
  const doc = structuredClone(V1_BASE);
  assert.equal(validateJobspec(doc), doc);
  assert.equal(validateJobspecAnyVersion(doc), doc);
});

void test('canonical accepts range and idset count forms and extra system attributes', () => {
  for (const count of ['2+', '[1-4]', '2-32:2:*', '[100+]', '4,9,16,25', '[1-3,8]', 7, { min: 2 }, { min: 2, max: 16, operator: '^', operand: 2 }]) {
    const doc = mutate((js) => { (js.resources[0] as Record<string, unknown>)['count'] = count; });
    validateJobspec(doc, { version: 'canonical' });
  }
  validateJobspec(mutate((js) => { (js.attributes.system as Record<string, unknown>)['site-specific'] = [1, { a: null }]; }));
});

void test('any version: when both fail, the canonical error is reported', () => {
  const doc = mutate((js) => { js.resources[0]!.type = 'rack'; (js.attributes.system as Record<string, unknown>)['cwd'] = 5; });
  assert.match(rejection(() => validateJobspecAnyVersion(doc)).message, /^attributes\.system\.cwd: must be a string/);
});
