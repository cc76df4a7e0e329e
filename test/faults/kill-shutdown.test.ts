/**
 * No task process outlives its job or `fractal shutdown`: background
 * children a task leaves behind die when the job ends (the job's process
 * groups are killed), and a shutdown kills every running job's processes on
 * every rank, including jobs whose executor had died.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Instance, waitFor } from '../helpers.js';
import { executorPid, kill9, leftovers, startWorkload, type Workload } from './workload.js';

void describe('fractal shutdown leaves no task process behind (4 brokers)', () => {
  let inst: Instance;
  let w: Workload;
  const marker = `fltmk-sd-${process.pid}-${Date.now()}`;
  before(async () => {
    inst = await Instance.start({ size: 4, coresPerRank: 4 });
  });
  after(async () => {
    await inst.destroy();
  });

  void test("a background child dies with its job (output to a file or to the broker)", async () => {
    for (const out of [['--output', 'bg-{id}.out'], []]) {
      const id = await inst.submit(['-N4', '-n4', ...out, '--', 'sh', '-c', `sh -c 'sleep 300; true' ${marker}-bg & echo started`, `${marker}-job`]);
      const j = await inst.waitState(id, ['INACTIVE'], 60000);
      assert.equal(j.returncode, 0, JSON.stringify(j));
      assert.deepEqual(leftovers(`${marker}-bg`), [], `nothing of job ${id} is left once it ended`);
    }
  });

  void test('shutdown with jobs running on every rank (one rank\'s executor killed before) kills all their processes', async () => {
    w = await startWorkload(inst, 'sd');
    const exec3 = executorPid(inst, 3)!;
    await kill9(exec3);
    await inst.waitState(w.perRank[3]!, ['INACTIVE'], 60000);
    const r = await inst.fractal(['shutdown']);
    assert.equal(r.code, 0);
    await waitFor('the instance to stop', () => inst.processes().length === 0, 30000);
    await waitFor('no task process left', () => leftovers(w.marker).length === 0 && leftovers(marker).length === 0, 10000)
      .catch(() => assert.deepEqual([...leftovers(w.marker), ...leftovers(marker)], [], 'task processes outlived the shutdown'));
  });
});
