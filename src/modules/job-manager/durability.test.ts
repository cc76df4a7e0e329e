/**
 * The job manager's durability paths, against a real store made "full" with
 * SQLite's max_page_count: a submit is acknowledged (and scheduled) only once
 * durable; one that cannot be made durable fails with ENOSPC and leaves no
 * job and no reused id; changing requests are refused while the store cannot
 * write; followers hear each event only once it is on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FractalError } from '../../errors/index.js';
import { ROLE_OWNER, type JobEvent } from '../../protocol/index.js';
import { Store } from '../../store/index.js';
import type { Handler, ModuleContext, Req } from '../../service/index.js';
import { JobManager } from './index.js';

const request = { nnodes: 0, nslots: 1, slotsPerNode: 0, coresPerSlot: 1, gpusPerSlot: 0, exclusive: false, ntasks: 1, duration: 0 };
const pad = 'e'.repeat(6000); // an environment big enough that every job needs new pages

interface Harness {
  store: Store;
  call(topic: string, payload: unknown, onMore?: (p: unknown) => void): Promise<unknown>;
  /** sched.alloc requests, with whether the job's submission was on disk at that moment. */
  allocs: Array<{ id: number; durable: boolean }>;
  done(): void;
}

async function harness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'frjm-'));
  const store = new Store(join(dir, 'fractal.db'), { log: () => {} });
  const handlers = new Map<string, Handler>();
  const allocs: Harness['allocs'] = [];
  const ctx: ModuleContext = {
    broker: { rank: 0, size: 1, rundir: dir, statedir: dir, uri: `local://${dir}/s`, attrs: {}, hostname: 'h' },
    store,
    register: (es) => { for (const e of es) handlers.set(e.topic, e.handler); },
    rpc: <T>() => Promise.resolve({} as T),
    rpcStream: (topic, payload) => {
      if (topic === 'sched.alloc') {
        const id = (payload as { id: number }).id;
        allocs.push({ id, durable: store.getJob(id) !== undefined });
      }
      return new Promise<void>(() => {}); // the scheduler never answers here
    },
    publish: () => {},
    subscribe: () => {},
    log: () => {},
  };
  const jm = new JobManager();
  await jm.start(ctx);
  const call = (topic: string, payload: unknown, onMore?: (p: unknown) => void): Promise<unknown> => new Promise((resolve, reject) => {
    const req: Req = {
      topic, payload, cred: { userid: 1, rolemask: ROLE_OWNER }, canceled: false,
      respond: (p: unknown, more?: boolean) => { if (more) onMore?.(p); else resolve(p); },
      error: (e: unknown) => reject(e as Error),
      onCancel: () => {},
    };
    Promise.resolve().then(() => handlers.get(topic)!(req)).then((out) => { if (typeof out !== 'symbol') resolve(out); }, reject);
  });
  return {
    store, call, allocs,
    done: () => { jm.stop(); store.limitPages(undefined); store.close(); rmSync(dir, { recursive: true, force: true }); },
  };
}

const submit = (h: Harness, count?: number) => h.call('job-manager.submit', {
  jobspec: { version: 1, attributes: { system: { environment: { PAD: pad } } } }, request, name: 'j', urgency: 16, flags: 0, ...(count ? { count } : {}),
}) as Promise<{ id: number; ids?: number[] }>;

const until = async (what: string, pred: () => boolean): Promise<void> => {
  const end = Date.now() + 20000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

void test('a submit is acknowledged, and asks for resources, only once it is durable', async () => {
  const h = await harness();
  try {
    const p = submit(h, 3);
    assert.equal(h.allocs.length, 0, 'nothing is scheduled before the commit');
    const r = await p;
    assert.deepEqual(r.ids, [1, 2, 3]);
    for (const id of r.ids!) assert.equal(h.store.getJob(id)?.id, id, `job ${id} is on disk when acknowledged`);
    await until('the allocation requests', () => h.allocs.length === 3);
    assert.deepEqual(h.allocs, [1, 2, 3].map((id) => ({ id, durable: true })));
  } finally {
    h.done();
  }
});

void test('a submit that cannot be made durable fails with ENOSPC, leaves no job, and its ids are never reused', async () => {
  const h = await harness();
  try {
    h.store.limitPages(0);
    const e = await submit(h, 5).then(() => undefined, (x: unknown) => x);
    assert.ok(e instanceof FractalError, `refused: ${String(e)}`);
    assert.equal(e.code, 'ENOSPC');
    assert.match(e.message, /^ENOSPC: the state directory's file system is full \(/);
    // While the store cannot write, submits and changes are refused up front.
    await assert.rejects(submit(h), /ENOSPC: the state directory's file system is full/);
    await assert.rejects(h.call('job-manager.cancel', { all: true }), /ENOSPC: the state directory's file system is full/);
    const listed = await h.call('job-manager.list', { states: ['all'] }) as { jobs: unknown[] };
    assert.deepEqual(listed.jobs, [], 'the refused jobs do not exist');
    assert.equal((await h.call('job-manager.stats', {}) as { active: number }).active, 0);
    // Space returns: the store retries by itself; the next submit gets a new id.
    h.store.limitPages(undefined);
    await until('the store to write again', () => h.store.failure === undefined);
    const r = await submit(h);
    assert.equal(r.id, 6, 'ids 1-5 were consumed by the refused submit and are not reused');
    for (const id of [1, 2, 3, 4, 5]) assert.equal(h.store.getJob(id), undefined, `refused job ${id} left nothing on disk`);
    assert.deepEqual(h.store.events(1), []);
    await until('the allocation request', () => h.allocs.length === 1);
    assert.deepEqual(h.allocs, [{ id: 6, durable: true }], 'only the durable job was scheduled');
  } finally {
    h.done();
  }
});

void test('followers hear each event only once it is on disk, in order, also across a failed commit', async () => {
  const h = await harness();
  try {
    const heard: Array<{ id: number; name: string; stored: number }> = [];
    void h.call('job-manager.journal', { backlog: false }, (p) => {
      const m = p as { id: number; event?: JobEvent };
      if (m.id < 0 || !m.event) return;
      heard.push({ id: m.id, name: m.event.name, stored: h.store.events(m.id).length });
    });
    const { id } = await submit(h);
    await until('the submit events', () => heard.length >= 4);
    assert.deepEqual(heard.map((x) => x.name), ['submit', 'validate', 'depend', 'priority']);
    heard.forEach((x, i) => assert.ok(x.stored >= i + 1, `event ${x.name} was on disk when heard (${x.stored} stored)`));
    // A change whose commit fails (a big write in the same commit overflows the capped pages)
    // is answered and heard only after the retry that writes it.
    h.store.limitPages(0);
    const before = heard.length;
    let answered = false;
    const urgency = h.call('job-manager.urgency', { id, urgency: 3 }).then(() => { answered = true; });
    h.store.kvPut('pad', pad);
    await until('the commit to fail', () => h.store.failure !== undefined);
    await new Promise((r) => setTimeout(r, 250)); // retries fail meanwhile
    assert.equal(heard.length, before, 'nothing heard while the change is not on disk');
    assert.equal(answered, false, 'the urgency request is not answered while its change is not on disk');
    h.store.limitPages(undefined);
    await urgency;
    assert.deepEqual(heard.slice(before).map((x) => x.name), ['urgency', 'priority']);
    heard.forEach((x, i) => assert.ok(x.stored >= i + 1, `event ${x.name} was on disk when heard (${x.stored} stored)`));
  } finally {
    h.done();
  }
});
