/**
 * The archive of nested instances: a child's jobs, event logs and its own
 * archive (grandchildren) land in the parent under the right paths; a job the
 * child never finished is archived as lost; a copy that fails (full store)
 * leaves nothing promised and succeeds when retried; a child killed with
 * SIGKILL (its WAL not checkpointed) gives what it had committed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store, type JobRecord } from './store.js';

function rec(id: number, state = 'INACTIVE', jobspec = '{"jobspec":{"version":1}}'): JobRecord {
  return {
    id, userid: 1000, name: `job${id}`, state, urgency: 16, priority: 16, t_submit: id, t_run: id + 0.5, t_inactive: state === 'INACTIVE' ? id + 1 : null,
    nnodes: 1, ntasks: 1, ncores: 1, result: state === 'INACTIVE' ? 'COMPLETED' : null, returncode: state === 'INACTIVE' ? 0 : null, exception: null,
    nodelist: 'n0', jobspec, R: null, waitstatus: state === 'INACTIVE' ? 0 : null, duration: 0,
  };
}

/** A store at `path` with jobs 1..n (the last one `lastState`), three events each. */
async function fill(path: string, n: number, lastState = 'INACTIVE', jobspec?: string): Promise<Store> {
  const s = new Store(path, { log: () => {} });
  for (let id = 1; id <= n; id++) {
    s.putJob(rec(id, id === n ? lastState : 'INACTIVE', jobspec));
    s.appendEvent(id, 0, { timestamp: id, name: 'submit', context: { userid: 1000 } });
    s.appendEvent(id, 1, { timestamp: id + 0.5, name: 'start' });
    s.appendEvent(id, 2, { timestamp: id + 1, name: 'finish', context: { status: 0 } });
  }
  await s.flush();
  return s;
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'frarch-'));
}

void test('a child and its own archive are copied under the job path, with depth and state filters', async () => {
  const dir = tmp();
  try {
    const grand = await fill(join(dir, 'grand.db'), 3);
    grand.close();
    const child = await fill(join(dir, 'child.db'), 2500, 'RUN'); // more than one chunk
    const r1 = await child.archiveChild('2', join(dir, 'grand.db'));
    assert.deepEqual(r1, { jobs: 3, events: 9, nested: 0 });
    child.close();
    const root = new Store(join(dir, 'root.db'), { log: () => {} });
    try {
      const r = await root.archiveChild('7', join(dir, 'child.db'));
      assert.deepEqual(r, { jobs: 2500, events: 7500, nested: 3 });
      const a = root.archive;
      assert.equal(a.job('7/2')?.name, 'job2');
      assert.equal(a.job('7/2')?.path, '7/2');
      assert.equal(a.job('7/2/3')?.path, '7/2/3');
      assert.equal(a.job('7/2/4'), undefined);
      assert.equal(a.job('8/1'), undefined);
      assert.deepEqual(a.events('7/2/1').map((e) => e.name), ['submit', 'start', 'finish']);
      assert.deepEqual(a.events('7/2/1')[0]?.context, { userid: 1000 });
      assert.equal(a.list().length, 2503);
      assert.equal(a.list({ under: '7', depth: 1 }).length, 2500);
      assert.equal(a.list({ depth: 2 }).length, 2500);
      assert.deepEqual(a.list({ under: '7/2' }).map((j) => j.path), ['7/2/3', '7/2/2', '7/2/1']);
      assert.equal(a.list({ under: '7/2', limit: 2 }).length, 2);
      assert.equal(a.list({ under: '70' }).length, 0);
      // The job the killed child never finished: archived as ended, with a `lost` exception.
      const lost = a.job('7/2500')!;
      assert.equal(lost.state, 'INACTIVE');
      assert.equal(lost.result, 'FAILED');
      assert.match(JSON.parse(lost.exception!).note as string, /after the job.s "finish" event/);
      assert.equal(a.list({ states: ['INACTIVE'], userid: 1000 }).length, 2503);
      assert.equal(a.list({ userid: 1 }).length, 0);
      assert.deepEqual(a.instances().map((i) => [i.path, i.njobs]), [['7', 2500], ['7/2', 3]]);
      // Archiving again (a retry after a crash) replaces, never duplicates.
      await root.archiveChild('7', join(dir, 'child.db'));
      assert.equal(a.list().length, 2503);
    } finally {
      root.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a copy that fails on a full store keeps nothing promised and succeeds when retried', async () => {
  const dir = tmp();
  try {
    const big = JSON.stringify({ jobspec: { pad: 'x'.repeat(6000) } });
    (await fill(join(dir, 'child.db'), 50, 'INACTIVE', big)).close();
    const root = new Store(join(dir, 'root.db'), { log: () => {} });
    try {
      void root.archive;
      root.limitPages(2);
      await assert.rejects(root.archiveChild('3', join(dir, 'child.db')), (e: Error) => /full|SQLITE_FULL/i.test(`${(e as { code?: string }).code} ${e.message}`));
      assert.deepEqual(root.archive.instances(), []);
      // The store itself still writes (the archive's failure is its own), and the attachment is gone.
      root.limitPages(undefined);
      const r = await root.archiveChild('3', join(dir, 'child.db'));
      assert.equal(r.jobs, 50);
      assert.equal(root.archive.list({ under: '3' }).length, 50);
      assert.equal(JSON.parse(root.archive.job('3/50')!.jobspec).jobspec.pad.length, 6000);
    } finally {
      root.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a child killed with SIGKILL: what it committed (still in its WAL) is archived', async () => {
  const dir = tmp();
  try {
    const storeJs = fileURLToPath(new URL('./store.js', import.meta.url));
    const script = `
      const { Store } = await import(${JSON.stringify(storeJs)});
      const s = new Store(${JSON.stringify(join(dir, 'child.db'))}, { log: () => {} });
      for (let id = 1; id <= 20; id++) {
        s.putJob({ id, userid: 1, name: 'j' + id, state: 'INACTIVE', urgency: 16, priority: 16, t_submit: id, t_run: null, t_inactive: id, nnodes: 0, ntasks: 1, ncores: 1,
          result: 'COMPLETED', returncode: 0, exception: null, nodelist: null, jobspec: '{}', R: null, waitstatus: 0, duration: 0 });
        s.appendEvent(id, 0, { timestamp: id, name: 'submit' });
      }
      await s.flush();
      // Queued, never committed: lost with the process.
      s.putJob({ id: 21, userid: 1, name: 'j21', state: 'SCHED', urgency: 16, priority: 16, t_submit: 21, t_run: null, t_inactive: null, nnodes: 0, ntasks: 1, ncores: 1,
        result: null, returncode: null, exception: null, nodelist: null, jobspec: '{}', R: null, waitstatus: null, duration: 0 });
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    assert.ok(existsSync(join(dir, 'child.db-wal')), 'the killed child left its WAL');
    const root = new Store(join(dir, 'root.db'), { log: () => {} });
    try {
      const res = await root.archiveChild('4', join(dir, 'child.db'));
      assert.deepEqual(res, { jobs: 20, events: 20, nested: 0 });
      assert.equal(root.archive.job('4/21'), undefined);
    } finally {
      root.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
