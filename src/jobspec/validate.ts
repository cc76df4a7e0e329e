/**
 * Jobspec validation: canonical jobspec (RFC 14) and jobspec V1 (RFC 25).
 * Hand-written rather than schema-driven so that the first problem is
 * reported with its field path (`resources[0].with[1].count`) and a fix.
 * Validation does not copy: the accepted input object is returned as-is.
 */
import { FractalError, invalid } from '../errors/index.js';
import { idsetMin, isOperator, parseRangeString, rangeProblem } from './count.js';
import { durationLimitProblem } from './duration.js';
import { envNameProblem } from './environment.js';
import type { Jobspec } from './types.js';

export type JobspecVersion = 'canonical' | 'v1' | 'auto';

export interface ValidateOptions {
  /**
   * 'canonical': RFC 14. 'v1': RFC 25. 'auto' (default): V1, since that is
   * what Fractal runs; when the document is valid canonical jobspec but not
   * V1, the error says so.
   */
  version?: JobspecVersion;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short description of a bad value for "(got ...)". */
function got(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return String(v);
}

function fail(path: string, problem: string): never {
  throw invalid(`${path}: ${problem}`);
}

/** `path.key`, or `path["odd key"]` when the key is not a plain word. */
function sub(path: string, key: string): string {
  return /^[A-Za-z_][\w-]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function requireObj(v: unknown, path: string, what: string): Obj {
  if (!isObj(v)) fail(path, `must be ${what} (got ${got(v)})`);
  return v;
}

function checkKeys(o: Obj, path: string, allowed: readonly string[], hint: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(sub(path, k), `unknown key; ${hint}`);
  }
}

function checkInt(v: unknown, path: string, min: number, hint = ''): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    fail(path, `must be an integer >= ${min} (got ${got(v)})${hint}`);
  }
  return v;
}

function checkString(v: unknown, path: string, hint = ''): string {
  if (typeof v !== 'string') fail(path, `must be a string (got ${got(v)})${hint}`);
  return v;
}

function checkBool(v: unknown, path: string): void {
  if (typeof v !== 'boolean') fail(path, `must be true or false (got ${got(v)})`);
}

function checkSeconds(v: unknown, path: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    fail(path, `must be a number of seconds >= 0 (got ${got(v)}); write durations in seconds, e.g. 3600 for 1h, 0 for unlimited`);
  }
  // Timers and expiration times are computed from these: refuse what cannot be timed.
  const problem = durationLimitProblem(v);
  if (problem) fail(path, problem);
}

/** A required list under `key` with at least `min` entries. */
function checkList(o: Obj, key: string, noun: string, missingHint: string): unknown[] {
  if (!(key in o)) fail(key, `is required; ${missingHint}`);
  const v = o[key];
  if (!Array.isArray(v)) fail(key, `must be a list of ${noun} (got ${got(v)})`);
  if (v.length === 0) fail(key, `must list at least one of the ${noun}`);
  return v;
}

function checkTop(input: unknown): Obj {
  if (!isObj(input)) {
    fail('jobspec', `must be a mapping with keys version, resources, tasks and attributes (got ${got(input)})`);
  }
  return input;
}

function checkCommand(o: Obj, path: string): void {
  const p = `${path}.command`;
  if (!('command' in o)) fail(p, 'is required; give the program and its arguments, e.g. ["hostname"]');
  const c = o['command'];
  if (!Array.isArray(c)) fail(p, `must be a list of strings, the program and its arguments, e.g. ["hostname"] (got ${got(c)})`);
  if (c.length === 0) fail(p, 'must not be empty; give the program and its arguments, e.g. ["hostname"]');
  c.forEach((arg, i) => checkString(arg, `${p}[${i}]`, '; quote numbers, e.g. "1"'));
}

function checkEnvironment(v: unknown, path: string): void {
  const env = requireObj(v, path, 'a mapping of variable names to string values (null unsets)');
  for (const [k, val] of Object.entries(env)) {
    const problem = envNameProblem(k);
    if (problem) fail(path, problem);
    if (val !== null && typeof val !== 'string') {
      fail(sub(path, k), `must be a string, or null to unset the variable (got ${got(val)}); quote numbers, e.g. "1"`);
    }
    // A NUL cannot be passed to exec(2): refuse it here rather than fail at launch.
    if (typeof val === 'string' && val.includes('\0')) fail(sub(path, k), 'must not contain a NUL character');
  }
}

