/**
 * Advance reservations with real brokers: creation picks nodes free for the
 * whole window, other jobs never overlap it (a job that would still run at
 * its start goes elsewhere or waits; a short one may use the nodes before),
 * jobs that name it wait for its start and run only on its nodes, access
 * rules, persistence across a restart, and bad requests.
 *
 * Two ranks with one core each, EASY backfilling.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { Instance, waitFor } from './helpers.js';

interface Resv { name: string; start: number; end: number; ranks: string; nnodes: number; users: string[]; pending: number; running: number }

async function ranksOf(inst: Instance, id: number): Promise<string> {
  const info = JSON.parse((await inst.ok(['job', 'info', String(id)])).stdout) as { R: { execution: { R_lite: { rank: string }[] } } };
  return info.R.execution.R_lite.map((e) => e.rank).join(',');
}

void describe('advance reservations', () => {
  let inst: Instance;
  const me = userInfo().username;
  before(async () => {
    inst = await Instance.start({ size: 2, coresPerRank: 1, extraArgs: ['-o', 'sched.policy=easy'] });
  });
  after(async () => {
    await inst.destroy();
  });

  const list = async (): Promise<Resv[]> => (JSON.parse((await inst.ok(['reservation', 'list', '--json'])).stdout) as { reservations: Resv[] }).reservations;

  void test('jobs keep off reserved nodes when they would overlap; reservation jobs wait for the start and run inside', async () => {
    // Rank 0 is busy with a job that has no time limit: the reservation must take rank 1.
    const forever = await inst.submit(['-N1', 'sleep', '300']);
    await inst.waitState(forever, ['RUN']);
    assert.equal(await ranksOf(inst, forever), '0');
    // Starts in 60 s (the short job below must be able to end before it: on a
    // busy machine each CLI call takes seconds) and outlives this test.
    const out = (await inst.ok(['reservation', 'create', '--name', 'maint', '--start', '+60s', '--duration', '10m', '-N', '1', '--users', me])).stdout;
    assert.match(out, /reservation maint: .* 1 node\(s\) \(ranks 1\)/);
    const [r] = await list();
    assert.equal(r!.ranks, '1');

    // A job that would still run when the reservation starts cannot use rank 1 and waits.
    const long = await inst.submit(['-N1', '-t', '1m', 'true']);
    // A short job ends before the start: it may use rank 1 now (backfilled past the long one). Its limit leaves
    // a loaded machine time to run `true` (a 1 s limit was seen to expire first) and still ends before the start.
    const short = await inst.submit(['-N1', '-t', '5s', 'true']);
    await inst.ok(['wait', String(short)]);
    assert.equal(await ranksOf(inst, short), '1');
    assert.equal((await inst.job(long)).state, 'SCHED');

    // A job in the reservation waits for its start, then runs on its node.
    const inside = await inst.submit(['--reservation', 'maint', '-N1', '-t', '5s', 'true']);
    const waiting = await waitFor('the reservation job to be annotated', async () => {
      const j = await inst.job(inside);
      return j.reason === 'reservation' ? j : undefined;
    });
    assert.ok(Math.abs(waiting.t_estimate! - r!.start) < 0.01, 'its estimated start is the reservation start');
    await inst.ok(['wait', String(inside)], { timeoutMs: 180000 });
    assert.equal(await ranksOf(inst, inside), '1');
    assert.ok((await inst.job(inside)).t_run! >= r!.start - 0.05, 'it did not start before the reservation');
    assert.equal((await inst.job(long)).state, 'SCHED', 'the long job still waits: rank 0 is busy, rank 1 reserved');
    await inst.ok(['cancel', String(forever), String(long)]);
  });

  void test('who may use it, and requests that cannot work, are refused with what to do', async () => {
    await inst.ok(['reservation', 'create', '--name', 'theirs', '--start', '+1h', '--duration', '1h', '-N', '1', '--users', 'nobody-else']);
    for (const [args, message] of [
      [['submit', '--reservation', 'theirs', '-t', '1m', 'true'], /may not use reservation "theirs" \(it is for user nobody-else\)/],
      [['submit', '--reservation', 'maint', 'true'], /needs a time limit/],
      [['submit', '--reservation', 'maint', '-t', '2h', 'true'], /longer than reservation "maint"/],
      [['submit', '--reservation', 'nope', '-t', '1m', 'true'], /no reservation "nope"/],
      [['submit', '--reservation', 'maint', '-N', '2', '-t', '1s', 'true'], /asks for 2 nodes but reservation "maint" has 1/],
      [['reservation', 'create', '--name', 'maint', '--duration', '1h'], /exists/],
      [['reservation', 'create', '--name', 'x', '--start', '+1h'], /give the reservation a duration/],
      [['reservation', 'create', '--name', 'x', '--start', '+1h', '--end', '+30m'], /must end after it starts/],
      [['reservation', 'create', '--name', 'x', '--start', 'tomorrow-ish', '--duration', '1h'], /use an ISO date/],
      [['reservation', 'create', '--name', 'x', '--duration', '1h', '-N', '3'], /has 2 node\(s\); cannot reserve 3/],
      [['reservation', 'create', '--name', 'x', '--duration', '1h', '--nodelist', '7'], /no rank 7/],
      [['reservation', 'delete', 'nope'], /no reservation "nope"/],
      [['reservation', 'frob'], /unknown reservation subcommand/],
    ] as const) {
      const r = await inst.fractal([...args]);
      assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
      assert.match(r.stderr, message, args.join(' '));
    }
    const theirs = (await list()).find((r) => r.name === 'theirs')!;
    const clash = await inst.fractal(['reservation', 'create', '--name', 'x', '--start', '+1h', '--duration', '1h', '--nodes', theirs.ranks]);
    assert.notEqual(clash.code, 0);
    assert.match(clash.stderr, new RegExp(`cannot reserve ranks ${theirs.ranks} .*another reservation overlaps`));
  });

  void test('update moves the window; delete frees the nodes; reservations survive a restart', async () => {
    await inst.ok(['reservation', 'update', 'theirs', '--start', '+2h', '--duration', '30m', '--users', `${me},bob`]);
    let theirs = (await list()).find((r) => r.name === 'theirs')!;
    assert.ok(Math.abs(theirs.end - theirs.start - 1800) < 0.01);
    assert.deepEqual(theirs.users, [me, 'bob']);
    await inst.ok(['shutdown']);
    await inst.startDaemon();
    theirs = (await list()).find((r) => r.name === 'theirs')!;
    assert.deepEqual(theirs.users, [me, 'bob']);
    // Held again after the restart: an overlapping reservation on its node is refused.
    const clash = await inst.fractal(['reservation', 'create', '--name', 'y', '--start', '+2h', '--duration', '1m', '--nodelist', theirs.ranks]);
    assert.match(clash.stderr, /cannot reserve/);
    await inst.ok(['reservation', 'delete', 'theirs']);
    await inst.ok(['reservation', 'create', '--name', 'y', '--start', '+2h', '--duration', '1m', '--nodelist', theirs.ranks]);
  });
});
