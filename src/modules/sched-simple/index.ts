/**
 * sched-simple: a first-come-first-served scheduler over cores, GPUs and
 * nodes, behind the scheduler protocol (after Flux RFC 27): `sched.hello`,
 * `sched.alloc`, `sched.free`, `sched.cancel`, `sched.prioritize`, plus
 * `sched.feasibility` (used at submit) and `sched.status`.
 *
 * The queue is ordered by priority (high first), then job id. Each pass
 * allocates from the head until a job does not fit (strict FCFS, so large
 * jobs are not starved); the graph scheduler with backfill replaces this.
 */
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { IdSet, Rv1 } from '../../resource/index.js';
import type { JobRequest } from '../../jobspec/index.js';
import type { SchedAllocRequest, SchedAllocResponse, SchedHello } from '../../protocol/index.js';
import { DEFERRED, coalesce, type BrokerModule, type ModuleContext, type Req } from '../../service/index.js';
import { Pool, type RankAlloc, type RankInventory } from './pool.js';

interface Pending {
  id: number;
  priority: number;
  request: JobRequest;
  req: Req;
  /** Canceled: dropped from the queue array at its next read (see cancel). */
  removed?: boolean;
}

export function allocsToR(allocs: RankAlloc[], hostname: (rank: number) => string | undefined, starttime: number, expiration: number): Rv1 {
  return Rv1.fromRanks(
    allocs.map((a) => {
      const h = hostname(a.rank);
      return { rank: a.rank, cores: IdSet.fromArray(a.cores), gpus: IdSet.fromArray(a.gpus), ...(h !== undefined ? { hostname: h } : {}) };
    }),
    { starttime, expiration },
  );
}

export function rToAllocs(R: unknown): RankAlloc[] {
  return Rv1.parse(R).entries().map((e) => ({ rank: e.rank, cores: e.cores.toArray(), gpus: e.gpus.toArray() }));
}

function checkRequest(p: unknown): SchedAllocRequest {
  const r = p as Partial<SchedAllocRequest>;
  if (typeof r?.id !== 'number' || typeof r.priority !== 'number' || typeof r.request !== 'object' || r.request === null) {
    throw invalid('sched.alloc needs {id: number, priority: number, request: JobRequest}');
  }
  return r as SchedAllocRequest;
}

export class SchedSimple implements BrokerModule {
  readonly name = 'sched-simple';
  readonly ranks = 'leader' as const;
  private pool!: Pool;
  private q: Pending[] = [];
  /** Canceled entries still in `q`. */
  private dead = 0;
  private readonly byId = new Map<number, Pending>();
  private readonly allocated = new Map<number, RankAlloc[]>();
  private readonly schedulePass = coalesce(() => this.pass());

  async start(ctx: ModuleContext): Promise<void> {
    const inv = await ctx.rpc<{ ranks: RankInventory[]; drained: number[]; down: number[] }>('resource.acquire', {});
    this.pool = new Pool(inv.ranks);
    for (const r of inv.drained) this.pool.setDrained(r, true);
    for (const r of inv.down) this.pool.setUp(r, false);
    ctx.subscribe('resource.update', (_t, p) => {
      const u = p as { rank: number; drained?: boolean; up?: boolean };
      if (u.drained !== undefined) this.pool.setDrained(u.rank, u.drained);
      if (u.up !== undefined) this.pool.setUp(u.rank, u.up);
      this.schedulePass();
    });
    ctx.register([
      { topic: 'sched.hello', internal: true, handler: (req) => this.hello(req.payload as SchedHello) },
      { topic: 'sched.alloc', internal: true, handler: (req) => this.alloc(req) },
      { topic: 'sched.free', internal: true, handler: (req) => this.free(req.payload as { id: number }) },
      { topic: 'sched.cancel', internal: true, handler: (req) => this.cancel(req.payload as { id: number }) },
      { topic: 'sched.prioritize', internal: true, handler: (req) => this.prioritize(req.payload as { jobs: [number, number][] }) },
      { topic: 'sched.feasibility', internal: true, handler: (req) => this.feasibility(req.payload as { request: JobRequest }) },
      { topic: 'sched.status', handler: () => ({ ranks: this.pool.status(), pending: this.queue.length, running: this.allocated.size }) },
    ]);
  }