const DEP_TYPES: readonly string[] = ['in', 'out', 'inout'];
const DEP_SCOPES: readonly string[] = ['user', 'global'];

/** RFC 26: a non-empty list of {scheme, value, ...}; `string` and `fluid` also need type and scope. */
function checkDependencies(v: unknown, path: string): void {
  if (!Array.isArray(v)) {
    fail(path, `must be a list of dependencies (RFC 26), e.g. [{scheme: afterok, value: "f2oLkTLb"}] (got ${got(v)})`);
  }
  if (v.length === 0) fail(path, 'must not be empty; leave the key out when the job has no dependencies');
  v.forEach((d, i) => {
    const p = `${path}[${i}]`;
    const o = requireObj(d, p, 'a mapping such as {scheme: afterok, value: "f2oLkTLb"}');
    if (!('scheme' in o)) fail(`${p}.scheme`, 'is required; name the dependency scheme, e.g. afterok');
    const scheme = checkString(o['scheme'], `${p}.scheme`);
    if (scheme === '') fail(`${p}.scheme`, 'must not be empty; name the dependency scheme, e.g. afterok');
    if (!('value' in o)) fail(`${p}.value`, `is required; give the ${scheme} dependency's argument, e.g. a job id`);
    checkString(o['value'], `${p}.value`, '; quote it, e.g. value: "1"');
    const needsTypeScope = scheme === 'string' || scheme === 'fluid';
    for (const [key, allowed] of [['type', DEP_TYPES], ['scope', DEP_SCOPES]] as const) {
      if (!(key in o)) {
        if (needsTypeScope) fail(`${p}.${key}`, `is required for scheme "${scheme}"; use one of ${allowed.join(', ')}`);
        continue;
      }
      const val = o[key];
      if (typeof val !== 'string' || !allowed.includes(val)) {
        fail(`${p}.${key}`, `must be one of ${allowed.join(', ')} (got ${got(val)})`);
      }
    }
  });
}

function checkSystem(v: unknown, v1: boolean): void {
  const p = 'attributes.system';
  const o = requireObj(v, p, 'a mapping of system attributes such as duration, cwd, environment');
  if (v1 && !('duration' in o)) fail(`${p}.duration`, 'is required in jobspec V1; give the time limit in seconds, 0 for unlimited');
  for (const [key, val] of Object.entries(o)) {
    const kp = sub(p, key);
    switch (key) {
      case 'duration':
      case 'preemptible-after':
        checkSeconds(val, kp);
        break;
      case 'cwd':
      case 'queue':
      case 'bank':
      case 'project':
        checkString(val, kp);
        break;
      case 'environment':
        checkEnvironment(val, kp);
        break;
      case 'dependencies':
        checkDependencies(val, kp);
        break;
      case 'constraints':
        requireObj(val, kp, 'a mapping (RFC 31 constraints), e.g. {properties: [amd-mi50]}');
        break;
      case 'job':
        for (const [jk, jv] of Object.entries(requireObj(val, kp, 'a mapping of job metadata with string values, e.g. {name: myjob}'))) {
          checkString(jv, sub(kp, jk), '; job metadata values are strings');
        }
        break;
      case 'shell': {
        const shell = requireObj(val, kp, 'a mapping of job shell settings, e.g. {options: {...}}');
        if ('options' in shell) requireObj(shell['options'], `${kp}.options`, 'a mapping of job shell options');
        break;
      }
      case 'files':
        requireObj(val, kp, 'a mapping (RFC 37 file archive)');
        break;
      default:
        // RFC 14: unknown system attributes are at most a warning.
        break;
    }
  }
}

