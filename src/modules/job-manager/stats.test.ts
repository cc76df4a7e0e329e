/**
 * `job-manager.stats` counts inactive jobs (for `fractal pstree` and `top`)
 * without a store query per call: the count is taken from the store once at
 * start and kept up as jobs end. A refused submission counts nowhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROLE_OWNER } from '../../protocol/index.js';
import { Store } from '../../store/index.js';
import type { Handler, ModuleContext, Req } from '../../service/index.js';
import { JobManager } from './index.js';

const request = { nnodes: 0, nslots: 1, slotsPerNode: 0, coresPerSlot: 1, gpusPerSlot: 0, exclusive: false, ntasks: 1, duration: 0 };

async function startJm(dir: string, store: Store): Promise<{ jm: JobManager; call: (topic: string, payload: unknown) => Promise<unknown> }> {
  const handlers = new Map<string, Handler>();
  const ctx: ModuleContext = {
    broker: { rank: 0, size: 1, rundir: dir, statedir: dir, uri: `local://${dir}/s`, attrs: {}, hostname: 'h' },
    store,
    register: (es) => { for (const e of es) handlers.set(e.topic, e.handler); },
    rpc: <T>() => Promise.resolve({} as T),
    rpcStream: () => new Promise<void>(() => {}), // no scheduler: the jobs are held (urgency 0) until canceled
    publish: () => {},
    subscribe: () => {},
    log: () => {},
  };
  const jm = new JobManager();
  await jm.start(ctx);
  const call = (topic: string, payload: unknown): Promise<unknown> => new Promise((resolve, reject) => {
    const req: Req = {
      topic, payload, cred: { userid: 1, rolemask: ROLE_OWNER }, canceled: false,
      respond: (p: unknown) => resolve(p),
      error: (e: unknown) => reject(e as Error),
      onCancel: () => {},
    };
    Promise.resolve().then(() => handlers.get(topic)!(req)).then((out) => { if (typeof out !== 'symbol') resolve(out); }, reject);
  });
  return { jm, call };
}

type Stats = { counts: Record<string, number>; active: number; inactive: number };

void test('job-manager.stats: inactive jobs counted as they end, and from the store after a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'frjs-'));
  const store = new Store(join(dir, 'fractal.db'), { log: () => {} });
  try {
    const a = await startJm(dir, store);
    assert.equal((await a.call('job-manager.stats', {}) as Stats).inactive, 0);
    const r = await a.call('job-manager.submit', { jobspec: { version: 1 }, request, name: 'j', urgency: 0, flags: 0, count: 5 }) as { ids: number[] };
    assert.deepEqual(r.ids, [1, 2, 3, 4, 5]);
    await a.call('job-manager.cancel', { ids: [2, 4] });
    const end = Date.now() + 20000;
    let s = await a.call('job-manager.stats', {}) as Stats;
    while (s.inactive < 2 && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 20));
      s = await a.call('job-manager.stats', {}) as Stats;
    }
    assert.equal(s.inactive, 2);
    assert.equal(s.active, 3);
    await store.flush();
    a.jm.stop();
    // A new job manager on the same store (a restart) counts the stored ones.
    const b = await startJm(dir, store);
    const s2 = await b.call('job-manager.stats', {}) as Stats;
    assert.equal(s2.inactive, 2);
    assert.equal(s2.active, 3);
    b.jm.stop();
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
