/**
 * The archive module against a real store and a fake broker context: at
 * start, child directories of jobs that are inactive are archived and
 * removed, those of active jobs are left for exec; a failed archive (full
 * store) keeps the directory and succeeds on the next try; payloads are
 * validated with clear errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, type JobRecord } from '../../store/index.js';
import type { ModuleContext, Req, ServiceEntry } from '../../service/index.js';
import { FractalError } from '../../errors/index.js';
import { Archive } from './index.js';

function rec(id: number, state: string): JobRecord {
  return {
    id, userid: 1, name: `j${id}`, state, urgency: 16, priority: 16, t_submit: id, t_run: null, t_inactive: null, nnodes: 0, ntasks: 1, ncores: 1,
    result: state === 'INACTIVE' ? 'COMPLETED' : null, returncode: null, exception: null, nodelist: null, jobspec: '{"jobspec":{"pad":"' + 'x'.repeat(5000) + '"}}', R: null, waitstatus: null, duration: 0,
  };
}

async function child(dir: string, n: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const s = new Store(join(dir, 'fractal.db'), { log: () => {} });
  for (let i = 1; i <= n; i++) {
    s.putJob(rec(i, 'INACTIVE'));
    s.appendEvent(i, 0, { timestamp: i, name: 'submit' });
  }
  await s.flush();
  s.close();
}

function harness(statedir: string, store: Store): { mod: Archive; call: (topic: string, payload: unknown) => unknown; logs: string[] } {
  const handlers = new Map<string, ServiceEntry>();
  const logs: string[] = [];
  const ctx: ModuleContext = {
    broker: { rank: 0, size: 1, rundir: statedir, statedir, uri: 'local:///nonexistent', attrs: {}, hostname: 'h' },
    store,
    register: (entries) => { for (const e of entries) handlers.set(e.topic, e); },
    rpc: () => Promise.resolve({} as never),
    rpcStream: () => Promise.resolve(),
    publish: () => {},
    subscribe: () => {},
    log: (m) => logs.push(m),
  };
  const mod = new Archive();
  mod.start(ctx);
  const call = (topic: string, payload: unknown): unknown => handlers.get(topic)!.handler({ topic, payload } as unknown as Req);
  return { mod, call, logs };
}

const until = async (what: string, pred: () => boolean, ms = 30000): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

void test('at start, directories of inactive jobs are archived (with leftover nested ones) and removed; those of active jobs are left', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frarchmod-'));
  const store = new Store(join(dir, 'fractal.db'), { log: () => {} });
  let mod: Archive | undefined;
  try {
    store.putJob(rec(3, 'INACTIVE'));
    store.putJob(rec(4, 'RUN'));
    await store.flush();
    await child(join(dir, 'jobs', '3'), 5);
    await child(join(dir, 'jobs', '4'), 2);
    // Job 3's instance was killed before it archived its own job 2's instance: that one is kept too.
    await child(join(dir, 'jobs', '3', 'jobs', '2'), 2);
    mkdirSync(join(dir, 'jobs', '5')); // a child that never made its store: just removed
    const h = harness(dir, store);
    mod = h.mod;
    await until('job 3 archived', () => !existsSync(join(dir, 'jobs', '3')) && !existsSync(join(dir, 'jobs', '5')));
    assert.ok(existsSync(join(dir, 'jobs', '4', 'fractal.db')), 'an active job\'s instance is not touched');
    const list = h.call('archive.list', {}) as { jobs: { path: string }[] };
    assert.deepEqual(list.jobs.map((j) => j.path), ['3/5', '3/4', '3/3', '3/2', '3/1', '3/2/2', '3/2/1']);
    assert.deepEqual((h.call('archive.list', { path: '3', limit: 2 }) as { jobs: unknown[] }).jobs.length, 2);
    assert.deepEqual((h.call('archive.list', { states: ['running'] }) as { jobs: unknown[] }).jobs, []);
    assert.equal((h.call('archive.info', { path: '3/2' }) as { job: { path: string; name: string } }).job.name, 'j2');
    assert.deepEqual((h.call('archive.eventlog', { path: '3/2' }) as { events: { name: string }[] }).events.map((e) => e.name), ['submit']);

    // A full store: the archive fails, the directory stays; the next try (exec's collect, or the timer) succeeds.
    store.limitPages(0);
    h.call('archive.collect', { id: 4, dir: join(dir, 'jobs', '4') });
    await until('the failure to be logged', () => h.logs.some((l) => /cannot archive the instance of job 4/.test(l)));
    assert.ok(existsSync(join(dir, 'jobs', '4', 'fractal.db')), 'a failed archive keeps the child\'s directory');
    store.limitPages(undefined);
    h.call('archive.collect', { id: 4, dir: join(dir, 'jobs', '4') });
    await until('job 4 archived', () => !existsSync(join(dir, 'jobs', '4')));
    assert.equal((h.call('archive.list', { path: '4' }) as { jobs: unknown[] }).jobs.length, 2);
  } finally {
    mod?.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('archive payloads are validated with clear errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'frarchmod-'));
  const store = new Store(join(dir, 'fractal.db'), { log: () => {} });
  const h = harness(dir, store);
  try {
    const cases: Array<[string, unknown, RegExp]> = [
      ['archive.list', { path: 'x' }, /path must be a job path/],
      ['archive.list', { path: 5 }, /path must be a job path/],
      ['archive.list', { depth: 0 }, /depth must be an integer >= 1/],
      ['archive.list', { limit: -1 }, /limit must be an integer >= 0/],
      ['archive.list', { userid: 'me' }, /userid must be an integer/],
      ['archive.list', { states: 'inactive' }, /states must be a list/],
      ['archive.list', { states: ['done'] }, /unknown job state "done"/],
      ['archive.info', {}, /path must be a job path such as "12\/5"/],
      ['archive.info', { path: '12' }, /names a job of this instance, not an archived one/],
      ['archive.info', { path: '12/5' }, /no job 12\/5: no history of an instance run by job 12/],
      ['archive.eventlog', { path: '12//5' }, /path must be a job path/],
      ['archive.collect', { id: 'a', dir: '/x' }, /archive.collect needs \{id/],
      ['archive.collect', { id: 1 }, /archive.collect needs \{id, dir/],
    ];
    for (const [topic, payload, re] of cases) {
      assert.throws(() => h.call(topic, payload), (e: unknown) => e instanceof FractalError && re.test(e.message), `${topic} ${JSON.stringify(payload)}`);
    }
  } finally {
    h.mod.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