function checkAttributes(js: Obj, v1: boolean): void {
  if (!('attributes' in js)) {
    fail('attributes', v1
      ? 'is required; add attributes: {system: {duration: 0}} (duration in seconds, 0 for unlimited)'
      : 'is required; it may be empty: attributes: {}');
  }
  const a = requireObj(js['attributes'], 'attributes', v1 ? 'a mapping with key system and optional key user' : 'a mapping with optional keys system and user');
  checkKeys(a, 'attributes', ['system', 'user'], 'attributes hold only system and user (put your own data under attributes.user)');
  if ('system' in a) checkSystem(a['system'], v1);
  else if (v1) fail('attributes.system', 'is required in jobspec V1; add attributes.system.duration (seconds, 0 for unlimited)');
  if ('user' in a) requireObj(a['user'], 'attributes.user', 'a mapping of free-form user data');
}

// ---------------------------------------------------------------- canonical

const VERTEX_KEYS: readonly string[] = ['type', 'count', 'with', 'label', 'exclusive', 'unit', 'id'];
const RANGE_KEYS: readonly string[] = ['min', 'max', 'operator', 'operand'];
const COUNT_HINT = 'use an integer, an idset such as "4,9,16", a range such as "2-32:2:*", or a mapping {min, max, operator, operand}';

function checkRangeDict(c: Obj, path: string): void {
  checkKeys(c, path, RANGE_KEYS, 'a count range has only min, max, operator and operand');
  if (!('min' in c)) fail(`${path}.min`, 'is required; a count range needs at least min, e.g. {min: 2}');
  const min = checkInt(c['min'], `${path}.min`, 1);
  const present = ['max', 'operator', 'operand'].filter((k) => k in c);
  if (present.length === 0) return;
  for (const k of ['max', 'operator', 'operand']) {
    if (!(k in c)) {
      fail(`${path}.${k}`, `is required when ${present.join(' and ')} ${present.length > 1 ? 'are' : 'is'} given; give max, operator and operand together, e.g. {min: 1, max: 8, operator: "+", operand: 1}`);
    }
  }
  const max = checkInt(c['max'], `${path}.max`, 1);
  const operator = c['operator'];
  if (!isOperator(operator)) fail(`${path}.operator`, `must be one of "+", "*" or "^" (got ${got(operator)})`);
  const operand = checkInt(c['operand'], `${path}.operand`, 1);
  const problem = rangeProblem({ min, max, operator, operand });
  if (problem) fail(`${path}.${problem.field}`, problem.message);
}

function checkCanonicalCount(c: unknown, path: string): void {
  if (typeof c === 'number') {
    checkInt(c, path, 1);
  } else if (typeof c === 'string') {
    if (idsetMin(c) !== undefined) return;
    const r = parseRangeString(c);
    if (r === undefined) fail(path, `${got(c)} is not a valid count; ${COUNT_HINT}`);
    const problem = rangeProblem(r);
    if (problem) fail(path, `in range ${got(c)}, ${problem.field} ${problem.message}`);
  } else if (isObj(c)) {
    checkRangeDict(c, path);
  } else {
    fail(path, `must be an integer >= 1, a count string or a range mapping (got ${got(c)}); ${COUNT_HINT}`);
  }
}

function checkCanonicalVertex(v: unknown, path: string, labels: Map<string, string>): void {
  const o = requireObj(v, path, 'a mapping describing a resource, e.g. {type: core, count: 1}');
  checkKeys(o, path, VERTEX_KEYS, `a resource vertex has only ${VERTEX_KEYS.join(', ')}`);
  if (!('type' in o)) fail(`${path}.type`, 'is required; name the resource type, e.g. node, slot or core');
  const type = o['type'];
  if (typeof type !== 'string' || type === '') {
    fail(`${path}.type`, `must be a non-empty string such as "node", "slot" or "core" (got ${got(type)})`);
  }
  if (!('count' in o)) fail(`${path}.count`, `is required; say how many ${type} resources are needed, e.g. count: 1`);
  checkCanonicalCount(o['count'], `${path}.count`);
  if ('exclusive' in o) checkBool(o['exclusive'], `${path}.exclusive`);
  if ('unit' in o) checkString(o['unit'], `${path}.unit`, '; e.g. unit: GB');
  if ('id' in o) checkString(o['id'], `${path}.id`, '; give the matching resource ids as one string, e.g. "0-3"');
  if ('label' in o) {
    const label = checkString(o['label'], `${path}.label`);
    const previous = labels.get(label);
    if (previous !== undefined) fail(`${path}.label`, `${got(label)} is already used at ${previous}; labels must be unique`);
    labels.set(label, path);
  } else if (type === 'slot') {
    fail(`${path}.label`, 'is required for a slot; tasks refer to their slot by label, e.g. label: task');
  }
  if ('with' in o) {
    const w = o['with'];
    if (!Array.isArray(w)) fail(`${path}.with`, `must be a list of resource vertices (got ${got(w)})`);
    if (w.length === 0) fail(`${path}.with`, 'must list at least one resource vertex; remove the key if there are none');
    w.forEach((child, i) => checkCanonicalVertex(child, `${path}.with[${i}]`, labels));
  } else if (type === 'slot') {
    fail(`${path}.with`, 'is required for a slot; list what each slot holds, e.g. [{type: core, count: 1}]');
  }
}

