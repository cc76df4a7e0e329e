/**
 * kill -9 of a non-zero rank's broker in a 4-broker instance (tree 0 → 1,2;
 * 1 → 3) with jobs running on every rank.
 *
 * - Rank 1 (it has a child, rank 3) is killed: its executor and jobs keep
 *   running, rank 3 keeps running and waits for its parent; `fractal start
 *   --state-dir` starts rank 1 again (only it), rank 3 re-joins, and every
 *   job ends with its real exit code, having run once.
 * - Rank 2 is killed and does not come back within the grace
 *   (`-o exec.rank-grace`): its jobs end with a node-failure exception, their
 *   resources return; when it is started again, the tasks left there are
 *   killed.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Instance, isAlive, waitFor } from '../helpers.js';
import { assertRanOnce, brokerPid, executorPid, kill9, leftovers, openGate, startWorkload, taskPids, type Workload } from './workload.js';

async function downRanks(inst: Instance): Promise<number[]> {
  const f = await inst.api();
  const st = await f.rpc<{ ranks: { rank: number; up: boolean }[] }>('resource.status', {});
  return st.ranks.filter((r) => !r.up).map((r) => r.rank);
}

void describe('kill -9 of rank 1 (a broker with a child), then restart it', () => {
  let inst: Instance;
  let w: Workload;
  before(async () => {
    inst = await Instance.start({ size: 4, coresPerRank: 2 });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('rank 1 dies: its executor, its child rank 3 and every job keep running', async () => {
    w = await startWorkload(inst, 'c1');
    const rank3 = brokerPid(inst, 3);
    const exec1 = executorPid(inst, 1);
    assert.ok(exec1 !== undefined);
    await kill9(brokerPid(inst, 1));
    await waitFor('ranks 1 and 3 to be reported down', async () => (await downRanks(inst)).join() === '1,3', 30000);
    assert.ok(isAlive(rank3), 'rank 3 did not shut down when it lost its parent');
    assert.ok(isAlive(exec1), 'the executor of rank 1 outlived its broker');
    for (const id of w.codes.keys()) assert.equal((await inst.job(id)).state, 'RUN', `job ${id} still runs`);
    const tasks = [...taskPids(inst, w.all).values()];
    assert.equal(tasks.length, 4);
    for (const p of tasks) assert.ok(isAlive(p), `task ${p} of the -N4 job still runs`);
  });

  void test('fractal start --state-dir starts rank 1 again; rank 3 re-joins', async () => {
    const others = [0, 2, 3].map((r) => brokerPid(inst, r));
    await inst.startDaemon();
    assert.deepEqual([0, 2, 3].map((r) => brokerPid(inst, r)), others, 'only rank 1 was started');
    assert.deepEqual(await downRanks(inst), []);
  });

  void test('every job ends with its real exit code and ran exactly once', async () => {
    openGate(inst, 'rank');
    openGate(inst, 'all');
    for (const id of w.codes.keys()) await inst.waitState(id, ['INACTIVE'], 60000);
    for (const [id, code] of w.codes) {
      const j = await inst.job(id);
      assert.equal(j.returncode, code, `job ${id}: ${JSON.stringify(j)}`);
      assert.equal(j.exception, undefined, `job ${id}: ${JSON.stringify(j)}`);
      assert.equal((await inst.events(id)).filter((n) => n === 'start').length, 1);
    }
    assertRanOnce(inst, w);
    await waitFor('no task process left', () => leftovers(w.marker).length === 0, 10000);
    // The instance is whole: a job on all 4 ranks runs.
    const r = await inst.ok(['run', '-N4', '-n4', '--', 'sh', '-c', 'echo $FRACTAL_NODE_RANK']);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['0', '1', '2', '3']);
  });
});

void describe('kill -9 of rank 2, which does not come back within the grace', () => {
  let inst: Instance;
  let w: Workload;
  before(async () => {
    inst = await Instance.start({ size: 4, coresPerRank: 2, extraArgs: ['-o', 'exec.rank-grace=3s'] });
  });
  after(async () => {
    await inst.destroy();
  });

  void test("its jobs end with a node-failure exception; the other ranks' jobs are unharmed", async () => {
    w = await startWorkload(inst, 'c2');
    await kill9(brokerPid(inst, 2));
    for (const id of [w.all, w.perRank[2]!]) {
      const j = await inst.waitState(id, ['INACTIVE'], 60000);
      assert.equal(j.exception?.type, 'node-failure', `job ${id}: ${JSON.stringify(j)}`);
      assert.match(j.exception.note, /broker rank 2 was lost and did not come back within 3s/);
    }
    for (const r of [0, 1, 3]) assert.equal((await inst.job(w.perRank[r]!)).state, 'RUN', `the job on rank ${r} still runs`);
    // The -N4 job's tasks on the other ranks were killed.
    const tasks = taskPids(inst, w.all);
    await waitFor('the -N4 job\'s tasks on ranks 0,1,3 to be killed', () => [0, 1, 3].every((n) => !isAlive(tasks.get(n)!)), 20000);
    assert.ok(isAlive(tasks.get(2)!), 'the task on rank 2 cannot be reached until rank 2 returns');
  });

  void test('resources return: a job fills the cores the -N4 job held on ranks 0,1,3', async () => {
    const r = await inst.ok(['run', '-N3', '-n3', '-c1', '--requires', 'rank:0-1,3', 'true'], { timeoutMs: 60000 });
    assert.equal(r.code, 0);
  });

  void test('started again, rank 2 re-joins and the tasks left there are killed', async () => {
    await inst.startDaemon();
    await waitFor('no task of the failed jobs left on rank 2', () => leftovers(`${w.marker}-all`).length === 0 && leftovers(`${w.marker}-r2`).length === 0, 30000);
    openGate(inst, 'rank');
    for (const r of [0, 1, 3]) {
      const j = await inst.waitState(w.perRank[r]!, ['INACTIVE'], 60000);
      assert.equal(j.returncode, 10 + r, JSON.stringify(j));
    }
    const r = await inst.ok(['run', '--requires', 'rank:2', '-n1', 'true']);
    assert.equal(r.code, 0);
  });
});
