/**
 * A nested instance killed with SIGKILL (its rank-0 broker, found by the pid
 * its URI answers with): the jobs that reached its store are archived into
 * the parent, a job it was still running is archived as `lost`; and a child
 * that ends while its parent's broker is down (kill -9, then restarted) is
 * archived once the parent is back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Instance, isAlive, waitFor } from '../helpers.js';
import { NESTED_TIMEOUT_MS, batch, childBrokerPid, pathJobs, paths, waitArchived, waitFile } from '../nested.js';

void test('a child killed with SIGKILL: the jobs in its store are archived, a running one as lost', { timeout: 600_000 }, async () => {
  const inst = await Instance.start({ coresPerRank: 2 });
  try {
    const w = inst.work;
    const id = await batch(inst, `fractal submit --cc=1-4 true >/dev/null && fractal wait --all && fractal submit sleep 600 >/dev/null && touch ${w}/ready && sleep 600`);
    await waitFile(inst, 'ready');
    await waitFor('job 1/5 to run', async () => (await pathJobs(inst, ['-R'])).some((j) => j.path === '1/5' && j.state === 'RUN'), NESTED_TIMEOUT_MS, 200);
    const pid = await childBrokerPid(inst, id);
    process.kill(pid, 'SIGKILL');
    await waitFor(`the child's broker (pid ${pid}) to die`, () => !isAlive(pid), 30_000);
    const parent = await inst.waitState(id, ['INACTIVE'], NESTED_TIMEOUT_MS);
    assert.equal(parent.result, 'FAILED');
    await waitArchived(inst, id);
    const all = await pathJobs(inst, ['-a', '-R']);
    assert.deepEqual(paths(all), ['1', '1/1', '1/2', '1/3', '1/4', '1/5']);
    for (const p of ['1/1', '1/2', '1/3', '1/4']) assert.equal(all.find((j) => j.path === p)?.result, 'COMPLETED', p);
    const lost = all.find((j) => j.path === '1/5')!;
    assert.equal(lost.state, 'INACTIVE');
    assert.equal(lost.result, 'FAILED');
    assert.equal(lost.exception?.type, 'lost');
    assert.match(lost.exception?.note ?? '', /after the job.s "start" event/);
    const info = JSON.parse((await inst.ok(['job', 'info', '1/5', 'job'])).stdout) as { name: string };
    assert.equal(info.name, 'sleep');
  } finally {
    await inst.destroy();
  }
});

void test('a child that ends while its parent is down is archived when the parent is back', { timeout: 600_000 }, async () => {
  const inst = await Instance.start({ coresPerRank: 2 });
  try {
    const w = inst.work;
    const id = await batch(inst, `fractal submit --cc=1-2 true >/dev/null && fractal wait --all && touch ${w}/ready && while [ ! -e ${w}/go ]; do sleep 0.2; done`);
    await waitFile(inst, 'ready');
    const root = await inst.brokerPid();
    process.kill(root, 'SIGKILL');
    await waitFor('the parent broker to die', () => !isAlive(root), 30_000);
    // The child ends while nobody can archive it.
    writeFileSync(join(w, 'go'), '');
    await inst.startDaemon();
    await inst.waitState(id, ['INACTIVE'], NESTED_TIMEOUT_MS);
    await waitArchived(inst, id);
    assert.deepEqual(paths(await pathJobs(inst, ['-a', '-R'])), ['1', '1/1', '1/2']);
  } finally {
    await inst.destroy();
  }
});