const TASK_KEYS: readonly string[] = ['command', 'slot', 'count', 'distribution', 'attributes'];
const TASK_COUNT_KEYS: readonly string[] = ['per_slot', 'per_resource', 'total'];

function checkTaskCountShape(o: Obj, path: string, allowed: readonly string[]): [string, unknown] {
  const p = `${path}.count`;
  const hint = allowed.map((k) => (k === 'per_resource' ? 'per_resource: {type, count}' : `${k}: N`)).join(' or ');
  if (!('count' in o)) fail(p, `is required; use {per_slot: 1} for one task per slot, or {total: N}`);
  const c = requireObj(o['count'], p, `a mapping with exactly one of ${hint}`);
  for (const k of Object.keys(c)) {
    if (!TASK_COUNT_KEYS.includes(k)) fail(sub(p, k), `unknown key; use exactly one of ${hint}`);
  }
  const keys = Object.keys(c);
  const first = keys[0];
  if (first === undefined) fail(p, `must have one of ${hint} (got an empty mapping)`);
  if (keys.length > 1) fail(p, `must have exactly one of ${hint} (got ${keys.join(' and ')})`);
  return [first, c[first]];
}

function checkCanonicalTask(t: unknown, path: string): void {
  const o = requireObj(t, path, 'a mapping with command, slot and count');
  checkKeys(o, path, TASK_KEYS, `a task has only ${TASK_KEYS.join(', ')}`);
  checkCommand(o, path);
  if (!('slot' in o)) fail(`${path}.slot`, 'is required; give the label of the slot the tasks run in');
  checkString(o['slot'], `${path}.slot`, '; give the label of a slot resource');
  const [key, val] = checkTaskCountShape(o, path, TASK_COUNT_KEYS);
  const kp = `${path}.count.${key}`;
  if (key === 'per_resource') {
    const pr = requireObj(val, kp, 'a mapping with type and count, e.g. {type: node, count: 1}');
    checkKeys(pr, kp, ['type', 'count'], 'per_resource has only type and count');
    if (!('type' in pr)) fail(`${kp}.type`, 'is required; name a resource type inside the slot, e.g. node');
    checkString(pr['type'], `${kp}.type`);
    if (!('count' in pr)) fail(`${kp}.count`, 'is required; give the tasks per resource, e.g. 1');
    checkInt(pr['count'], `${kp}.count`, 1);
  } else {
    checkInt(val, kp, 1);
  }
  if ('distribution' in o) checkString(o['distribution'], `${path}.distribution`);
  if ('attributes' in o) {
    const ap = `${path}.attributes`;
    for (const [k, v] of Object.entries(requireObj(o['attributes'], ap, 'a mapping of per-task attributes'))) {
      if (k === 'environment') checkEnvironment(v, `${ap}.environment`);
      else checkString(v, sub(ap, k), '; per-task attributes other than environment are strings');
    }
  }
}

