/** `fractal job kill`: signals reach a running job's tasks; bad signals and idle jobs are refused. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Instance, failedCleanly } from './helpers.js';

void describe('job kill', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({ size: 2 });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('USR1 reaches every task of a running job', async () => {
    const id = await inst.submit(['-N2', '-n2', '--', 'sh', '-c', 'trap "echo got-usr1-$FRACTAL_TASK_RANK; exit 4" USR1; sleep 30 & wait']);
    await inst.waitStarted(id);
    await new Promise((r) => setTimeout(r, 300)); // let the shells install their traps
    await inst.ok(['job', 'kill', '-s', 'USR1', String(id)]);
    const r = await inst.fractal(['attach', String(id)]);
    assert.equal(r.code, 4);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['got-usr1-0', 'got-usr1-1']);
  });

  void test('an unknown signal, a finished job and a bad id fail with a message', async () => {
    const id = await inst.submit(['sleep', '30']);
    await inst.waitStarted(id);
    const bad = await inst.fractal(['job', 'kill', '-s', 'BOGUS', String(id)]);
    assert.equal(failedCleanly(bad, /unknown signal "BOGUS"/), undefined);
    await inst.ok(['job', 'kill', '-s', '9', String(id)]);
    const w = await inst.fractal(['wait', String(id)]);
    assert.equal(w.code, 1);
    const done = await inst.fractal(['job', 'kill', String(id)]);
    assert.equal(failedCleanly(done, /not running/), undefined);
    const nan = await inst.fractal(['job', 'kill', 'abc']);
    assert.equal(failedCleanly(nan, /not a job id/), undefined);
  });
});
