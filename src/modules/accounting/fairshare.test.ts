import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assocKey, decay, fairShare } from './fairshare.js';

const close = (a: number, b: number, msg?: string) => assert.ok(Math.abs(a - b) < 1e-9, `${msg ?? ''} ${a} != ${b}`);

void test('fair share: shares split down the tree; the factor is 2^(-U/S)', () => {
  // root ── physics (3) ── alice (1), bob (1)
  //      └─ chem (1)    ── carol (1)
  const r = fairShare(
    [{ name: 'physics', parent: null, shares: 3 }, { name: 'chem', parent: null, shares: 1 }],
    [
      { user: 'alice', account: 'physics', shares: 1, usage: 600 },
      { user: 'bob', account: 'physics', shares: 1, usage: 0 },
      { user: 'carol', account: 'chem', shares: 1, usage: 400 },
    ],
  );
  const alice = r.assocs.get(assocKey('physics', 'alice'))!;
  close(alice.shares, 0.375);
  close(alice.usage, 0.6);
  close(alice.factor, Math.pow(2, -0.6 / 0.375));
  close(r.assocs.get(assocKey('physics', 'bob'))!.factor, 1, 'no usage: factor 1');
  const carol = r.assocs.get(assocKey('chem', 'carol'))!;
  close(carol.shares, 0.25);
  close(carol.factor, Math.pow(2, -0.4 / 0.25));
  close(r.accounts.get('physics')!.usage, 0.6);
  close(r.accounts.get('physics')!.factor, Math.pow(2, -0.6 / 0.75));
});

void test('fair share: usage exactly equal to the share gives 0.5; zero shares give 0; unknown accounts are ignored', () => {
  const r = fairShare([{ name: 'a', parent: null, shares: 1 }, { name: 'b', parent: null, shares: 1 }], [
    { user: 'u', account: 'a', shares: 1, usage: 50 },
    { user: 'v', account: 'b', shares: 0, usage: 50 },
    { user: 'w', account: 'nope', shares: 1, usage: 1e9 },
  ]);
  close(r.assocs.get('a:u')!.factor, 0.5);
  close(r.assocs.get('b:v')!.factor, 0);
  assert.equal(r.assocs.has('nope:w'), false);
});

void test('decay: one half-life halves usage; none before the reference time', () => {
  close(decay(100, 0, 3600, 3600), 50);
  close(decay(100, 0, 7200, 3600), 25);
  close(decay(100, 10, 5, 3600), 100);
});

void test('property: factors are in [0, 1], shares of siblings sum to their parent\'s, more usage never raises a factor', () => {
  const tree = fc.array(fc.record({ shares: fc.integer({ min: 0, max: 10 }), parent: fc.nat(5) }), { minLength: 1, maxLength: 6 });
  const users = fc.array(fc.record({ acct: fc.nat(5), shares: fc.integer({ min: 0, max: 5 }), usage: fc.integer({ min: 0, max: 1000 }) }), { minLength: 1, maxLength: 8 });
  fc.assert(fc.property(tree, users, fc.nat(7), (t, us, bump) => {
    // Parents always come earlier, so the tree has no cycles.
    const accounts = t.map((a, i) => ({ name: `a${i}`, parent: i === 0 || a.parent >= i ? null : `a${a.parent}`, shares: a.shares }));
    const assocs = us.map((u, i) => ({ user: `u${i}`, account: `a${u.acct % accounts.length}`, shares: u.shares, usage: u.usage }));
    const r = fairShare(accounts, assocs);
    for (const x of [...r.assocs.values(), ...r.accounts.values()]) assert.ok(x.factor >= 0 && x.factor <= 1 && x.shares >= 0 && x.shares <= 1 + 1e-9);
    const top = accounts.filter((a) => a.parent === null).reduce((s, a) => s + r.accounts.get(a.name)!.shares, 0);
    assert.ok(Math.abs(top - 1) < 1e-9 || top === 0, `top-level shares sum to ${top}`);
    const i = bump % assocs.length;
    const more = assocs.map((a, k) => (k === i ? { ...a, usage: a.usage + 100 } : a));
    const key = assocKey(assocs[i]!.account, assocs[i]!.user);
    const r2 = fairShare(accounts, more);
    if (r.assocs.has(key)) assert.ok(r2.assocs.get(key)!.factor <= r.assocs.get(key)!.factor + 1e-12);
  }), { numRuns: 300 });
});