function validateCanonical(input: unknown): Jobspec {
  const js = checkTop(input);
  if (!('version' in js)) fail('version', 'is required; add version: 1');
  checkInt(js['version'], 'version', 1, '; use version: 1');
  const labels = new Map<string, string>();
  checkList(js, 'resources', 'resource vertices', 'list the resources the job needs, e.g. a slot holding a core')
    .forEach((v, i) => checkCanonicalVertex(v, `resources[${i}]`, labels));
  checkList(js, 'tasks', 'tasks', 'give at least one task with command, slot and count')
    .forEach((t, i) => checkCanonicalTask(t, `tasks[${i}]`));
  checkAttributes(js, false);
  return js as unknown as Jobspec;
}

// ---------------------------------------------------------------------- V1

interface V1Vertex {
  o: Obj;
  type: string;
  count: number;
}

/** Common part of a V1 vertex: mapping, allowed type and keys, integer count. */
function checkV1Vertex(v: unknown, path: string, types: readonly string[], where: string): V1Vertex {
  const o = requireObj(v, path, `a mapping describing a resource of type ${types.join(' or ')}`);
  if (!('type' in o)) fail(`${path}.type`, `is required; ${where} is of type ${types.join(' or ')}`);
  const type = o['type'];
  if (typeof type !== 'string' || !types.includes(type)) {
    fail(`${path}.type`, `${where} must be of type ${types.join(' or ')} in jobspec V1 (got ${got(type)}); other resource types need canonical jobspec`);
  }
  const keys = type === 'node' ? ['type', 'count', 'with', 'exclusive', 'unit', 'label']
    : type === 'slot' ? ['type', 'count', 'with', 'label', 'exclusive', 'unit']
    : ['type', 'count', 'unit'];
  checkKeys(o, path, keys, `a V1 ${type} vertex has only ${keys.join(', ')}`);
  if (!('count' in o)) fail(`${path}.count`, `is required; say how many ${type} resources are needed, e.g. count: 1`);
  const min = type === 'gpu' ? 0 : 1;
  const count = checkInt(o['count'], `${path}.count`, min,
    typeof o['count'] === 'number' ? '' : '; ranges and count strings need canonical jobspec');
  if ('exclusive' in o) checkBool(o['exclusive'], `${path}.exclusive`);
  if ('unit' in o) checkString(o['unit'], `${path}.unit`);
  if ('label' in o) checkString(o['label'], `${path}.label`);
  return { o, type, count };
}

function checkV1With(o: Obj, path: string, what: string): unknown[] {
  const p = `${path}.with`;
  if (!('with' in o)) fail(p, `is required; ${what}`);
  const w = o['with'];
  if (!Array.isArray(w)) fail(p, `must be a list of resource vertices; ${what} (got ${got(w)})`);
  return w;
}

function checkV1Slot(v: unknown, path: string, where: string): string {
  const { o } = checkV1Vertex(v, path, ['slot'], where);
  if (!('label' in o)) fail(`${path}.label`, 'is required for a slot; tasks refer to their slot by label, e.g. label: task');
  const label = checkString(o['label'], `${path}.label`);
  const what = 'a V1 slot holds one core and optionally one gpu, e.g. [{type: core, count: 1}]';
  const w = checkV1With(o, path, what);
  if (w.length === 0 || w.length > 2) fail(`${path}.with`, `${what} (got ${w.length} entries)`);
  const seen = new Set<string>();
  w.forEach((child, i) => {
    const cp = `${path}.with[${i}]`;
    const { type } = checkV1Vertex(child, cp, ['core', 'gpu'], 'a resource inside a V1 slot');
    if (seen.has(type)) fail(cp, `a second ${type} vertex; ${what}: merge the counts`);
    seen.add(type);
  });
  if (!seen.has('core')) fail(`${path}.with`, `must include a core; ${what}`);
  return label;
}

