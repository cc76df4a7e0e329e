/**
 * The reservation-making policies (conservative, hybrid) and the age and size
 * factors of multifactor priority, with real brokers and jobs.
 *
 * One rank with two cores: A (1 core, limit 5 min) runs; B and C (2 cores,
 * 1 min each) must wait; D (1 core, 1 h) would fit now but would delay them.
 * A's limit is long so that it still runs while the test looks, however slow
 * the machine; it is killed when the instance is destroyed.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { jobspecFromCommand } from '../src/jobspec/index.js';
import { Instance, waitFor } from './helpers.js';

async function queueOfThree(inst: Instance): Promise<{ a: number; b: number; c: number; d: number }> {
  const a = await inst.submit(['-n1', '-t', '5m', 'sleep', '600']);
  await inst.waitState(a, ['RUN']);
  const b = await inst.submit(['-n2', '-t', '1m', 'true']);
  const c = await inst.submit(['-n2', '-t', '1m', 'true']);
  const d = await inst.submit(['-n1', '-t', '1h', 'true']);
  return { a, b, c, d };
}

void describe('reservation-making policies in the broker', () => {
  void test('conservative: every blocked job gets a reservation, one after the other', async () => {
    const inst = await Instance.start({ coresPerRank: 2, extraArgs: ['-o', 'sched.policy=conservative'] });
    try {
      const { a, b, c, d } = await queueOfThree(inst);
      const jd = await waitFor('D to get its estimate', async () => {
        const j = await inst.job(d);
        return j.t_estimate !== undefined ? j : undefined;
      });
      const tA = (await inst.job(a)).t_run! + 300;
      const [jb, jc] = [await inst.job(b), await inst.job(c)];
      // A's start as the scheduler saw it and as the job manager recorded it
      // differ by the messages between them (seconds on a busy machine); the
      // reservations follow each other exactly.
      assert.ok(Math.abs(jb.t_estimate! - tA) < 10, `B at A's end: ${jb.t_estimate} vs ${tA}`);
      assert.ok(Math.abs(jc.t_estimate! - (jb.t_estimate! + 60)) < 0.01, `C after B: ${jc.t_estimate} vs ${jb.t_estimate! + 60}`);
      assert.ok(Math.abs(jd.t_estimate! - (jc.t_estimate! + 60)) < 0.01, `D after C: ${jd.t_estimate} vs ${jc.t_estimate! + 60}`);
      assert.equal(jd.state, 'SCHED');
    } finally {
      await inst.destroy();
    }
  });

  void test('hybrid with a reservation depth of 1: only the first blocked job gets an estimate', async () => {
    const inst = await Instance.start({ coresPerRank: 2, extraArgs: ['-o', 'sched.policy=hybrid', '-o', 'sched.reservation-depth=1'] });
    try {
      const { b, c, d } = await queueOfThree(inst);
      await waitFor('B to get its estimate', async () => (await inst.job(b)).t_estimate !== undefined);
      await waitFor('D to be explained', async () => (await inst.job(d)).reason === 'reservation');
      assert.equal((await inst.job(c)).t_estimate, undefined);
      assert.equal((await inst.job(c)).reason, 'resources');
    } finally {
      await inst.destroy();
    }
  });
});

void describe('multifactor priority: age and size', () => {
  void test('a pending job gains priority as it waits (age); a bigger job outranks a smaller one (size)', async () => {
    const inst = await Instance.start({
      coresPerRank: 2,
      extraArgs: ['-o', 'priority=multifactor', '-o', 'priority.interval=0.3', '-o', 'priority.max-age=10s',
        '-o', 'priority.weight.fairshare=0', '-o', 'priority.weight.urgency=0', '-o', 'priority.weight.qos=0', '-o', 'priority.weight.size=500', '-o', 'priority.weight.age=1000'],
    });
    try {
      const blocker = await inst.submit(['-n2', 'sleep', '600']);
      await inst.waitState(blocker, ['RUN']);
      // Submitted back to back on one connection and listed together, so that
      // their ages differ by milliseconds however slow the machine.
      const f = await inst.api();
      const spec = (ntasks: number) => jobspecFromCommand(['true'], { ntasks }, { cwd: inst.work, environment: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } });
      const [small, big] = await Promise.all([f.submit(spec(1)), f.submit(spec(2))]);
      // Priorities are recomputed every 0.3 s; wait for the size factor to show.
      let p0 = 0;
      await waitFor('the 2-core job to outrank the 1-core job by its size factor', async () => {
        const listed = await f.list({ ids: [small, big] });
        p0 = listed.find((j) => j.id === small)!.priority;
        const pBig = listed.find((j) => j.id === big)!.priority;
        // Size: 500 x (2 cores / 2) against 500 x (1 / 2), at the same age.
        return pBig - p0 >= 200;
      });
      await waitFor('the small job to age', async () => (await inst.job(small)).priority >= p0 + 100);
      const log = (await inst.ok(['job', 'eventlog', String(small)])).stdout;
      assert.ok(log.split('\n').filter((l) => / priority /.test(l)).length >= 2, 'the recomputed priorities are priority events');
      await inst.ok(['cancel', String(blocker), String(small), String(big)]);
    } finally {
      await inst.destroy();
    }
  });
});
