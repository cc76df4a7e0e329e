/**
 * Crash safety: kill -9 the rank-0 broker of a daemon and start it again on
 * the same state directory. Running jobs keep running (their executor
 * outlives the broker) and are re-attached, finishing with their real exit
 * codes; pending jobs stay pending and then run; finished jobs keep their
 * records and output. A clean shutdown keeps pending jobs too.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isExecutorCmd, describeResult, Instance, isAlive, processesMatching, waitFor } from './helpers.js';

/** kill -9 the rank-0 broker and wait until it is gone. */
async function crash(inst: Instance): Promise<number> {
  const pid = await inst.brokerPid();
  process.kill(pid, 'SIGKILL');
  await waitFor(`broker ${pid} to die`, () => !isAlive(pid), 10000, 20);
  return pid;
}

function executorPids(inst: Instance): number[] {
  return inst.processes().filter((p) => isExecutorCmd(p.cmdline)).map((p) => p.pid).sort();
}

void describe('kill -9 of the broker with running and pending jobs', () => {
  let inst: Instance;
  let running: number[];
  let pending: number[];
  let executors: number[];
  // The running jobs end (exit 7) only when the test creates this file, so
  // that they are still running across the crash however slow the machine is.
  const gate = 'gate-crash';

  before(async () => {
    inst = await Instance.start({ size: 1, coresPerRank: 2 });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('set-up: 2 jobs running, 20 pending', async () => {
    running = await inst.submitMany(['--cc=1-2', '--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done; exit 7`]);
    pending = await inst.submitMany(['--cc=1-20', 'true']);
    assert.equal(running.length, 2);
    assert.equal(pending.length, 20);
    for (const id of running) await inst.waitStarted(id);
    const jobs = await inst.jobs([]);
    assert.equal(jobs.filter((j) => j.state === 'RUN').length, 2);
    assert.equal(jobs.filter((j) => j.state === 'SCHED').length, 20);
    executors = executorPids(inst);
    assert.equal(executors.length, 1, 'one executor runs the shells');
  });

  void test('kill -9 the broker: the executor and the job processes survive', async () => {
    await crash(inst);
    assert.deepEqual(executorPids(inst), executors, 'the executor outlived its broker');
    const r = await inst.fractal(['jobs'], { timeoutMs: 10000 });
    assert.notEqual(r.code, 0, 'nobody answers while the broker is down');
  });

  void test('restart on the same state directory: the same executor still runs the 2 jobs', async () => {
    const uri = await inst.startDaemon();
    assert.ok(uri.includes(inst.state));
    const jobs = await inst.jobs([]);
    assert.deepEqual(jobs.filter((j) => j.state === 'RUN').map((j) => j.id).sort((a, b) => a - b), running);
    assert.deepEqual(executorPids(inst), executors, 'the executor that ran the jobs before the crash still runs them');
  });

  void test('wait --all: every job is there with its real result', async () => {
    // Register the wait before the jobs can end: a later call on the same
    // connection is answered after the wait has been taken in.
    const f = await inst.api();
    const all = f.waitAll();
    await f.list();
    writeFileSync(join(inst.work, gate), '');
    const res = await all;
    assert.equal(res.failed, 2, `the 2 jobs that exit 7 failed, the 20 others completed: ${JSON.stringify(res)}`);
    assert.deepEqual((res.jobs ?? []).map((j) => [j.id, j.returncode]).sort((a, b) => a[0]! - b[0]!), running.map((id) => [id, 7]), 'the failures are the 2 running jobs, with their real exit code');
    const jobs = await inst.jobs(['-a']);
    assert.equal(jobs.length, 22, `all 22 jobs are listed: ${JSON.stringify(jobs.map((j) => j.id))}`);
    for (const id of running) {
      const j = jobs.find((x) => x.id === id);
      assert.ok(j, `job ${id} is listed`);
      assert.equal(j.state, 'INACTIVE');
      assert.equal(j.result, 'FAILED');
      assert.equal(j.returncode, 7, `job ${id} finished with its real exit code: ${JSON.stringify(j)}`);
    }
    for (const id of pending) {
      const j = jobs.find((x) => x.id === id);
      assert.equal(j?.result, 'COMPLETED', `job ${id}: ${JSON.stringify(j)}`);
    }
  });

  void test('the running jobs were re-attached, not restarted: one start event each', async () => {
    for (const id of running) {
      const names = await inst.events(id);
      assert.equal(names.filter((n) => n === 'start').length, 1, `job ${id}: ${names.join(' ')}`);
      assert.deepEqual(names.slice(-4), ['finish', 'release', 'free', 'clean']);
      const log = (await inst.ok(['job', 'eventlog', String(id)])).stdout;
      assert.match(log, /finish status=1792/, 'exit 7 as a wait status');
    }
  });

  void test('new jobs get new ids after the restart (no id is reused)', async () => {
    const id = await inst.submit(['true']);
    assert.ok(id > Math.max(...running, ...pending), `new id ${id}`);
    await inst.ok(['wait', String(id)]);
  });
});

void describe('kill -9 of the broker after jobs finished', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({ size: 1, coresPerRank: 2 });
  });
  after(async () => {
    await inst.destroy();
  });

  void test("a finished job's record and output survive kill -9 and restart", async () => {
    const ok = await inst.submit(['--', 'sh', '-c', 'echo persisted-output; echo persisted-error >&2']);
    const bad = await inst.submit(['sh', '-c', 'exit 3']);
    await inst.ok(['wait', String(ok)]);
    await inst.fractal(['wait', String(bad)]);
    const before = (await inst.ok(['job', 'eventlog', String(ok)])).stdout;
    // Kill at once: the end of the job must already be durable.
    await crash(inst);
    await inst.startDaemon();
    const jobs = await inst.jobs(['-a']);
    const jok = jobs.find((j) => j.id === ok);
    const jbad = jobs.find((j) => j.id === bad);
    assert.equal(jok?.result, 'COMPLETED', JSON.stringify(jok));
    assert.equal(jok?.returncode, 0);
    assert.equal(jbad?.result, 'FAILED', JSON.stringify(jbad));
    assert.equal(jbad?.returncode, 3);
    const after = (await inst.ok(['job', 'eventlog', String(ok)])).stdout;
    assert.equal(after, before, 'the event log is unchanged');
    const a = await inst.fractal(['attach', String(ok)]);
    assert.equal(a.code, 0, describeResult(a));
    assert.equal(a.stdout, 'persisted-output\n');
    assert.match(a.stderr, /persisted-error/);
  });

  void test('a job submitted just before the crash is not lost', async () => {
    await inst.ok(['queue', 'stop']);
    const id = await inst.submit(['true']);
    await crash(inst);
    await inst.startDaemon();
    const j = await inst.job(id);
    assert.equal(j.state, 'SCHED', `the acknowledged submission survived: ${JSON.stringify(j)}`);
    await inst.ok(['queue', 'start']);
    await inst.ok(['wait', String(id)]);
  });

  void test('a job that finishes while the broker is down is collected after the restart', async () => {
    const gate = 'gate-finish-while-down';
    const id = await inst.submit(['--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done; exit 5`]);
    await inst.waitStarted(id);
    await crash(inst);
    // Let it end while nobody is listening: its shell is gone (reaped by the executor) before the restart.
    writeFileSync(join(inst.work, gate), '');
    await waitFor('the job\'s task to exit', () => processesMatching(gate).length === 0, 30000, 50);
    await inst.startDaemon();
    const w = await inst.fractal(['wait', String(id)]);
    assert.equal(w.code, 1, describeResult(w));
    const j = await inst.job(id);
    assert.equal(j.returncode, 5, JSON.stringify(j));
    const names = await inst.events(id);
    assert.equal(names.filter((n) => n === 'start').length, 1, names.join(' '));
  });
});

void describe('clean shutdown with pending jobs', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({ size: 2, coresPerRank: 1 });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('pending jobs stay pending across shutdown and restart, then run', async () => {
    const held = await inst.submit(['--urgency', '0', 'true']);
    const later = await inst.submit(['--begin-time=+1h', 'true']);
    const gate = await inst.submit(['--urgency', '0', 'true']);
    const dep = await inst.submit(['--dependency', `afterok:${gate}`, 'true']);
    const before = new Map((await inst.jobs([])).map((j) => [j.id, j]));
    assert.equal(before.get(held)?.state, 'SCHED');
    assert.equal(before.get(later)?.state, 'DEPEND');
    assert.equal(before.get(dep)?.state, 'DEPEND');

    const r = await inst.fractal(['shutdown']);
    assert.equal(r.code, 0, describeResult(r));
    await waitFor('the instance to stop', () => inst.processes().length === 0, 15000);
    await inst.startDaemon();

    const after = new Map((await inst.jobs([])).map((j) => [j.id, j]));
    for (const id of [held, later, gate, dep]) {
      const a = before.get(id)!;
      const b = after.get(id);
      assert.ok(b, `job ${id} is still listed`);
      assert.equal(b.state, a.state, `job ${id} state`);
      assert.equal(b.urgency, a.urgency, `job ${id} urgency`);
      assert.deepEqual(b.dependencies, a.dependencies, `job ${id} dependencies`);
    }
    // Released, they run; the dependency is still honoured.
    await inst.ok(['update', String(held), 'urgency=16']);
    await inst.ok(['update', String(gate), 'urgency=16']);
    await inst.ok(['wait', String(dep)]);
    assert.equal((await inst.job(held)).result, 'COMPLETED');
    assert.equal((await inst.job(dep)).result, 'COMPLETED');
    assert.equal((await inst.job(later)).state, 'DEPEND', 'the begin time is an hour away');
    await inst.ok(['cancel', String(later)]);
  });

  void test('queue and drain settings survive a restart', async () => {
    await inst.ok(['queue', 'disable', 'closed', 'for', 'repairs']);
    await inst.ok(['resource', 'drain', '1', 'bad', 'disk']);
    await inst.ok(['shutdown']);
    await waitFor('the instance to stop', () => inst.processes().length === 0, 15000);
    await inst.startDaemon();
    const q = await inst.ok(['queue', 'status']);
    assert.match(q.stdout, /disabled: closed for repairs/);
    const s = await inst.ok(['resource', 'status']);
    assert.match(s.stdout, /drained\s+1\s+1\s+bad disk/);
    await inst.ok(['queue', 'enable']);
    await inst.ok(['resource', 'undrain', '1']);
  });
});