function validateV1(input: unknown): Jobspec {
  const js = checkTop(input);
  if (!('version' in js)) fail('version', 'is required; add version: 1');
  if (js['version'] !== 1) fail('version', `must be 1 for jobspec V1 (got ${got(js['version'])})`);

  const resources = checkList(js, 'resources', 'resource vertices', 'give one node or slot, e.g. a slot holding a core');
  if (resources.length !== 1) {
    fail('resources', `jobspec V1 takes exactly one top-level resource, a node or a slot (got ${resources.length})`);
  }
  const top = checkV1Vertex(resources[0], 'resources[0]', ['node', 'slot'], 'the top-level resource');
  let nodes = 0;
  let nodeExclusive = false;
  let label: string;
  if (top.type === 'node') {
    nodes = top.count;
    nodeExclusive = top.o['exclusive'] === true;
    const what = 'a V1 node holds exactly one slot, e.g. [{type: slot, count: 1, label: task, with: [{type: core, count: 1}]}]';
    const w = checkV1With(top.o, 'resources[0]', what);
    if (w.length !== 1) fail('resources[0].with', `${what} (got ${w.length} entries)`);
    label = checkV1Slot(w[0], 'resources[0].with[0]', 'the resource inside a V1 node');
  } else {
    label = checkV1Slot(resources[0], 'resources[0]', 'the top-level resource');
  }

  const tasks = checkList(js, 'tasks', 'tasks', 'give one task with command, slot and count');
  if (tasks.length !== 1) fail('tasks', `jobspec V1 takes exactly one task (got ${tasks.length}); several programs need canonical jobspec`);
  const t = requireObj(tasks[0], 'tasks[0]', 'a mapping with command, slot and count');
  checkKeys(t, 'tasks[0]', ['command', 'slot', 'count'], 'a V1 task has only command, slot and count');
  checkCommand(t, 'tasks[0]');
  if (!('slot' in t)) fail('tasks[0].slot', `is required; give the slot label ${got(label)}`);
  const slot = checkString(t['slot'], 'tasks[0].slot');
  if (slot !== label) fail('tasks[0].slot', `no slot is labelled ${got(slot)}; use the slot's label ${got(label)}`);
  const [key, val] = checkTaskCountShape(t, 'tasks[0]', ['per_slot', 'total']);
  if (key === 'per_resource') fail('tasks[0].count.per_resource', 'is not supported in jobspec V1; use per_slot: 1 or total: N');
  if (key === 'per_slot') {
    if (val !== 1) fail('tasks[0].count.per_slot', `must be 1 in jobspec V1 (got ${got(val)}); for more tasks per slot use total: N`);
  } else {
    const total = checkInt(val, 'tasks[0].count.total', 1);
    // RFC 25: every allocated node runs a task. Relaxed for node-exclusive
    // requests, where idle whole nodes are what the user asked for.
    if (total < nodes && !nodeExclusive) {
      fail('tasks[0].count.total', `must be >= the node count ${nodes} (got ${total}) so every node runs a task; raise total, lower the node count, or set exclusive: true on the node`);
    }
  }
  checkAttributes(js, true);
  return js as unknown as Jobspec;
}

// ------------------------------------------------------------------- public

/**
 * A validated jobspec, or a FractalError (EINVAL) naming the first bad field.
 * The default 'auto' mode accepts V1 only (see ValidateOptions).
 */
export function validateJobspec(input: unknown, opts: ValidateOptions = {}): Jobspec {
  const version = opts.version ?? 'auto';
  if (version === 'canonical') return validateCanonical(input);
  if (version === 'v1') return validateV1(input);
  try {
    return validateV1(input);
  } catch (e) {
    const v1Error = FractalError.from(e);
    let canonicalOk = false;
    try {
      validateCanonical(input);
      canonicalOk = true;
    } catch {
      // not canonical either: the V1 error stands alone
    }
    if (!canonicalOk) throw v1Error;
    throw invalid(`${v1Error.message} (the document is valid canonical jobspec, RFC 14, but Fractal runs jobspec V1, RFC 25)`);
  }
}

/**
 * Accepts valid canonical jobspec or valid V1. When both reject the document
 * the canonical error is reported: V1 only narrows canonical jobspec (apart
 * from allowing a gpu count of 0), so the canonical problem must be fixed
 * whatever the version, while the V1 error may merely name a canonical-only
 * feature.
 */
export function validateJobspecAnyVersion(input: unknown): Jobspec {
  try {
    return validateV1(input);
  } catch {
    // fall through to canonical, whose error is the one to report
  }
  return validateCanonical(input);
}
