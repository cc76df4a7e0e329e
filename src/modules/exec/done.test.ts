/**
 * exec's acknowledgements and fault handling, against a fake broker context:
 * results are acknowledged only on the job's ranks (batched per rank), a
 * rank that is down gets its acknowledgements when it comes back, and
 * `exec.lost` for a job that is not running is a no-op.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModuleContext, Req, ServiceEntry } from '../../service/index.js';
import { Exec } from './index.js';

interface Call { topic: string; payload: unknown; nodeid: number | undefined }

function harness(size = 4): { exec: Exec; calls: Call[]; call: (topic: string, payload: unknown) => unknown; emit: (topic: string, payload: unknown) => void } {
  const handlers = new Map<string, ServiceEntry>();
  const subs: Array<{ prefix: string; fn: (t: string, p: unknown) => void }> = [];
  const calls: Call[] = [];
  const ctx: ModuleContext = {
    broker: { rank: 0, size, rundir: '/nonexistent', statedir: '/nonexistent', uri: 'local:///nonexistent', attrs: {}, hostname: 'h' },
    store: undefined,
    register: (entries) => { for (const e of entries) handlers.set(e.topic, e); },
    rpc: <T>(topic: string, payload?: unknown, nodeid?: number) => {
      calls.push({ topic, payload, nodeid });
      return Promise.resolve((topic === 'shell.list' ? { running: [], finished: [] } : {}) as T);
    },
    rpcStream: () => Promise.resolve(),
    publish: () => {},
    subscribe: (prefix, fn) => { subs.push({ prefix, fn }); },
    log: () => {},
  };
  const exec = new Exec();
  exec.start(ctx);
  const call = (topic: string, payload: unknown): unknown => {
    const h = handlers.get(topic);
    assert.ok(h, topic);
    return h.handler({ topic, payload } as unknown as Req);
  };
  const emit = (topic: string, payload: unknown): void => { for (const s of subs) if (topic.startsWith(s.prefix)) s.fn(topic, payload); };
  return { exec, calls, call, emit };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

void test('exec.done acknowledges on the given ranks only, one shell.ack per rank per turn', async () => {
  const h = harness();
  h.call('exec.done', { id: 5, ranks: [2] });
  h.call('exec.done', { id: 6, ranks: [2, 3] });
  await turn();
  const acks = h.calls.filter((c) => c.topic.startsWith('shell.ack')).sort((a, b) => (a.nodeid ?? -1) - (b.nodeid ?? -1));
  assert.deepEqual(acks, [
    { topic: 'shell.ack', payload: { ids: [5, 6] }, nodeid: 2 },
    { topic: 'shell.ack', payload: { ids: [6] }, nodeid: 3 },
  ]);
  h.exec.stop();
});

void test('a rank that is down gets its acknowledgements when it comes back', async () => {
  const h = harness();
  h.emit('resource.update', { rank: 3, up: false });
  h.call('exec.done', { id: 9, ranks: [1, 3] });
  await turn();
  assert.deepEqual(h.calls.filter((c) => c.topic === 'shell.ack').map((c) => c.nodeid), [1], 'nothing sent to the down rank');
  h.emit('resource.update', { rank: 3, up: true });
  await turn();
  await turn();
  const to3 = h.calls.filter((c) => c.nodeid === 3);
  assert.deepEqual(to3.map((c) => c.topic), ['shell.list', 'shell.ack']);
  assert.deepEqual(to3[1]!.payload, { ids: [9] });
  h.exec.stop();
});

void test('exec.lost for jobs exec does not run fails nothing', () => {
  const h = harness();
  assert.deepEqual(h.call('exec.lost', { rank: 1, ids: [1, 2], reason: 'the executor on rank 1 died' }), { failed: 0 });
  assert.throws(() => h.call('exec.lost', { rank: 'x' }), /exec.lost needs/);
  h.exec.stop();
});
