/**
 * The TypeScript API against a real instance: connect, submit a jobspec
 * built with jobspecFromCommand, watch a job's events, the journal (backlog,
 * sentinel, live), list filters, wait / waitAll, cancel, urgency, update,
 * output, and errors with stable codes.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Fractal, type JobEvent } from '../src/api/index.js';
import { jobspecFromCommand, type Jobspec } from '../src/jobspec/index.js';
import { Instance, waitFor } from './helpers.js';

let inst: Instance;
let f: Fractal;

/** A jobspec for `command` that runs in the instance's work directory with this PATH. */
function spec(command: string[], shape: Parameters<typeof jobspecFromCommand>[1] = {}, extra: Record<string, unknown> = {}): Jobspec {
  return jobspecFromCommand(command, shape, { cwd: inst.work, environment: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, ...extra });
}

void describe('TypeScript API', () => {
  before(async () => {
    inst = await Instance.start({ size: 2, coresPerRank: 1 });
    f = await inst.api();
  });
  after(async () => {
    await inst.destroy();
  });

  void test('connect(uri) and broker.info', async () => {
    assert.equal(f.uri, inst.uri);
    const info = await f.rpc<{ rank: number; size: number; pid: number }>('broker.info', {}, 0);
    assert.equal(info.rank, 0);
    assert.equal(info.size, 2);
    const r1 = await f.rpc<{ rank: number }>('broker.info', {}, 1);
    assert.equal(r1.rank, 1, 'a request addressed to rank 1 is routed there');
  });

  void test('connect to an address where nobody listens: ECONN with a hint', async () => {
    await assert.rejects(connect(`local://${inst.root}/nobody.sock`), (e: { code?: string; message?: string }) => {
      assert.equal(e.code, 'ECONN');
      assert.match(e.message ?? '', /cannot connect.*Is the instance running/);
      return true;
    });
  });

  void test('submit a jobspec from jobspecFromCommand, watch its events until clean, wait', async () => {
    const id = await f.submit(spec(['sh', '-c', 'echo api-$FRACTAL_JOB_ID-$FRACTAL_TASK_RANK; sleep 0.2'], { ntasks: 2 }));
    assert.ok(Number.isInteger(id) && id > 0);
    const events: JobEvent[] = [];
    await f.watch(id, (ev) => events.push(ev));
    const names = events.map((e) => e.name);
    assert.deepEqual(names, ['submit', 'validate', 'depend', 'priority', 'alloc', 'start', 'finish', 'release', 'free', 'clean']);
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.timestamp >= events[i - 1]!.timestamp, 'timestamps never go back');
    assert.equal(events.find((e) => e.name === 'finish')?.context?.['status'], 0);
    const w = await f.wait(id);
    assert.deepEqual(w, { id, success: true, result: 'COMPLETED', returncode: 0, errstr: '' });
    const chunks: string[] = [];
    await f.output(id, (c) => chunks.push(c.data), false);
    assert.deepEqual(chunks.join('').trim().split('\n').sort(), [`api-${id}-0`, `api-${id}-1`]);
    const info = await f.info(id);
    assert.equal(info.job.id, id);
    assert.equal(info.job.state, 'INACTIVE');
    assert.deepEqual((info.jobspec as Jobspec).tasks[0]?.command, ['sh', '-c', 'echo api-$FRACTAL_JOB_ID-$FRACTAL_TASK_RANK; sleep 0.2']);
    assert.ok(info.R);
  });

  void test('watch without follow returns the log so far', async () => {
    const id = await f.submit(spec(['true']), { urgency: 0 });
    const names: string[] = [];
    await f.watch(id, (ev) => names.push(ev.name), false);
    assert.deepEqual(names, ['submit', 'validate', 'depend', 'priority']);
    await f.cancel([id]);
    await f.wait(id);
  });

  void test('a failing job: wait reports the result and the exit code', async () => {
    const id = await f.submit(spec(['sh', '-c', 'sleep 0.2; exit 6']));
    const w = await f.wait(id);
    assert.equal(w.success, false);
    assert.equal(w.result, 'FAILED');
    assert.equal(w.returncode, 6);
    assert.match(w.errstr, /6/);
  });

  void test('journal: the backlog, then the sentinel {id: -1}, then live events', async () => {
    const before = await f.submit(spec(['sleep', '0.2']));
    await f.wait(before);
    const j = await connect(inst.uri);
    const seen: Array<{ id: number; name: string | undefined }> = [];
    const stream = j.journal((id, ev) => seen.push({ id, name: ev?.name }));
    stream.catch(() => { /* ends when the connection is closed */ });
    await waitFor('the sentinel', () => seen.some((s) => s.id === -1), 10000, 20);
    const sentinel = seen.findIndex((s) => s.id === -1);
    assert.equal(seen.filter((s) => s.id === -1).length, 1, 'exactly one sentinel');
    const backlog = seen.slice(0, sentinel);
    assert.deepEqual(backlog.filter((s) => s.id === before).map((s) => s.name), ['submit', 'validate', 'depend', 'priority', 'alloc', 'start', 'finish', 'release', 'free', 'clean']);
    assert.ok(backlog.every((s) => s.id > 0 && s.name), 'backlog entries are job events');

    const live = await f.submit(spec(['sleep', '0.2']));
    await f.wait(live);
    await waitFor('the live events of the new job', () => seen.some((s) => s.id === live && s.name === 'clean'), 10000, 20);
    const after = seen.slice(sentinel + 1);
    assert.deepEqual(after.filter((s) => s.id === live).map((s) => s.name), ['submit', 'validate', 'depend', 'priority', 'alloc', 'start', 'finish', 'release', 'free', 'clean']);
    assert.ok(!seen.slice(0, sentinel).some((s) => s.id === live), 'the new job is not in the backlog');
    j.close();
  });

  void test('journal without backlog: the sentinel first', async () => {
    const j = await connect(inst.uri);
    const seen: number[] = [];
    j.journal((id) => seen.push(id), false).catch(() => { /* closed below */ });
    await waitFor('the sentinel', () => seen.length > 0, 10000, 20);
    assert.equal(seen[0], -1);
    j.close();
  });

  void test('list filters: states, ids, limit, userid', async () => {
    const held = await f.submit(spec(['true']), { urgency: 0 });
    const done = await f.submit(spec(['true']));
    await f.wait(done);
    const pending = await f.list({ states: ['pending'] });
    assert.ok(pending.some((j) => j.id === held));
    assert.ok(pending.every((j) => ['DEPEND', 'PRIORITY', 'SCHED'].includes(j.state)));
    const sched = await f.list({ states: ['sched'] });
    assert.ok(sched.some((j) => j.id === held));
    const inactive = await f.list({ states: ['inactive'] });
    assert.ok(inactive.some((j) => j.id === done));
    assert.ok(!inactive.some((j) => j.id === held));
    const active = await f.list();
    assert.ok(active.some((j) => j.id === held) && !active.some((j) => j.id === done), 'the default is active jobs');
    const byId = await f.list({ states: ['all'], ids: [done, held] });
    assert.deepEqual(byId.map((j) => j.id).sort((a, b) => a - b), [done, held].sort((a, b) => a - b));
    const limited = await f.list({ states: ['all'], limit: 2 });
    assert.equal(limited.length, 2);
    const mine = await f.list({ states: ['all'], userid: process.getuid?.() ?? 0 });
    assert.ok(mine.some((j) => j.id === done));
    const others = await f.list({ states: ['all'], userid: 4242424 });
    assert.equal(others.length, 0);
    await assert.rejects(f.list({ states: ['bogus'] }), /unknown job state "bogus"/);
    await f.cancel([held]);
  });

  void test('urgency and update on a pending job', async () => {
    const id = await f.submit(spec(['sleep', '30']), { urgency: 0 });
    const u = await f.urgency(id, 5);
    assert.equal(u.old_urgency, 0);
    await f.cancel([id]);
    const id2 = await f.submit(spec(['sleep', '0.2'], {}, { duration: 60 }), { urgency: 0 });
    await f.update(id2, { duration: 120, name: 'api-renamed' });
    const info = await f.info(id2);
    assert.equal(info.job.duration, 120);
    assert.equal(info.job.name, 'api-renamed');
    await f.urgency(id2, 16);
    const w = await f.wait(id2);
    assert.equal(w.result, 'COMPLETED');
  });

  void test('cancel and waitAll', async () => {
    await f.waitAll(); // reaps the failures of earlier tests: each failed result is reported once
    const a = await f.submit(spec(['sleep', '30']));
    const b = await f.submit(spec(['sh', '-c', 'sleep 0.5; exit 1']));
    const all = f.waitAll();
    const c = await f.cancel([a], 'api cancel');
    assert.deepEqual(c, { canceled: 1 });
    const r = await all;
    assert.equal(r.failed, 2, 'the canceled job and the failed one');
    assert.deepEqual(r.jobs?.map((j) => j.id), [a, b]);
    const wa = await f.wait(a);
    assert.equal(wa.result, 'CANCELED');
    assert.match(wa.errstr, /cancel/);
    assert.equal((await f.wait(b)).result, 'FAILED');
    assert.deepEqual(await f.cancel('all'), { canceled: 0 });
  });

  void test('errors carry stable codes', async () => {
    await assert.rejects(f.wait(999999), (e: { code?: string; message?: string }) => e.code === 'ENOENT' && /no job 999999/.test(e.message ?? ''));
    await assert.rejects(f.info(999999), (e: { code?: string }) => e.code === 'ENOENT');
    await assert.rejects(f.cancel([999999]), (e: { code?: string }) => e.code === 'ENOENT');
    await assert.rejects(f.submit({ version: 1 }), (e: { code?: string; message?: string }) => e.code === 'EINVAL' && /resources/.test(e.message ?? ''));
    await assert.rejects(f.submit(spec(['true'], { ntasks: 100 })), (e: { code?: string; message?: string }) => /unsatisfiable/.test(e.message ?? ''));
    await assert.rejects(f.rpc('nosuch.method'), (e: { code?: string }) => e.code === 'ENOSYS');
    await assert.rejects(f.urgency(999999, 3), (e: { code?: string }) => e.code === 'ENOENT');
  });

  void test('many submits pipelined on one connection', async () => {
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => f.submit(spec(['sh', '-c', `sleep 0.2; exit ${i % 2}`]))));
    assert.equal(new Set(ids).size, 40);
    const results = await Promise.all(ids.map((id) => f.wait(id)));
    results.forEach((r, i) => assert.equal(r.returncode, i % 2, `job ${r.id}`));
  });

  void describe('requests that arrive at the moment a job becomes inactive', () => {
    // Between a job's `clean` and the store's next group commit, the job is no
    // longer in memory and its stored row is still the one written at submit.
    // A single-broker instance of its own: jobs end on rank 0, which makes the window easy to hit.
    let one: Instance;
    let f1: Fractal;
    const spec1 = (command: string[], extra: Record<string, unknown> = {}) =>
      jobspecFromCommand(command, {}, { cwd: one.work, environment: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, ...extra });
    before(async () => {
      one = await Instance.start({ size: 1, coresPerRank: 2 });
      f1 = await one.api();
    });
    after(async () => {
      await one.destroy();
    });

    void test('wait never reports a completed job as FAILED', async () => {
      const g = await one.api();
      const wrong: string[] = [];
      for (let n = 0; n < 100; n++) {
        const id = await f1.submit(spec1(['true']));
        let done = false;
        const waits: Array<Promise<void>> = [];
        while (!done) {
          waits.push(g.wait(id).then((w) => {
            done = true;
            if (!w.success) wrong.push(JSON.stringify(w));
          }));
          await new Promise((r) => setImmediate(r));
        }
        await Promise.all(waits);
      }
      assert.deepEqual(wrong.slice(0, 3), [], `${wrong.length} wait answers were wrong`);
    });

    void test('a dependency on a job that is just completing is resolved', async () => {
      const conns = await Promise.all([one.api(), one.api(), one.api()]);
      const stuck: number[] = [];
      const refused: string[] = [];
      // Try for a few seconds: submissions from three connections race the target's end.
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && stuck.length === 0 && refused.length === 0) {
        const target = await f1.submit(spec1(['true']));
        const dep = spec1(['true'], { dependencies: [{ scheme: 'afterok', value: String(target) }] });
        let done = false;
        void f1.wait(target).then(() => { done = true; });
        const deps: Array<Promise<number>> = [];
        await Promise.all(conns.map(async (c) => {
          for (let extra = 3; !done || extra-- > 0;) {
            // Every submission is accepted: the target exists, running or completed.
            deps.push(c.submit(dep, { urgency: 0 }).catch((e: { code?: string; message?: string }) => {
              refused.push(`${e.code}: ${e.message}`);
              return -1;
            }));
            await new Promise((r) => setImmediate(r));
          }
        }));
        const ids = (await Promise.all(deps)).filter((id) => id > 0);
        // Held (urgency 0), they leave DEPEND for SCHED once the dependency is resolved.
        await waitFor('the dependent jobs to leave DEPEND', async () => (await f1.list({ states: ['depend'], ids })).length === 0, 15000).catch(() => undefined);
        stuck.push(...(await f1.list({ states: ['depend'], ids })).map((j) => j.id));
        await f1.cancel(ids).catch(() => undefined);
      }
      assert.deepEqual(refused.slice(0, 3), [], `${refused.length} dependent submissions were refused`);
      assert.deepEqual(stuck.slice(0, 5), [], `${stuck.length} jobs left in DEPEND although their target completed`);
    });
  });

  void test('a closed connection rejects further calls', async () => {
    const g = await connect(inst.uri);
    g.close();
    await assert.rejects(g.list(), (e: { code?: string }) => e.code === 'ECONN');
  });
});
