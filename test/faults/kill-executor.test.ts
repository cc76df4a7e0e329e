/**
 * kill -9 of one rank's executor in a 4-broker instance with jobs running on
 * every rank. The broker notices (the executor's socket closes): the jobs
 * with tasks there end with an `exec` exception that names the executor's
 * death, every process of those jobs is killed (background children too, on
 * every rank), their resources return, and a new executor runs later jobs.
 * Jobs elsewhere are unharmed.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Instance, isAlive, waitFor } from '../helpers.js';
import { brokerPid, executorPid, kill9, leftovers, openGate, startWorkload, type Workload } from './workload.js';

void describe('kill -9 of the executor of rank 1', () => {
  let inst: Instance;
  let w: Workload;
  let oldExec: number;
  before(async () => {
    inst = await Instance.start({ size: 4, coresPerRank: 2 });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('its jobs end with an exec exception, and none of their processes is left', async () => {
    w = await startWorkload(inst, 'ex');
    oldExec = executorPid(inst, 1)!;
    assert.ok(oldExec);
    const broker1 = brokerPid(inst, 1);
    await kill9(oldExec);
    for (const id of [w.all, w.perRank[1]!]) {
      const j = await inst.waitState(id, ['INACTIVE'], 60000);
      assert.equal(j.exception?.type, 'exec', `job ${id}: ${JSON.stringify(j)}`);
      assert.match(j.exception.note, new RegExp(`the executor on rank 1 \\(pid ${oldExec}\\) died \\(killed by SIGKILL\\)`), JSON.stringify(j));
    }
    await waitFor('no process of the lost jobs left', () => leftovers(`${w.marker}-all`).length === 0 && leftovers(`${w.marker}-r1`).length === 0, 20000);
    assert.ok(isAlive(broker1), 'the broker of rank 1 is still there');
    for (const r of [0, 2, 3]) assert.equal((await inst.job(w.perRank[r]!)).state, 'RUN', `the job on rank ${r} is unharmed`);
  });

  void test('a new executor runs on rank 1 and its cores are free again', async () => {
    await waitFor('a new executor on rank 1', () => { const p = executorPid(inst, 1); return p !== undefined && p !== oldExec; }, 20000);
    // Rank 1 has 2 cores; the per-rank jobs on the other ranks hold one each: -N4 -c1 fits only if rank 1's came back.
    const r = await inst.ok(['run', '-N4', '-n4', '-c1', '--', 'sh', '-c', 'echo $FRACTAL_NODE_RANK'], { timeoutMs: 60000 });
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['0', '1', '2', '3']);
    const one = await inst.ok(['run', '--requires', 'rank:1', '-n1', '-c2', '--', 'sh', '-c', 'exit 0']);
    assert.equal(one.code, 0);
  });

  void test('the jobs on the other ranks end normally with their exit codes', async () => {
    openGate(inst, 'rank');
    for (const r of [0, 2, 3]) {
      const j = await inst.waitState(w.perRank[r]!, ['INACTIVE'], 60000);
      assert.equal(j.returncode, 10 + r, JSON.stringify(j));
      assert.equal(j.exception, undefined, JSON.stringify(j));
    }
    await waitFor('no process of the workload left', () => leftovers(w.marker).length === 0, 20000);
  });
});
