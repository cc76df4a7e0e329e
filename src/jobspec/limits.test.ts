/**
 * Input edges of the jobspec area: the longest time limit, environment
 * names, and output path templates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FractalError } from '../errors/index.js';
import {
  MAX_DURATION, durationLimitProblem, envNameProblem, expandOutputPath, isValidEnvName, jobspecFromCommand, safePathPiece, validateJobspec,
} from './index.js';

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof FractalError && e.code === 'EINVAL' && message.test(e.message));
}

const spec = (system: Record<string, unknown>): unknown => ({
  version: 1,
  resources: [{ type: 'slot', count: 1, label: 'task', with: [{ type: 'core', count: 1 }] }],
  tasks: [{ command: ['true'], slot: 'task', count: { per_slot: 1 } }],
  attributes: { system: { duration: 0, ...system } },
});

// ---------------------------------------------------------------- durations

void test('the maximum time limit is 365 days', () => {
  assert.equal(MAX_DURATION, 365 * 86400);
});

for (const [what, secs] of [['2^63 s', 2 ** 63], ['1e308 s', 1e308], ['365d + 1 s', MAX_DURATION + 1], ['24.9 days * 100', 24.9 * 86400 * 100]] as const) {
  void test(`a duration of ${what} is refused at validation, naming the maximum`, () => {
    refused(() => validateJobspec(spec({ duration: secs })), /attributes\.system\.duration: .*maximum time limit of 365d \(31536000 s\)/);
    refused(() => validateJobspec(spec({ 'preemptible-after': secs })), /preemptible-after.*maximum/);
    refused(() => jobspecFromCommand(['true'], {}, { duration: secs }), /maximum time limit of 365d/);
  });
}

void test('durations up to the maximum are accepted, 0 is unlimited, inf from the CLI becomes 0', () => {
  for (const d of [0, 1, 30 * 86400, 24.9 * 86400, MAX_DURATION]) validateJobspec(spec({ duration: d }));
  assert.equal(jobspecFromCommand(['true'], {}, { duration: Infinity }).attributes.system?.duration, 0);
});

void test('durationLimitProblem: undefined when fine, a sentence with the maximum when too long', () => {
  assert.equal(durationLimitProblem(0), undefined);
  assert.equal(durationLimitProblem(MAX_DURATION), undefined);
  assert.match(durationLimitProblem(400 * 86400) ?? '', /^400d is more than the maximum time limit of 365d \(31536000 s\); give a shorter limit, or no limit/);
  assert.match(durationLimitProblem(2 ** 63) ?? '', /^9223372036854776000 s is more than/);
  assert.match(durationLimitProblem(Infinity) ?? '', /finite/);
  assert.match(durationLimitProblem(-1) ?? '', />= 0/);
});

// ------------------------------------------------------ environment names

const GOOD_NAMES = ['PATH', 'MY_VAR', '_x', 'a1', 'LD_LIBRARY_PATH', 'BASH_FUNC_module%%', 'BASH_FUNC_ml%%', 'BASH_FUNC_my-func%%', 'BASH_FUNC_module()'];
const BAD_NAMES = ['BAD NAME', '', 'A=B', '1ABC', 'A-B', 'a.b', 'X\n', 'E\u001b[31m', 'NUL\u0000', 'BASH_FUNC_%%', 'BASH_FUNC_a b%%', 'BASH_FUNC_x()y', 'ÄRGER'];

void test('environment names: POSIX names and bash exported functions are valid', () => {
  for (const n of GOOD_NAMES) assert.ok(isValidEnvName(n), n);
  for (const n of BAD_NAMES) assert.ok(!isValidEnvName(n), JSON.stringify(n));
});

void test('a jobspec with an invalid environment name is refused, naming it', () => {
  for (const n of BAD_NAMES) {
    refused(() => validateJobspec(spec({ environment: { [n]: 'x' } })), /attributes\.system\.environment: variable name .* is not valid: names are letters, digits and "_"/);
  }
  refused(() => validateJobspec(spec({ environment: { 'BAD NAME': '1' } })), /variable name "BAD NAME" is not valid/);
  validateJobspec(spec({ environment: Object.fromEntries(GOOD_NAMES.map((n) => [n, 'v'])) }));
});

void test('the message shows a control character escaped, not raw', () => {
  const p = envNameProblem('E\u001b[2J') ?? '';
  assert.ok(!p.includes('\u001b'), p);
  assert.match(p, /\\u001b/);
});

void test('an environment value with a NUL is refused (exec cannot pass it)', () => {
  refused(() => validateJobspec(spec({ environment: { A: 'x\u0000y' } })), /environment\.A: must not contain a NUL/);
});

// ------------------------------------------------------ output paths

const F = { id: 42, name: 'sim', cwd: '/home/u/run' };

void test('templates: id and name in Flux and Slurm spellings, relative to cwd', () => {
  assert.equal(expandOutputPath('job-{id}.out', F), '/home/u/run/job-42.out');
  assert.equal(expandOutputPath('{{id}}-{{name}}.log', F), '/home/u/run/42-sim.log');
  assert.equal(expandOutputPath('%x-%j.out', F), '/home/u/run/sim-42.out');
  assert.equal(expandOutputPath('/scratch/{name}/{id}.out', F), '/scratch/sim/42.out');
  assert.equal(expandOutputPath('logs/{name}.out', { id: 1, cwd: '/w' }), '/w/logs/job.out');
  assert.equal(expandOutputPath('{name}.out', { id: 1, name: '', cwd: '/w' }), '/w/job.out');
});

void test('the template itself is the user\'s: ../ and absolute paths in it are kept', () => {
  assert.equal(expandOutputPath('../out/{id}', F), '/home/u/run/../out/42');
});

void test('a job name cannot add or climb directories, or make the path absolute', () => {
  assert.equal(expandOutputPath('{name}.out', { ...F, name: '../../etc/passwd' }), '/home/u/run/_._.._etc_passwd.out');
  assert.equal(expandOutputPath('{name}/x', { ...F, name: '..' }), '/home/u/run/_./x');
  assert.equal(expandOutputPath('{name}', { ...F, name: '/etc/cron.d/evil' }), '/home/u/run/_etc_cron.d_evil');
  assert.equal(expandOutputPath('%x', { ...F, name: '.bashrc' }), '/home/u/run/_bashrc');
  assert.equal(expandOutputPath('{name}', { ...F, name: 'a\nb\u001bc' }), '/home/u/run/a_b_c');
  // $& and friends are not replacement patterns here.
  assert.equal(expandOutputPath('{name}', { ...F, name: '$&$1' }), '/home/u/run/$&$1');
});

void test('property: whatever the name, a relative template stays where its own text puts it', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.constantFrom('{name}.out', 'logs/{name}/{id}.err', '%x', '{{name}}-%j'), (name, tmpl) => {
    const out = expandOutputPath(tmpl, { id: 7, name, cwd: '/w' });
    const parts = out.split('/');
    assert.equal(parts.length, tmpl.split('/').length + 2, out); // '', 'w', then the template's own levels
    assert.ok(!parts.includes('..') && !parts.slice(2).includes('.'), out);
    assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(out), JSON.stringify(out));
    assert.ok(!safePathPiece(name).startsWith('.'));
  }), { numRuns: 500 });
});
