/** `fractal job kill`: signals reach a running job's tasks; bad signals and idle jobs are refused. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Instance, failedCleanly, waitFor } from './helpers.js';

void describe('job kill', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({ size: 2 });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('USR1 reaches every task of a running job', async () => {
    // Each shell says when its trap is installed (a file per task).
    const id = await inst.submit(['-N2', '-n2', '--', 'sh', '-c', 'trap "echo got-usr1-$FRACTAL_TASK_RANK; exit 4" USR1; touch trap-$FRACTAL_JOB_ID-$FRACTAL_TASK_RANK; sleep 30 & wait']);
    await waitFor('both shells to install their traps', () => [0, 1].every((r) => existsSync(join(inst.work, `trap-${id}-${r}`))));
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
