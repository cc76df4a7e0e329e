/**
 * The store's error paths: a commit that fails (a full disk, made
 * deterministic with SQLite's max_page_count) drops no write, rejects the
 * flushes of the writes it carried, keeps afterCommit hooks waiting, retries
 * by itself and commits everything once space returns; a damaged database is
 * refused at open with a message that names it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FractalError } from '../errors/index.js';
import { Store, writeError, type JobRecord } from './store.js';

const big = 'x'.repeat(6000); // more than a page: every write needs new pages

function rec(id: number): JobRecord {
  return {
    id, userid: 1, name: `job${id}`, state: 'SCHED', urgency: 16, priority: 16, t_submit: id, t_run: null, t_inactive: null,
    nnodes: 0, ntasks: 1, ncores: 1, result: null, returncode: null, exception: null, nodelist: null, jobspec: big, R: null, waitstatus: null, duration: 0,
  };
}

function withStore(fn: (s: Store, dir: string, logs: string[]) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'frstore-'));
    const logs: string[] = [];
    const s = new Store(join(dir, 'fractal.db'), { log: (m) => logs.push(m) });
    try {
      await fn(s, dir, logs);
    } finally {
      s.limitPages(undefined);
      s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const until = async (what: string, pred: () => boolean, ms = 20000): Promise<void> => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

void test('a failed commit rejects flush with the ENOSPC error, keeps every write, and commits them all when space returns', withStore(async (s, dir, logs) => {
  s.putJob(rec(1));
  await s.flush();
  const status: Array<string | undefined> = [];
  s.onStatus((f) => status.push(f?.code));
  s.limitPages(0);
  for (let id = 2; id <= 20; id++) {
    s.putJob(rec(id));
    s.appendEvent(id, 0, { timestamp: id, name: 'submit', context: { pad: big } });
  }
  const err = await s.flush().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof FractalError, `flush must reject, got ${String(err)}`);
  assert.equal(err.code, 'ENOSPC');
  assert.match(err.message, /^ENOSPC: the state directory's file system is full \(/);
  assert.ok(err.message.includes(dir), `the message names the directory: ${err.message}`);
  assert.equal(s.failure?.code, 'ENOSPC');
  assert.equal(s.pending, 38, 'every write is kept');
  assert.equal(s.getJob(2), undefined, 'nothing of the failed commit is on disk');
  // While failing: flush rejects at once, writes queue, hooks wait.
  await assert.rejects(s.flush(), /^FractalError: ENOSPC|ENOSPC: the state directory/);
  s.appendEvent(21, 0, { timestamp: 21, name: 'late' });
  let hooked = 0;
  s.afterCommit(() => { hooked++; });
  await new Promise((r) => setTimeout(r, 300)); // a few retries (100 ms, 200 ms) fail meanwhile
  assert.equal(hooked, 0, 'an afterCommit hook waits for the commit that makes its writes durable');
  assert.ok(s.failedCommits >= 2, `it retried by itself (${s.failedCommits} failed commits)`);
  assert.equal(logs.filter((l) => l.includes('cannot write')).length, 1, 'one log line per failure, not per retry or per write');
  s.limitPages(undefined);
  await until('the retry to succeed', () => hooked === 1);
  assert.equal(s.failure, undefined);
  assert.equal(s.pending, 0);
  for (let id = 1; id <= 20; id++) assert.equal(s.getJob(id)?.name, `job${id}`, `job ${id} is on disk`);
  for (let id = 2; id <= 20; id++) assert.deepEqual(s.events(id).map((e) => e.name), ['submit']);
  assert.deepEqual(s.events(21).map((e) => e.name), ['late']);
  assert.deepEqual(status, ['ENOSPC', undefined]);
  await s.flush();
}));

void test('discardJobs drops only the queued writes of the forgotten jobs', withStore(async (s) => {
  s.limitPages(0);
  s.putJob(rec(1));
  s.putJob(rec(2));
  s.appendEvent(2, 0, { timestamp: 1, name: 'submit' });
  s.kvPut('k', 7);
  await assert.rejects(s.flush(), /ENOSPC/);
  s.discardJobs([2]);
  let done = false;
  s.afterCommit(() => { done = true; });
  s.limitPages(undefined);
  await until('the retry to succeed', () => done);
  assert.equal(s.getJob(1)?.id, 1);
  assert.equal(s.getJob(2), undefined);
  assert.deepEqual(s.events(2), []);
  assert.equal(s.kvGet<number>('k'), 7);
}));

void test('flushes and hooks are settled in the order they were made', withStore(async (s) => {
  const order: string[] = [];
  s.putJob(rec(1));
  s.afterCommit(() => order.push('hook1'));
  const f = s.flush().then(() => order.push('flush'));
  s.afterCommit(() => order.push('hook2'));
  await f;
  await until('the hooks', () => order.length === 3);
  assert.deepEqual(order, ['hook1', 'hook2', 'flush'], 'hooks run in the commit, flush continuations in the microtask after it');
}));

void test('close during a failure reports the unsaved writes and does not throw', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frstore-'));
  const logs: string[] = [];
  try {
    const s = new Store(join(dir, 'fractal.db'), { log: (m) => logs.push(m) });
    s.limitPages(0);
    s.putJob(rec(1));
    await assert.rejects(s.flush(), /ENOSPC/);
    s.close();
    assert.ok(logs.some((l) => /closing with 1 write\(s\) that could not be saved/.test(l)), logs.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('errors other than a full disk keep the writes too, with a clear message', () => {
  const e = writeError(Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT' }), '/var/x/fractal.db');
  assert.equal(e.code, 'EINTERNAL');
  assert.match(e.message, /^the state database \/var\/x\/fractal.db cannot be written \(SQLITE_CONSTRAINT: UNIQUE constraint failed\)/);
  const full = writeError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), '/var/x/fractal.db');
  assert.match(full.message, /^ENOSPC: the state directory's file system is full \(\/var\/x\): free space there/);
});

void test('a damaged database is refused at open with its path and what to do', () => {
  const dir = mkdtempSync(join(tmpdir(), 'frstore-'));
  try {
    const path = join(dir, 'fractal.db');
    writeFileSync(path, 'this is not a database, it is garbage '.repeat(200));
    assert.throws(() => new Store(path), (e: unknown) => {
      assert.ok(e instanceof FractalError);
      assert.equal(e.code, 'ECORRUPT');
      assert.match(e.message, /^the state database \S+fractal\.db is damaged \(SQLITE_NOTADB: file is not a database\): move it aside \(mv /);
      assert.ok(e.message.includes(path));
      assert.ok(!e.message.includes('\n'), 'one line');
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('an unopenable database path is refused with its path and what to check', () => {
  const path = join(tmpdir(), 'frstore-no-such-dir', 'sub', 'fractal.db');
  assert.throws(() => new Store(path), /^FractalError: cannot open the state database \S+fractal\.db \(Cannot open database because the directory does not exist\): check that \S+ exists/);
});

void test('commit spacing: an idle store commits at the end of the turn; a busy one waits out the spacing unless a client waits (flush, hurry)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frstore-'));
  // A spacing no loaded machine outlasts between the few turns below.
  const s = new Store(join(dir, 'fractal.db'), { commitSpacingMs: 60000 });
  const turn = () => new Promise<void>((r) => setImmediate(r));
  try {
    s.putJob(rec(1));
    await turn();
    assert.equal(s.pending, 0, 'the first write of an idle store is committed at the end of its turn');
    s.putJob(rec(2));
    for (let i = 0; i < 3; i++) await turn();
    assert.equal(s.pending, 1, 'a write right after a commit waits for the spacing');
    let hooked = false;
    s.afterCommit(() => { hooked = true; });
    await turn();
    assert.equal(hooked, false, 'an afterCommit hook does not hurry the commit');
    s.hurry();
    await turn();
    assert.equal(s.pending, 0, 'hurry() commits at the end of the turn');
    assert.equal(hooked, true);
    s.putJob(rec(3));
    await s.flush();
    assert.equal(s.pending, 0, 'flush() commits at once');
    assert.ok(s.getJob(3));
  } finally {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