  private hello(h: SchedHello): unknown {
    for (const j of h.jobs ?? []) {
      if (this.allocated.has(j.id)) continue;
      const a = rToAllocs(j.R);
      this.pool.claim(a);
      this.allocated.set(j.id, a);
    }
    return { claimed: this.allocated.size };
  }

  private alloc(req: Req): unknown {
    const a = checkRequest(req.payload);
    if (this.byId.has(a.id) || this.allocated.has(a.id)) throw new FractalError(ErrorCodes.BUSY, `job ${a.id} already has an allocation request`);
    const p: Pending = { id: a.id, priority: a.priority, request: a.request, req };
    this.byId.set(a.id, p);
    this.insert(p);
    this.schedulePass();
    return DEFERRED;
  }

  /** The pending jobs in order, without the canceled ones (removed in one pass, not one splice each). */
  private get queue(): Pending[] {
    if (this.dead > 0) {
      this.q = this.q.filter((p) => !p.removed);
      this.dead = 0;
    }
    return this.q;
  }

  private insert(p: Pending): void {
    // Binary search for the first entry that ranks after p.
    let lo = 0, hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid]!;
      if (q.priority > p.priority || (q.priority === p.priority && q.id < p.id)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, p);
  }


  private pass(): void {
    let started = 0;
    while (this.queue.length > started) {
      const p = this.queue[started]!;
      const r = this.pool.alloc(p.request);
      if (typeof r === 'string') break;
      started++;
      this.byId.delete(p.id);
      this.allocated.set(p.id, r);
      const now = Date.now() / 1000;
      const R = allocsToR(r, (rank) => this.pool.hostname(rank), now, p.request.duration > 0 ? now + p.request.duration : 0);
      const resp: SchedAllocResponse = { type: 'success', R: R.toJSON() };
      p.req.respond(resp);
    }
    if (started > 0) this.queue.splice(0, started);
  }

  private free(p: { id: number }): unknown {
    const a = this.allocated.get(p.id);
    if (!a) throw new FractalError(ErrorCodes.NOT_FOUND, `job ${p.id} holds no allocation`);
    this.allocated.delete(p.id);
    this.pool.free(a);
    this.schedulePass();
    return {};
  }

  private cancel(p: { id: number }): unknown {
    const q = this.byId.get(p.id);
    if (!q) return { canceled: false };
    this.byId.delete(p.id);
    // Splicing each of 100,000 canceled jobs out one by one is quadratic: mark it, drop it at the next read.
    q.removed = true;
    this.dead++;
    const resp: SchedAllocResponse = { type: 'canceled' };
    q.req.respond(resp);
    this.schedulePass();
    return { canceled: true };
  }

  private prioritize(p: { jobs: [number, number][] }): unknown {
    for (const [id, prio] of p.jobs ?? []) {
      const q = this.byId.get(id);
      if (q) q.priority = prio;
    }
    this.queue.sort((a, b) => b.priority - a.priority || a.id - b.id);
    this.schedulePass();
    return {};
  }

  private feasibility(p: { request: JobRequest; jobspec?: { attributes?: { system?: { constraints?: object } } } }): unknown {
    if (typeof p?.request !== 'object' || p.request === null) throw invalid('sched.feasibility needs {request: JobRequest}');
    const c = p.jobspec?.attributes?.system?.constraints;
    if (c && Object.keys(c).length > 0) {
      throw new FractalError(ErrorCodes.INVALID_ARGUMENT, 'this instance runs the simple scheduler, which cannot match constraints (--requires); start it with -o sched=graph (the default)');
    }
    const why = this.pool.feasible(p.request);
    if (why) throw new FractalError(ErrorCodes.UNSATISFIABLE, `unsatisfiable request: ${why}`);
    return { feasible: true };
  }

  /** Position of a pending job in the queue (for "why pending"). */
  position(id: number): number {
    const q = this.byId.get(id);
    return q ? this.queue.indexOf(q) : -1;
  }
}
