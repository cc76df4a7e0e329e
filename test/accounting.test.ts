/**
 * Accounting and multi-factor priority with a real broker: accounts and
 * users (`fractal account`), usage recorded from finished jobs (`fractal
 * usage`), fair share ordering the queue, account checks at submit, and the
 * tables surviving a restart.
 *
 * One rank with one core, so that jobs queue behind each other.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Instance, waitFor } from './helpers.js';

interface Listing {
  accounts: { name: string; parent: string | null; shares: number; fairshare: number }[];
  users: { user: string; account: string; is_default: number; fairshare: number; decayed: number }[];
}

void describe('accounting and fair share', () => {
  let inst: Instance;
  let me: string;
  before(async () => {
    inst = await Instance.start({
      coresPerRank: 1,
      extraArgs: ['-o', 'priority=multifactor', '-o', 'priority.interval=0.5', '-o', 'priority.weight.age=0', '-o', 'priority.weight.size=0', '-o', 'priority.weight.urgency=0'],
    });
    me = userInfo().username;
  });
  after(async () => {
    await inst.destroy();
  });

  const listing = async (): Promise<Listing> => JSON.parse((await inst.ok(['account', 'list', '--json'])).stdout) as Listing;

  void test('accounts form a tree with shares; users join accounts; mistakes are refused with what to do', async () => {
    await inst.ok(['account', 'add', 'heavy', '--shares', '1']);
    await inst.ok(['account', 'add', 'light', '--shares', '1']);
    await inst.ok(['account', 'add', 'sub', '--parent', 'heavy', '--max-running', '4']);
    await inst.ok(['account', 'add-user', me, 'heavy']);
    await inst.ok(['account', 'add-user', me, 'light']);
    const l = await listing();
    assert.deepEqual(l.accounts.map((a) => [a.name, a.parent]), [['heavy', null], ['light', null], ['sub', 'heavy']]);
    assert.deepEqual(l.users.map((u) => [u.account, u.is_default]), [['heavy', 1], ['light', 0]]);
    for (const [args, message] of [
      [['account', 'add', 'heavy'], /exists; change it with `fractal account modify`/],
      [['account', 'add', 'x', '--parent', 'nope'], /no parent account "nope"/],
      [['account', 'modify', 'heavy', '--parent', 'sub'], /would make a cycle/],
      [['account', 'delete', 'heavy'], /still has account sub, user/],
      [['account', 'add-user', me, 'nope'], /no account "nope"/],
      [['account', 'add', 'bad name'], /must be a name/],
      [['account', 'add', 'y', '--shares', 'lots'], /--shares must be a number/],
      [['account', 'frobnicate'], /unknown account subcommand/],
      [['submit', '-A', 'sub', 'true'], /may not charge account "sub"; use one of heavy, light/],
      [['usage', '--since', 'yesterday-ish'], /use an ISO date/],
    ] as const) {
      const r = await inst.fractal([...args]);
      assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
      assert.match(r.stderr, message);
    }
  });

  void test('usage is recorded per account; the account that used more waits behind the one that used less', async () => {
    // Charge 2 core-seconds to "heavy" (the default account).
    const used = await inst.submit(['sleep', '2']);
    await inst.ok(['wait', String(used)]);
    await waitFor('usage to reach the fair-share factors', async () => {
      const l = await listing();
      const heavy = l.users.find((u) => u.account === 'heavy')!, light = l.users.find((u) => u.account === 'light')!;
      return heavy.decayed >= 1.9 && heavy.fairshare < light.fairshare;
    });
    const report = JSON.parse((await inst.ok(['usage', '--by', 'account', '--json'])).stdout) as { rows: { key: string; jobs: number; core_seconds: number }[] };
    const heavyRow = report.rows.find((r) => r.key === 'heavy')!;
    assert.equal(heavyRow.jobs, 1);
    // One core for as long as the job ran (sleep 2 takes longer on a busy machine).
    const u = await inst.job(used);
    const ran = u.t_inactive! - u.t_run!;
    assert.ok(heavyRow.core_seconds >= 1.9 && Math.abs(heavyRow.core_seconds - ran) < 0.5, `core-seconds ${heavyRow.core_seconds}, the job ran ${ran} s`);
    assert.match((await inst.ok(['usage'])).stdout, new RegExp(`^${me}\\s+1\\s+0\\.00\\d`, 'm'));

    // The core is busy (until the gate file exists); then a heavy job and, later, a light one queue up.
    const blocker = await inst.submit(['--', 'sh', '-c', 'while [ ! -e gate-fairshare ]; do sleep 0.05; done']);
    await inst.waitState(blocker, ['RUN']);
    const heavy = await inst.submit(['-A', 'heavy', 'true']);
    const light = await inst.submit(['-A', 'light', 'true']);
    const h = await inst.job(heavy), l = await inst.job(light);
    assert.equal(h.account, 'heavy');
    assert.equal(l.account, 'light');
    assert.ok(l.priority > h.priority, `light ${l.priority} should outrank heavy ${h.priority}`);
    writeFileSync(join(inst.work, 'gate-fairshare'), '');
    await inst.ok(['wait', String(heavy)]);
    assert.ok((await inst.job(light)).t_run! <= (await inst.job(heavy)).t_run!, 'the light account ran first');
  });

  void test('limits: max running jobs and max cores hold jobs back with reason "limits" until they fit', async () => {
    await inst.ok(['account', 'add', 'capped']);
    await inst.ok(['account', 'add', 'tight', '--max-cores', '0']);
    await inst.ok(['account', 'add-user', me, 'capped', '--max-running', '1']);
    await inst.ok(['account', 'add-user', me, 'tight']);
    const big = await inst.submit(['-A', 'tight', 'true']);
    // Runs until the gate file exists, so that the limit holds while the test looks.
    const first = await inst.submit(['-A', 'capped', '--', 'sh', '-c', 'while [ ! -e gate-limits ]; do sleep 0.05; done']);
    const second = await inst.submit(['-A', 'capped', 'true']);
    await inst.waitState(first, ['RUN']);
    const reasons = async () => (await inst.jobs(['-o', '{id}'])).map((j) => [j.id, j.reason]);
    await waitFor('the limits to be reported', async () => (await inst.job(second)).reason?.startsWith('limits') === true);
    assert.deepEqual(await reasons(), [
      [second, `limits (user limit in account capped: max running jobs 1)`],
      [first, undefined],
      [big, `limits (account tight: max cores 0)`],
    ]);
    // When the running job ends, the next one within the limits starts.
    writeFileSync(join(inst.work, 'gate-limits'), '');
    await inst.ok(['wait', String(second)]);
    await inst.ok(['account', 'modify', 'tight', '--max-cores', '-1']);
    await inst.ok(['wait', String(big)]);
  });

  void test('accounts and usage survive a restart of the instance', async () => {
    await inst.ok(['shutdown']);
    await inst.startDaemon();
    const l = await listing();
    assert.deepEqual(l.accounts.map((a) => a.name), ['capped', 'heavy', 'light', 'sub', 'tight']);
    assert.ok(l.users.find((u) => u.account === 'heavy')!.decayed > 1.9);
  });
});
