import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FractalError } from '../../errors/index.js';
import { compileConstraint, parseConstraintQuery } from './index.js';
import type { ConstraintTarget } from './index.js';

const node = (name: string, rank: number, props: Record<string, string> = {}): ConstraintTarget => ({
  name,
  rank,
  property: (k) => props[k],
});

void test('RFC 31 operators on execution targets', () => {
  const t = node('host3', 3, { ssd: '', 'gpu-model': 'a100' });
  const yes = (c: unknown): boolean => compileConstraint(c).test(t);
  assert.equal(yes({}), true);
  assert.equal(yes({ properties: ['ssd'] }), true);
  assert.equal(yes({ properties: ['ssd', 'huge'] }), false);
  assert.equal(yes({ properties: ['^slowgpu'] }), true);
  assert.equal(yes({ properties: ['^ssd'] }), false);
  assert.equal(yes({ properties: ['gpu-model=a100'] }), true);
  assert.equal(yes({ properties: ['gpu-model=h100'] }), false);
  assert.equal(yes({ hostlist: ['host[0-3]'] }), true);
  assert.equal(yes({ hostlist: ['host[4-5]', 'host9'] }), false);
  assert.equal(yes({ ranks: ['0-2', '3'] }), true);
  assert.equal(yes({ ranks: ['4'] }), false);
  assert.equal(yes({ or: [{ properties: ['huge'] }, { ranks: ['3'] }] }), true);
  assert.equal(yes({ and: [{ properties: ['ssd'] }, { not: [{ hostlist: ['host3'] }] }] }), false);
  assert.equal(yes({ or: [] }), true);
  assert.equal(yes({ and: [] }), true);
  assert.equal(yes({ not: [] }), false);
});

void test('RFC 31 errors name the part that is wrong', () => {
  const bad = (c: unknown, re: RegExp): void => {
    assert.throws(() => compileConstraint(c), (e: unknown) => e instanceof FractalError && e.code === 'EINVAL' && re.test(e.message));
  };
  bad({ property: ['x'] }, /constraints.property: unknown operator "property"/);
  bad({ properties: 'x' }, /constraints.properties: expected a list of strings/);
  bad({ and: [{ hostlist: ['h[1-'] }] }, /constraints.and\[0\].hostlist/);
  bad({ ranks: ['a'] }, /constraints.ranks/);
  bad([], /expected an object/);
});

void test('RFC 35 examples (default operator "name")', () => {
  const q = (s: string): unknown => parseConstraintQuery(s, 'name');
  assert.deepEqual(q('foo'), { name: ['foo'] });
  assert.deepEqual(q('foo bar'), { and: [{ name: ['foo'] }, { name: ['bar'] }] });
  assert.deepEqual(q('foo bar state:started'), { and: [{ name: ['foo'] }, { name: ['bar'] }, { state: ['started'] }] });
  assert.deepEqual(q('a|b|c'), { or: [{ name: ['a'] }, { name: ['b'] }, { name: ['c'] }] });
  assert.deepEqual(q('a|b&c'), { or: [{ name: ['a'] }, { and: [{ name: ['b'] }, { name: ['c'] }] }] });
  assert.deepEqual(q('(a|b)&c'), { and: [{ or: [{ name: ['a'] }, { name: ['b'] }] }, { name: ['c'] }] });
  assert.deepEqual(q('(a|-b)&c'), { and: [{ or: [{ name: ['a'] }, { not: [{ name: ['b'] }] }] }, { name: ['c'] }] });
  assert.deepEqual(q("foo:'this is args'"), { foo: ['this is args'] });
  assert.deepEqual(q('not a or b and c'), { or: [{ not: [{ name: ['a'] }] }, { and: [{ name: ['b'] }, { name: ['c'] }] }] });
});

void test('RFC 35 for --requires: properties by default, host/rank aliases, merged properties', () => {
  assert.deepEqual(parseConstraintQuery('ssd a100'), { properties: ['ssd', 'a100'] });
  assert.deepEqual(parseConstraintQuery('ssd,a100'), { properties: ['ssd', 'a100'] });
  assert.deepEqual(parseConstraintQuery('host:node[1-3] -rank:2'), { and: [{ hostlist: ['node[1-3]'] }, { not: [{ ranks: ['2'] }] }] });
  assert.deepEqual(parseConstraintQuery(''), {});
  for (const [bad, re] of [
    ['-(a|b)', /must be followed by a term/],
    ['(a|b', /missing "\)"/],
    ['a|', /ends too early/],
    ['a)', /unexpected "\)"/],
    ["foo:'open", /unterminated quote/],
    ['host:', /has no value/],
  ] as const) {
    assert.throws(() => parseConstraintQuery(bad), (e: unknown) => e instanceof FractalError && re.test(e.message), bad);
  }
});

void test('RFC 35 → RFC 31 → predicate agrees with evaluating the query by hand', () => {
  const names = ['a', 'b', 'c'];
  const exprArb: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom(...names),
      fc.constantFrom(...names).map((n) => `-${n}`),
      fc.tuple(tie('e'), tie('e')).map(([x, y]) => `(${x} & ${y})`),
      fc.tuple(tie('e'), tie('e')).map(([x, y]) => `(${x} | ${y})`),
      tie('e').map((x) => `not (${x})`),
    ),
  })).e;
  fc.assert(
    fc.property(exprArb, fc.subarray(names), (expr, have) => {
      const t = node('h', 0, Object.fromEntries(have.map((p) => [p, ''])));
      const js = expr
        .replace(/not /g, '!')
        .replace(/-(\w)/g, '!$1')
        .replace(/\b([abc])\b/g, (_m, p: string) => String(have.includes(p)))
        .replace(/&/g, '&&')
        .replace(/\|/g, '||');
      const want = Function(`return ${js};`)() as boolean;
      assert.equal(compileConstraint(parseConstraintQuery(expr)).test(t), want, `${expr} with ${have.join(',')}`);
    }),
    { numRuns: 200 },
  );
});
