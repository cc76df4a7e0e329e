/**
 * The scheduler module's error paths, with a fake broker context (no
 * sockets): malformed or repeated protocol calls are answered with a
 * FractalError of the right code (never a JavaScript TypeError and never a
 * silent success), an unsatisfiable or unknown-queue job is denied on its
 * alloc stream, bad reservation requests are refused with what to do, and a
 * bad setting stops the start.
 */
import { test, describe, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { jobspecFromCommand, summarizeJobspec, type JobShape } from '../../jobspec/index.js';
import type { BrokerInfo, Handler, ModuleContext, Req, ServiceEntry } from '../../service/index.js';
import { DEFERRED } from '../../service/index.js';
import { Scheduler } from './index.js';

const OWNER = { userid: 0, rolemask: 1 };

interface Harness {
  sched: Scheduler;
  call(topic: string, payload: unknown): unknown;
  logs: string[];
}

async function harness(attrs: Record<string, string> = {}, ranks = 2): Promise<Harness> {
  const handlers = new Map<string, Handler>();
  const logs: string[] = [];
  const broker: BrokerInfo = { rank: 0, size: ranks, rundir: '/nonexistent', statedir: '/nonexistent', uri: 'local:///nonexistent', attrs, hostname: 'test' };
  const ctx: ModuleContext = {
    broker,
    store: undefined,
    register: (entries: ServiceEntry[]) => { for (const e of entries) handlers.set(e.topic, e.handler); },
    rpc: <T>(topic: string): Promise<T> => {
      if (topic === 'resource.acquire') {
        return Promise.resolve({ ranks: Array.from({ length: ranks }, (_v, rank) => ({ rank, hostname: `n${rank}`, ncores: 2, ngpus: 0 })), drained: [], down: [] } as T);
      }
      return Promise.reject(new Error(`unexpected rpc ${topic}`));
    },
    rpcStream: () => Promise.resolve(),
    publish: () => undefined,
    subscribe: () => undefined,
    log: (m) => logs.push(m),
  };
  const sched = new Scheduler();
  await sched.start(ctx);
  return {
    sched,
    logs,
    call: (topic, payload) => {
      const h = handlers.get(topic);
      if (!h) throw new Error(`no handler ${topic}`);
      return h(fakeReq(topic, payload).req);
    },
  };
}

function fakeReq(topic: string, payload: unknown): { req: Req; responses: unknown[] } {
  const responses: unknown[] = [];
  const req: Req = {
    topic, payload, cred: OWNER, canceled: false,
    respond: (p) => { responses.push(p); },
    error: (e) => { responses.push({ error: e }); },
    onCancel: () => undefined,
  };
  return { req, responses };
}

/** The FractalError code a call throws (fails if it returns). */
function codeOf(fn: () => unknown, message?: RegExp): string {
  try {
    const r = fn();
    assert.fail(`the call returned ${JSON.stringify(r)}`);
  } catch (e) {
    const x = e as { code?: string; message?: string; name?: string };
    if (x.code === 'ERR_ASSERTION') throw e;
    assert.ok(!(e instanceof TypeError), `a JavaScript error instead of a FractalError: ${x.message}`);
    if (message) assert.match(String(x.message), message);
    return String(x.code);
  }
}

function alloc(id: number, command: string[], shape: JobShape = {}): Record<string, unknown> {
  const jobspec = jobspecFromCommand(command, shape, { cwd: '/', environment: {} });
  return { id, priority: 16, userid: 0, t_submit: 1, jobspec, request: summarizeJobspec(jobspec) };
}

void describe('sched module: error paths', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });

  void test('sched.alloc: a malformed payload is EINVAL; a second alloc of the same job is EBUSY', () => {
    for (const bad of [{}, { id: 'x' }, { id: 1, priority: 1, request: {}, jobspec: null }, null]) {
      assert.equal(codeOf(() => h.call('sched.alloc', bad), /sched\.alloc needs \{id: number/), 'EINVAL', JSON.stringify(bad));
    }
    const a = alloc(7, ['true'], { ntasks: 4 });
    // 4 cores fill the 2 x 2 cores: it is granted at the next cycle (DEFERRED: the answer goes on the stream).
    assert.equal(h.call('sched.alloc', a), DEFERRED);
    assert.equal(codeOf(() => h.call('sched.alloc', a), /job 7 already has an allocation request/), 'EBUSY');
  });

  void test('sched.alloc: a job larger than the machine, or for a queue that does not exist, is denied on its stream', () => {
    // A denial is the alloc's answer, at once (not DEFERRED).
    const r1 = h.call('sched.alloc', alloc(8, ['true'], { ntasks: 5 })) as { type: string; note: string };
    assert.equal(r1.type, 'denied');
    const q = alloc(9, ['true']);
    (q['jobspec'] as { attributes: { system: Record<string, unknown> } }).attributes.system['queue'] = 'nosuch';
    const r2 = h.call('sched.alloc', q) as { type: string; note: string };
    assert.equal(r2.type, 'denied');
    assert.match(r2.note, /this instance has no named queues; submit without --queue/);
  });

  void test('sched.free of a job that holds nothing is ENOENT; sched.feasibility without a jobspec is EINVAL', () => {
    assert.equal(codeOf(() => h.call('sched.free', { id: 12345 }), /job 12345 holds no allocation/), 'ENOENT');
    assert.equal(codeOf(() => h.call('sched.free', {}), /holds no allocation/), 'ENOENT');
    assert.equal(codeOf(() => h.call('sched.feasibility', {}), /sched\.feasibility needs \{jobspec\}/), 'EINVAL');
    assert.equal(codeOf(() => h.call('sched.feasibility', { jobspec: null })), 'EINVAL');
  });

  void test('sched.cancel, sched.prioritize and sched.hello with malformed payloads are EINVAL, not a TypeError or a success', () => {
    assert.equal(codeOf(() => h.call('sched.cancel', { id: 'x' }), /sched\.cancel needs/), 'EINVAL');
    assert.deepEqual(h.call('sched.cancel', { id: 4242 }), { canceled: false }, 'an unknown job: nothing to cancel');
    assert.equal(codeOf(() => h.call('sched.prioritize', { jobs: 'x' }), /sched\.prioritize needs/), 'EINVAL');
    assert.equal(codeOf(() => h.call('sched.prioritize', { jobs: [[1]] }), /sched\.prioritize needs/), 'EINVAL');
    assert.deepEqual(h.call('sched.prioritize', { jobs: [[4242, 3]] }), {}, 'an unknown job is ignored');
    assert.equal(codeOf(() => h.call('sched.hello', { jobs: 5 }), /sched\.hello needs/), 'EINVAL');
    assert.equal(codeOf(() => h.call('sched.hello', { jobs: [{ id: 'x' }] }), /sched\.hello needs/), 'EINVAL');
  });

  void test('sched.hello: a running job whose R cannot be re-claimed is logged and skipped, the others are claimed', () => {
    const R = (rank: number) => ({ version: 1, execution: { R_lite: [{ rank: String(rank), children: { core: '0-1' } }], starttime: 0, expiration: 0, nodelist: [`n${rank}`] } });
    const r = h.call('sched.hello', { jobs: [{ id: 1, R: R(0) }, { id: 2, R: R(0) }, { id: 3, R: R(1) }] });
    assert.deepEqual(r, { claimed: 2 }, 'job 2 asks for the cores job 1 holds');
    assert.ok(h.logs.some((l) => /job 2 keeps running but its resources could not be re-claimed/.test(l)), h.logs.join('\n'));
  });

  void test('reservations: bad names, too many nodes, a duplicate and an unknown one are refused with what to do', () => {
    assert.equal(codeOf(() => h.call('sched.reservation-create', { name: 'bad name', duration: 60 }), /a reservation name is letters/), 'EINVAL');
    assert.equal(codeOf(() => h.call('sched.reservation-create', { name: 'big', duration: 60, nnodes: 3 }), /has 2 node\(s\); cannot reserve 3/), 'EUNSAT');
    assert.equal(codeOf(() => h.call('sched.reservation-create', { name: 'x', duration: 60, ranks: '7' }), /no rank 7/), 'ENOENT');
    h.call('sched.reservation-create', { name: 'maint', start: Date.now() / 1000 + 3600, duration: 60, nnodes: 1 });
    assert.equal(codeOf(() => h.call('sched.reservation-create', { name: 'maint', duration: 60 }), /reservation "maint" exists/), 'EBUSY');
    assert.equal(codeOf(() => h.call('sched.reservation-delete', { name: 'nope' }), /no reservation "nope"/), 'ENOENT');
    assert.equal(codeOf(() => h.call('sched.reservation-update', { name: 'nope', duration: 60 }), /no reservation "nope"/), 'ENOENT');
  });

  void test('a bad setting stops the start with the setting named', async () => {
    await assert.rejects(harness({ 'sched.match': 'random' }), /-o sched\.match=random: use one of/);
    await assert.rejects(harness({ queues: 'a', 'queue.a.ranks': '0-9' }), /-o queue\.a\.ranks=0-9: the instance has ranks 0-1/);
    await assert.rejects(harness({ queues: 'a', 'queue.default': 'b' }), /-o queue\.default=b: no such queue/);
  });
});
