/**
 * Job life cycle: cancel (pending, running, --all, SIGTERM then SIGKILL),
 * time limits, urgency (hold, release, expedite), update, dependencies
 * (RFC 26), begin-time, queue control and resource drain.
 *
 * One instance: 2 brokers with 1 core each, so that a 2-task job fills it and
 * the order in which jobs start is deterministic.
 */
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fractal } from '../src/api/index.js';
import { describeResult, Instance, waitFor } from './helpers.js';

let inst: Instance;
let gates = 0;

/** A job holding every core until its gate file is created. */
async function blocker(): Promise<{ id: number; open: () => Promise<void> }> {
  const gate = `gate-${++gates}`;
  const id = await inst.submit(['-n2', '--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done`]);
  await inst.waitStarted(id);
  return {
    id,
    open: async () => {
      writeFileSync(join(inst.work, gate), '');
      await inst.waitState(id, ['INACTIVE']);
    },
  };
}

/** Jobs waiting in the scheduler's queues (sched.status). */
let schedApi: { inst: Instance; f: Promise<Fractal> } | undefined;
async function schedPending(): Promise<number> {
  if (schedApi?.inst !== inst) schedApi = { inst, f: inst.api() };
  const f = await schedApi.f;
  return (await f.rpc<{ pending: number }>('sched.status', {})).pending;
}

/**
 * Asserts the job stays pending for `reason`, whatever the machine's speed:
 * waits until it is pending with that reason and the scheduler holds
 * `queued` jobs (the job itself, unless it is held or the queue is stopped,
 * when the scheduler is not asked for it), then asks the scheduler once more:
 * by then the cycle that followed the job's arrival has run, so a job that
 * could start has started.
 */
async function staysPending(id: number, reason: RegExp, queued: number): Promise<void> {
  await waitFor(`job ${id} to be pending with reason ${reason}`, async () => {
    const j = await inst.job(id);
    return ['DEPEND', 'PRIORITY', 'SCHED'].includes(j.state) && reason.test(j.reason ?? '');
  });
  await waitFor(`the scheduler to hold ${queued} pending job(s)`, async () => (await schedPending()) === queued);
  assert.equal(await schedPending(), queued, 'the scheduler kept the job(s) after a cycle');
  const j = await inst.job(id);
  assert.ok(['DEPEND', 'PRIORITY', 'SCHED'].includes(j.state), `job ${id} should still be pending: ${JSON.stringify(j)}`);
  assert.match(j.reason ?? '', reason, `reason of job ${id}: ${JSON.stringify(j)}`);
}

void describe('job life cycle', () => {
  before(async () => {
    inst = await Instance.start({ size: 2, coresPerRank: 1 });
  });
  after(async () => {
    await inst.destroy();
  });
  afterEach(async () => {
    // Leave nothing behind for the next test, whatever happened.
    await inst.fractal(['queue', 'start']);
    await inst.fractal(['queue', 'enable']);
    await inst.fractal(['resource', 'undrain', '0-1']);
    await inst.fractal(['cancel', '--all']);
    await inst.fractal(['wait', '--all']);
  });

  void describe('cancel', () => {
    void test('a pending job: CANCELED without ever running', async () => {
      const b = await blocker();
      const id = await inst.submit(['true']);
      await staysPending(id, /resources/, 1);
      const r = await inst.fractal(['cancel', String(id)]);
      assert.equal(r.code, 0, describeResult(r));
      const j = await inst.waitState(id, ['INACTIVE']);
      assert.equal(j.result, 'CANCELED');
      assert.equal(j.exception?.type, 'cancel');
      assert.equal(j.t_run, undefined);
      assert.ok(!(await inst.events(id)).includes('start'));
      await b.open();
    });

    void test('a running job receives SIGTERM and ends CANCELED', async () => {
      const id = await inst.submit(['--', 'sh', '-c', 'trap "echo got-SIGTERM; exit 0" TERM; touch started-$FRACTAL_JOB_ID; while :; do sleep 0.1; done']);
      await waitFor('the job to start', () => existsSync(join(inst.work, `started-${id}`)));
      const r = await inst.fractal(['cancel', '-m', 'no longer needed', String(id)]);
      assert.equal(r.code, 0, describeResult(r));
      const w = await inst.fractal(['wait', String(id)]);
      assert.equal(w.code, 1, describeResult(w));
      const j = await inst.job(id);
      assert.equal(j.result, 'CANCELED');
      assert.equal(j.exception?.type, 'cancel');
      assert.equal(j.exception?.note, 'no longer needed');
      const out = await inst.fractal(['attach', String(id)]);
      assert.match(out.stdout, /got-SIGTERM/, 'the task saw SIGTERM');
    });

    void test('a job that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
      const id = await inst.submit(['--', 'sh', '-c', 'trap "" TERM; touch started-$FRACTAL_JOB_ID; sleep 60']);
      await waitFor('the job to start', () => existsSync(join(inst.work, `started-${id}`)));
      await inst.ok(['cancel', String(id)]);
      const w = await inst.fractal(['wait', String(id)], { timeoutMs: 40000 });
      assert.ok(!w.timedOut, 'the job was killed well before its 60 s sleep ended');
      const j = await inst.job(id);
      assert.equal(j.result, 'CANCELED');
      assert.equal(j.returncode, 137, `SIGKILL ended it: ${JSON.stringify(j)}`);
    });

    void test('cancel --all cancels running and pending jobs', async () => {
      const ids = await inst.submitMany(['--cc=1-3', 'sleep', '30']);
      await inst.waitStarted(ids[0]!);
      const r = await inst.fractal(['cancel', '--all']);
      assert.equal(r.code, 0, describeResult(r));
      assert.match(r.stderr, /canceled 3 job/);
      await inst.fractal(['wait', '--all']);
      for (const id of ids) assert.equal((await inst.job(id)).result, 'CANCELED');
    });
  });

  void describe('time limit', () => {
    void test('-t 1s on sleep 30: TIMEOUT exception, killed within a few seconds', async () => {
      const id = await inst.submit(['-t', '1s', 'sleep', '30']);
      const w = await inst.fractal(['wait', String(id)]);
      assert.equal(w.code, 1, describeResult(w));
      assert.match(w.stderr, /TIMEOUT/);
      const j = await inst.job(id);
      assert.equal(j.result, 'TIMEOUT');
      assert.equal(j.exception?.type, 'timeout');
      assert.ok(j.t_run !== undefined && j.t_inactive !== undefined);
      assert.ok(j.t_inactive - j.t_run < 20, `the job ran ${j.t_inactive - j.t_run}s of its 30 s sleep despite a 1 s limit`);
    });

    void test('run -t reports the timeout and exits non-zero', async () => {
      const r = await inst.fractal(['run', '-t', '0.5s', 'sleep', '30']);
      assert.notEqual(r.code, 0, describeResult(r));
      assert.match(r.stderr, /timeout/i);
    });
  });

  void describe('urgency', () => {
    void test('urgency 0 holds a job; update urgency=16 releases it', async () => {
      const id = await inst.submit(['--urgency', '0', 'true']);
      await staysPending(id, /held/, 0);
      const j = await inst.job(id);
      assert.equal(j.urgency, 0);
      assert.equal(j.priority, 0);
      const table = await inst.ok(['jobs']);
      assert.match(table.stdout, /held/);
      await inst.ok(['update', String(id), 'urgency=16']);
      const w = await inst.fractal(['wait', String(id)]);
      assert.equal(w.code, 0, describeResult(w));
      assert.ok((await inst.events(id)).includes('urgency'));
    });

    void test('update urgency=0 holds a pending job', async () => {
      const b = await blocker();
      const id = await inst.submit(['true']);
      await inst.ok(['update', String(id), 'urgency=0']);
      await b.open();
      await staysPending(id, /held/, 0);
      await inst.ok(['update', String(id), 'urgency=16']);
      await inst.ok(['wait', String(id)]);
    });

    void test('urgency 31 jumps the queue', async () => {
      const b = await blocker();
      const a = await inst.submit(['-n2', 'true']);
      const c = await inst.submit(['-n2', 'true']);
      const x = await inst.submit(['-n2', '--urgency', '31', 'true']);
      await b.open();
      await inst.ok(['wait', '--all']);
      const [ja, jc, jx] = [await inst.job(a), await inst.job(c), await inst.job(x)];
      assert.ok(jx.t_run! < ja.t_run!, `expedited job ${x} started at ${jx.t_run}, before ${a} at ${ja.t_run}`);
      assert.ok(ja.t_run! < jc.t_run!, `then FCFS: ${a} at ${ja.t_run} before ${c} at ${jc.t_run}`);
    });
  });

  void describe('update', () => {
    void test('duration=10m and name= change a pending job', async () => {
      const id = await inst.submit(['--urgency', '0', '-t', '1m', 'true']);
      assert.equal((await inst.job(id)).duration, 60);
      await inst.ok(['update', String(id), 'duration=10m']);
      const info = JSON.parse((await inst.ok(['job', 'info', String(id)])).stdout) as { job: { duration: number }; jobspec: { attributes: { system: { duration: number } } } };
      assert.equal(info.job.duration, 600);
      assert.equal(info.jobspec.attributes.system.duration, 600);
      await inst.ok(['update', String(id), 'name=renamed', 'urgency=20']);
      const j = await inst.job(id);
      assert.equal(j.name, 'renamed');
      assert.equal(j.urgency, 20);
      assert.ok((await inst.events(id)).includes('jobspec-update'));
      await inst.ok(['wait', String(id)]);
      assert.equal((await inst.job(id)).duration, 600, 'the record keeps the updated duration');
    });

    void test('the updated duration is the one enforced', async () => {
      const id = await inst.submit(['--urgency', '0', '-t', '1h', 'sleep', '30']);
      await inst.ok(['update', String(id), 'duration=1s', 'urgency=16']);
      await inst.fractal(['wait', String(id)]);
      assert.equal((await inst.job(id)).result, 'TIMEOUT');
    });

    void test('the duration of a running job cannot be updated', async () => {
      const id = await inst.submit(['sleep', '30']);
      await inst.waitStarted(id);
      const r = await inst.fractal(['update', String(id), 'duration=10m'], { timeoutMs: 10000 });
      assert.ok(!r.timedOut, `fractal update hung: ${describeResult(r)}`);
      assert.notEqual(r.code, 0, describeResult(r));
      assert.match(r.stderr, /pending/);
    });
  });

  void describe('dependencies', () => {
    void test('afterok, afternotok, afterany and after on running jobs', async () => {
      const gate = 'gate-deps';
      const tFail = await inst.submit(['--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done; exit 1`]);
      const tOk = await inst.submit(['--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done`]);
      await inst.waitStarted(tFail);
      await inst.waitStarted(tOk);
      const okOnFail = await inst.submit(['--dependency', `afterok:${tFail}`, 'true']);
      const notokOnFail = await inst.submit(['--dependency', `afternotok:${tFail}`, 'true']);
      const anyOnFail = await inst.submit(['--dependency', `afterany:${tFail}`, 'true']);
      const okOnOk = await inst.submit(['--dependency', `afterok:${tOk}`, 'true']);
      const notokOnOk = await inst.submit(['--dependency', `afternotok:${tOk}`, 'true']);
      const afterOk = await inst.submit(['--dependency', `after:${tOk}`, 'true']);
      const both = await inst.submit(['--dependency', `afterany:${tFail},afterok:${tOk}`, 'true']);
      for (const id of [okOnFail, notokOnFail, anyOnFail, okOnOk, notokOnOk, both]) {
        const j = await inst.job(id);
        assert.equal(j.state, 'DEPEND', `job ${id} waits for its dependency: ${JSON.stringify(j)}`);
        assert.match(j.reason ?? '', /dependency/);
      }
      // `after` is satisfied once the target has started.
      assert.notEqual((await inst.job(afterOk)).state, 'DEPEND');
      writeFileSync(join(inst.work, gate), '');
      const w = await inst.fractal(['wait', '--all']);
      assert.ok(!w.timedOut, describeResult(w));
      const result = async (id: number) => {
        const j = await inst.job(id);
        return `${j.result}${j.exception ? ` ${j.exception.type}` : ''}`;
      };
      assert.equal(await result(tFail), 'FAILED');
      assert.equal(await result(tOk), 'COMPLETED');
      assert.equal(await result(okOnFail), 'FAILED dependency', 'afterok on a failed job');
      assert.equal(await result(notokOnFail), 'COMPLETED', 'afternotok on a failed job');
      assert.equal(await result(anyOnFail), 'COMPLETED', 'afterany on a failed job');
      assert.equal(await result(okOnOk), 'COMPLETED', 'afterok on a completed job');
      assert.equal(await result(notokOnOk), 'FAILED dependency', 'afternotok on a completed job');
      assert.equal(await result(afterOk), 'COMPLETED', 'after on a started job');
      assert.equal(await result(both), 'COMPLETED', 'two dependencies');
      // A job with an unsatisfiable dependency never ran.
      assert.ok(!(await inst.events(okOnFail)).includes('start'));
      assert.ok(!(await inst.events(okOnFail)).includes('alloc'));

      // Dependencies on jobs that are already inactive are decided at once.
      const late1 = await inst.submit(['--dependency', `afterok:${tOk}`, 'true']);
      const late2 = await inst.submit(['--dependency', `afterok:${tFail}`, 'true']);
      await inst.fractal(['wait', '--all']);
      assert.equal(await result(late1), 'COMPLETED');
      assert.equal(await result(late2), 'FAILED dependency');
    });

    void test('a canceled target: afterok fails, afterany runs', async () => {
      const b = await blocker();
      const target = await inst.submit(['true']);
      const ok = await inst.submit(['--dependency', `afterok:${target}`, 'true']);
      const any = await inst.submit(['--dependency', `afterany:${target}`, 'true']);
      await inst.ok(['cancel', String(target)]);
      await b.open();
      await inst.fractal(['wait', '--all']);
      assert.equal((await inst.job(ok)).exception?.type, 'dependency');
      assert.equal((await inst.job(any)).result, 'COMPLETED');
    });
  });

  void describe('begin-time', () => {
    void test('--begin-time=+15s: pending until then, then runs', async () => {
      // Far enough ahead that the listing below comes before it on a busy machine.
      const id = await inst.submit(['--begin-time=+15s', 'true']);
      const j = await inst.job(id);
      assert.equal(j.state, 'DEPEND');
      assert.match(j.reason ?? '', /begin-time/);
      await inst.ok(['wait', String(id)]);
      const done = await inst.job(id);
      assert.equal(done.result, 'COMPLETED');
      assert.ok(done.t_run! - done.t_submit >= 14.5, `started ${done.t_run! - done.t_submit}s after submit, before its begin time`);
    });

    void test('a begin time in the past does not delay the job', async () => {
      const id = await inst.submit([`--begin-time=${Math.floor(Date.now() / 1000) - 3600}`, 'true']);
      const w = await inst.fractal(['wait', String(id)]);
      assert.equal(w.code, 0, describeResult(w));
    });
  });

  void describe('queue control', () => {
    void test('queue stop: new jobs stay pending; queue start: they run', async () => {
      const r = await inst.ok(['queue', 'stop']);
      assert.match(r.stdout, /Scheduling is stopped/);
      const id = await inst.submit(['true']);
      await staysPending(id, /queue stopped/, 0);
      const st = await inst.ok(['queue', 'status']);
      assert.match(st.stdout, /Scheduling is stopped/);
      assert.match(st.stdout, /1 pending, 0 running/);
      const s = await inst.ok(['queue', 'start']);
      assert.match(s.stdout, /Scheduling is started/);
      const w = await inst.fractal(['wait', String(id)]);
      assert.equal(w.code, 0, describeResult(w));
    });

    void test('queue disable: submissions are rejected with the reason; enable: accepted again', async () => {
      const r = await inst.ok(['queue', 'disable', 'maintenance', 'window']);
      assert.match(r.stdout, /disabled: maintenance window/);
      const s = await inst.fractal(['submit', 'true']);
      assert.notEqual(s.code, 0, describeResult(s));
      assert.match(s.stderr, /disabled.*maintenance window/);
      const st = await inst.ok(['queue', 'status']);
      assert.match(st.stdout, /Job submission is disabled: maintenance window/);
      await inst.ok(['queue', 'enable']);
      const id = await inst.submit(['true']);
      await inst.ok(['wait', String(id)]);
    });

    void test('queue disable: run is rejected too, with the reason', async () => {
      await inst.ok(['queue', 'disable', 'maintenance']);
      const r = await inst.fractal(['run', 'true'], { timeoutMs: 10000 });
      assert.ok(!r.timedOut, `fractal run hung: ${describeResult(r)}`);
      assert.notEqual(r.code, 0, describeResult(r));
      assert.match(r.stderr, /disabled.*maintenance/);
    });

    void test('queue drain returns once no job is active', async () => {
      const a = await inst.submit(['sleep', '1']);
      const b = await inst.submit(['--dependency', `afterany:${a}`, 'true']);
      const r = await inst.fractal(['queue', 'drain']);
      assert.equal(r.code, 0, describeResult(r));
      assert.equal((await inst.job(a)).state, 'INACTIVE');
      assert.equal((await inst.job(b)).state, 'INACTIVE');
    });

    void test('queue idle returns once no job is running, even with held jobs pending', async () => {
      const held = await inst.submit(['--urgency', '0', 'true']);
      const a = await inst.submit(['sleep', '1']);
      const r = await inst.fractal(['queue', 'idle']);
      assert.equal(r.code, 0, describeResult(r));
      assert.equal((await inst.job(a)).state, 'INACTIVE');
      assert.equal((await inst.job(held)).state, 'SCHED');
    });
  });

  void describe('resources', () => {
    void test('resource list and status describe the instance', async () => {
      const list = await inst.ok(['resource', 'list']);
      const lines = list.stdout.trim().split('\n');
      assert.match(lines[0] ?? '', /STATE\s+NNODES\s+NCORES\s+FREE\s+NGPUS\s+NODELIST/);
      assert.match(lines[1] ?? '', /^\s*free\s+2\s+2\s+2\s+0\s+\S+/);
      const status = await inst.ok(['resource', 'status']);
      assert.match(status.stdout, /^\s*avail\s+2\s+0-1\b/m);
    });

    void test('resource drain 0: jobs that need it stay pending; undrain: they run', async () => {
      const r = await inst.fractal(['resource', 'drain', '0', 'bad', 'fan']);
      assert.equal(r.code, 0, describeResult(r));
      assert.match(r.stderr, /drained rank\(s\) 0/);
      const status = await inst.ok(['resource', 'status']);
      assert.match(status.stdout, /^\s*drained\s+1\s+0\s+bad fan$/m);
      assert.match(status.stdout, /^\s*avail\s+1\s+1\b/m);
      const list = await inst.ok(['resource', 'list']);
      assert.match(list.stdout, /^\s*drained\s+1\s+/m);
      // A one-core job still runs, on the other rank.
      const narrow = await inst.submit(['-n1', 'true']);
      await inst.ok(['wait', String(narrow)]);
      const R = JSON.parse((await inst.ok(['job', 'info', String(narrow), 'R'])).stdout) as { execution: { R_lite: Array<{ rank: string }> } };
      assert.deepEqual(R.execution.R_lite.map((e) => e.rank), ['1']);
      // A job that needs both nodes waits.
      const wide = await inst.submit(['-N2', '-n2', 'true']);
      await staysPending(wide, /resources/, 1);
      await inst.ok(['resource', 'undrain', '0']);
      const w = await inst.fractal(['wait', String(wide)]);
      assert.equal(w.code, 0, describeResult(w));
    });

    void test('resource drain of every rank: everything stays pending', async () => {
      await inst.ok(['resource', 'drain', '0-1']);
      const id = await inst.submit(['true']);
      await staysPending(id, /resources/, 1);
      await inst.ok(['resource', 'undrain', '0-1']);
      await inst.ok(['wait', String(id)]);
    });
  });
});

void describe('configurable kill grace', () => {
  void test('-o exec.kill-grace=1s: a job ignoring SIGTERM past its time limit is killed about a second later', async () => {
    const inst = await Instance.start({ coresPerRank: 1, extraArgs: ['-o', 'exec.kill-grace=1s'] });
    try {
      const id = await inst.submit(['-t', '1s', '--', 'sh', '-c', 'trap "" TERM; sleep 60']);
      await inst.fractal(['wait', String(id)], { timeoutMs: 30000 });
      const j = await inst.job(id);
      assert.equal(j.result, 'TIMEOUT');
      assert.equal(j.returncode, 137, 'SIGKILL ended it');
      // Limit 1 s + grace 1 s (the default grace alone is 5 s).
      assert.ok(j.t_inactive! - j.t_run! < 4.5, `ran ${j.t_inactive! - j.t_run!} s`);
    } finally {
      await inst.destroy();
    }
  });
});
