/**
 * sched: the graph scheduler, behind the scheduler protocol (after Flux RFC
 * 27): `sched.hello`, `sched.alloc`, `sched.free`, `sched.cancel`,
 * `sched.prioritize`, plus `sched.feasibility` (used at submit) and
 * `sched.status`.
 *
 * Resources are a resource graph built from the instance's inventory (one
 * node per rank with its cores and GPUs); jobs are matched by the graph
 * matcher (match policy `-o sched.match=first|low-id|high-id|pack|spread`)
 * and queued by a queue policy from src/sched (`-o sched.policy=fcfs|easy|
 * conservative|hybrid`, `-o sched.queue-depth=N`, `-o
 * sched.reservation-depth=K`). A cycle runs after every change (coalesced);
 * pending jobs are told why they wait and, with a reservation, when they
 * are expected to start, as `annotate` responses on their alloc stream.
 */
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { IdSet, Rv1 } from '../../resource/index.js';
import { FOREVER, MATCH_POLICIES, ResourceGraph, GraphStore, type CompiledJob, type MatchPolicy } from '../../resource/graph/index.js';
import { GraphModel, createPolicy, type PendingJob, type QueuePolicy } from '../../sched/index.js';
import type { JobRequest } from '../../jobspec/index.js';
import type { SchedAllocResponse, SchedHello } from '../../protocol/index.js';
import { DEFERRED, type BrokerModule, type ModuleContext, type Req } from '../../service/index.js';

interface RankInventory {
  rank: number;
  hostname: string;
  ncores: number;
  ngpus: number;
}

interface Pending extends PendingJob {
  priority: number;
  req: Req;
  /** What the job was last told (reason and estimated start), to send only changes. */
  told?: string;
  reservation?: number;
}

interface AllocPayload {
  id: number;
  priority: number;
  t_submit?: number;
  request: JobRequest;
  jobspec: Record<string, unknown>;
}

/**
 * Pending jobs one cycle considers, by policy (like Slurm's
 * default_queue_depth and bf_max_job_test): every job considered by
 * conservative and hybrid gets a reservation, whose search grows with the
 * reservations before it, so they look less deep. See docs/scheduling.md.
 */
const DEFAULT_QUEUE_DEPTH: Record<string, number> = { fcfs: 1000, easy: 1000, hybrid: 100, conservative: 100 };

/** A running job past its expected end may end any moment: plan it this much longer each time. */
const OVERRUN_SECONDS = 10;
/** Reasons are recomputed at most this often when the queue is long (ms). */
const EXPLAIN_INTERVAL_MS = 250;
const EXPLAIN_ALWAYS_BELOW = 200;

function checkAlloc(p: unknown): AllocPayload {
  const r = p as Partial<AllocPayload>;
  if (typeof r?.id !== 'number' || typeof r.priority !== 'number' || typeof r.jobspec !== 'object' || r.jobspec === null || typeof r.request !== 'object') {
    throw invalid('sched.alloc needs {id: number, priority: number, request: JobRequest, jobspec: object}');
  }
  return r as AllocPayload;
}

/**
 * Node properties from instance attributes `resource.property.NAME=RANKS`
 * (e.g. `-o resource.property.bigmem=2-3`, `-o resource.property.gpu-model=a100@0-1`
 * for a valued property): rank → {name: value}.
 */
export function rankProperties(attrs: Record<string, string>): Map<number, Record<string, string>> {
  const out = new Map<number, Record<string, string>>();
  for (const [k, v] of Object.entries(attrs)) {
    if (!k.startsWith('resource.property.')) continue;
    const name = k.slice('resource.property.'.length);
    const at = v.lastIndexOf('@');
    const [value, ranks] = at >= 0 ? [v.slice(0, at), v.slice(at + 1)] : ['', v];
    if (!/^[\w.:-]+$/.test(name)) throw invalid(`-o ${k}: property names are letters, digits and . _ : -`);
    let ids: number[];
    try {
      ids = IdSet.parse(ranks).toArray();
    } catch {
      throw invalid(`-o ${k}=${v}: give the ranks that have it as an idset, e.g. 0-3 or VALUE@0-3`);
    }
    for (const r of ids) out.set(r, { ...out.get(r), [name]: value });
  }
  return out;
}

/** The instance's graph: a cluster with one node per rank, its cores and GPUs. */
export function inventoryGraph(ranks: readonly RankInventory[], properties = new Map<number, Record<string, string>>()): GraphStore {
  const g = new GraphStore();
  const root = g.addVertex({ type: 'cluster', name: 'cluster' }, -1);
  for (const r of [...ranks].sort((a, b) => a.rank - b.rank)) {
    const props = properties.get(r.rank);
    const node = g.addVertex({ type: 'node', name: r.hostname, id: r.rank, rank: r.rank, ...(props ? { properties: props } : {}) }, root);
    for (let c = 0; c < r.ncores; c++) g.addVertex({ type: 'core', id: c }, node);
    for (let c = 0; c < r.ngpus; c++) g.addVertex({ type: 'gpu', id: c }, node);
  }
  return g;
}

export class Scheduler implements BrokerModule {
  readonly name = 'sched';
  readonly ranks = 'leader' as const;
  private ctx!: ModuleContext;
  private graph!: ResourceGraph;
  private model!: GraphModel;
  private policy!: QueuePolicy;
  private policyName = 'fcfs';
  /** Node vertex of each rank. */
  private readonly nodeOf = new Map<number, number>();
  private inventory: RankInventory[] = [];
  private readonly down = new Set<number>();
  private readonly drained = new Set<number>();
  private queue: Pending[] = [];
  private readonly byId = new Map<number, Pending>();
  /** Running jobs: id → expected end (FOREVER when unlimited). */
  private readonly running = new Map<number, number>();
  private readonly compiled = new WeakMap<object, CompiledJob>();
  /** Pending jobs that hold a reservation from the last cycle. */
  private readonly reserved = new Set<number>();
  private cycleScheduled = false;
  private lastExplain = 0;
  private explainTimer: NodeJS.Timeout | undefined;
  private cycles = 0;
  private cycleMs = 0;

  async start(ctx: ModuleContext): Promise<void> {
    this.ctx = ctx;
    const attrs = ctx.broker.attrs;
    this.policyName = attrs['sched.policy'] ?? 'fcfs';
    const num = (k: string): number | undefined => (attrs[k] === undefined ? undefined : Number(attrs[k]));
    this.policy = createPolicy(this.policyName, {
      queueDepth: num('sched.queue-depth') ?? DEFAULT_QUEUE_DEPTH[this.policyName] ?? 1000,
      ...(num('sched.reservation-depth') !== undefined ? { reservationDepth: num('sched.reservation-depth')! } : {}),
    });
    const match = attrs['sched.match'] ?? 'first';
    if (!MATCH_POLICIES.includes(match as MatchPolicy)) throw invalid(`-o sched.match=${match}: use one of ${MATCH_POLICIES.join(', ')}`);

    const inv = await ctx.rpc<{ ranks: RankInventory[]; drained: number[]; down: number[] }>('resource.acquire', {});
    this.inventory = inv.ranks;
    this.graph = new ResourceGraph(inventoryGraph(inv.ranks, rankProperties(attrs)), { policy: match as MatchPolicy, now: Date.now() / 1000 });
    for (const v of this.graph.store.verticesOfType(this.graph.store.typeIndex('node'))) this.nodeOf.set(this.graph.store.rank[v]!, v);
    this.model = new GraphModel(this.graph);
    for (const r of inv.drained) this.setState(r, { drained: true });
    for (const r of inv.down) this.setState(r, { up: false });
    ctx.subscribe('resource.update', (_t, p) => {
      const u = p as { rank: number; drained?: boolean; up?: boolean };
      this.setState(u.rank, u);
      this.scheduleCycle();
    });
    ctx.register([
      { topic: 'sched.hello', internal: true, handler: (req) => this.hello(req.payload as SchedHello) },
      { topic: 'sched.alloc', internal: true, handler: (req) => this.alloc(req) },
      { topic: 'sched.free', internal: true, handler: (req) => this.free(req.payload as { id: number }) },
      { topic: 'sched.cancel', internal: true, handler: (req) => this.cancel(req.payload as { id: number }) },
      { topic: 'sched.prioritize', internal: true, handler: (req) => this.prioritize(req.payload as { jobs: [number, number][] }) },
      { topic: 'sched.feasibility', internal: true, handler: (req) => this.feasibility(req.payload as { jobspec?: unknown }) },
      { topic: 'sched.status', handler: () => this.status() },
    ]);
  }

  stop(): void {
    if (this.explainTimer) clearTimeout(this.explainTimer);
  }

  private setState(rank: number, u: { drained?: boolean; up?: boolean }): void {
    const v = this.nodeOf.get(rank);
    if (v === undefined) return;
    if (u.drained !== undefined) (u.drained ? this.drained.add(rank) : this.drained.delete(rank));
    if (u.up !== undefined) (u.up ? this.down.delete(rank) : this.down.add(rank));
    this.graph.setStatus(v, this.down.has(rank) ? 'down' : this.drained.has(rank) ? 'drained' : 'up');
  }

  private compile(jobspec: Record<string, unknown>): CompiledJob {
    let c = this.compiled.get(jobspec);
    if (c === undefined) {
      try {
        c = this.graph.compile(jobspec);
      } catch (e) {
        throw new FractalError(ErrorCodes.INVALID_ARGUMENT, `the scheduler cannot read this jobspec: ${FractalError.from(e).message}`);
      }
      this.compiled.set(jobspec, c);
    }
    return c;
  }

  // ---- protocol ---------------------------------------------------------------------

  private hello(h: SchedHello): unknown {
    let claimed = 0;
    for (const j of h?.jobs ?? []) {
      if (this.graph.hasJob(j.id)) continue;
      const R = Rv1.parse(j.R);
      const start = R.starttime ?? this.graph.now;
      const end = R.expiration && R.expiration > start ? R.expiration : FOREVER;
      try {
        this.graph.claimR(j.id, R, Math.min(start, this.graph.now), end);
        this.running.set(j.id, end);
        claimed++;
      } catch (e) {
        this.ctx.log(`sched.hello: job ${j.id} keeps running but its resources could not be re-claimed: ${FractalError.from(e).message}`);
      }
    }
    return { claimed };
  }

  private alloc(req: Req): unknown {
    const a = checkAlloc(req.payload);
    if (this.byId.has(a.id) || this.graph.hasJob(a.id)) throw new FractalError(ErrorCodes.BUSY, `job ${a.id} already has an allocation request`);
    const spec = this.compile(a.jobspec);
    const why = this.unsatisfiable(spec, a.request);
    if (why !== undefined) {
      const resp: SchedAllocResponse = { type: 'denied', note: why };
      return resp;
    }
    const limit = spec.duration > 0 ? spec.duration : Infinity;
    const p: Pending = {
      id: a.id, submit: a.t_submit ?? 0, procs: a.request.nslots * a.request.coresPerSlot, limit, spec, priority: a.priority, req,
      ...(a.request.nnodes > 0 ? { nodes: a.request.nnodes } : {}),
    };
    this.byId.set(a.id, p);
    this.insert(p);
    this.scheduleCycle();
    return DEFERRED;
  }

  private insert(p: Pending): void {
    let lo = 0, hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid]!;
      if (q.priority > p.priority || (q.priority === p.priority && q.id < p.id)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, p);
  }

  private free(p: { id: number }): unknown {
    if (!this.graph.hasJob(p?.id)) throw new FractalError(ErrorCodes.NOT_FOUND, `job ${p?.id} holds no allocation`);
    this.graph.free(p.id);
    this.running.delete(p.id);
    this.scheduleCycle();
    return {};
  }

  private cancel(p: { id: number }): unknown {
    const q = this.byId.get(p?.id);
    if (!q) return { canceled: false };
    this.byId.delete(q.id);
    this.queue.splice(this.queue.indexOf(q), 1);
    const resp: SchedAllocResponse = { type: 'canceled' };
    q.req.respond(resp);
    this.scheduleCycle();
    return { canceled: true };
  }

  private prioritize(p: { jobs: [number, number][] }): unknown {
    for (const [id, prio] of p?.jobs ?? []) {
      const q = this.byId.get(id);
      if (q) q.priority = prio;
    }
    this.queue.sort((a, b) => b.priority - a.priority || a.id - b.id);
    this.scheduleCycle();
    return {};
  }

  private feasibility(p: { jobspec?: unknown; request?: JobRequest }): unknown {
    if (typeof p?.jobspec !== 'object' || p.jobspec === null) throw invalid('sched.feasibility needs {jobspec}');
    const why = this.unsatisfiable(this.compile(p.jobspec as Record<string, unknown>), p.request);
    if (why !== undefined) throw new FractalError(ErrorCodes.UNSATISFIABLE, why);
    return { feasible: true };
  }

  /** Why the request can never run here, in the user's terms first and then the graph's; undefined when it can. */
  private unsatisfiable(spec: CompiledJob, req: JobRequest | undefined): string | undefined {
    const why = this.model.infeasible({ procs: 1, spec });
    if (why === undefined) return undefined;
    const inv = this.inventory;
    if (req && req.nnodes > inv.length) return `unsatisfiable request: the job asks for ${req.nnodes} nodes but the instance has ${inv.length}`;
    const cores = Math.max(0, ...inv.map((r) => r.ncores)), gpus = Math.max(0, ...inv.map((r) => r.ngpus));
    const what = req ? `${req.nslots} slot(s) of ${req.coresPerSlot} core(s)${req.gpusPerSlot ? ` + ${req.gpusPerSlot} GPU(s)` : ''}` : 'the request';
    return `unsatisfiable request: the instance cannot hold ${what} (largest node: ${cores} cores, ${gpus} GPUs; ${inv.length} nodes): ${why}`;
  }

  private status(): unknown {
    const g = this.graph;
    const coreT = g.store.typeIndex('core'), gpuT = g.store.typeIndex('gpu');
    const now = Date.now() / 1000;
    const ranks = this.inventory.map((r) => {
      const v = this.nodeOf.get(r.rank)!;
      let freeCores = 0, freeGpus = 0;
      for (const c of g.store.children(v)) {
        if (g.spans.exclusiveDuring(c, now, now + 1)) continue;
        if (g.store.type[c] === coreT) freeCores++;
        else if (g.store.type[c] === gpuT) freeGpus++;
      }
      return { ...r, freeCores, freeGpus, up: !this.down.has(r.rank), drained: this.drained.has(r.rank) };
    });
    const props = new Map<string, number[]>();
    for (const [rank, v] of this.nodeOf) {
      for (const [k, val] of g.store.props.get(v) ?? []) {
        const name = val === '' ? k : `${k}=${val}`;
        props.set(name, [...(props.get(name) ?? []), rank]);
      }
    }
    return {
      scheduler: 'sched', policy: this.policyName, match: g.policy, ranks, types: g.stat(now),
      properties: Object.fromEntries([...props].map(([k, rs]) => [k, IdSet.fromArray(rs).encode()])),
      pending: this.queue.length, running: this.running.size, cycles: this.cycles, cycleMs: Math.round(this.cycleMs * 1000) / 1000,
    };
  }

  // ---- the scheduling cycle ------------------------------------------------------------

  /** Removes started jobs from the queue: usually its head, so a splice; else one pass. */
  private dropStarted(started: ReadonlySet<number>): void {
    let k = 0;
    while (k < this.queue.length && started.has(this.queue[k]!.id)) k++;
    if (k === started.size) this.queue.splice(0, k);
    else this.queue = this.queue.filter((p) => !started.has(p.id));
  }

  private scheduleCycle(): void {
    if (this.cycleScheduled) return;
    this.cycleScheduled = true;
    setImmediate(() => {
      this.cycleScheduled = false;
      this.cycle();
    });
  }

  private cycle(): void {
    if (this.queue.length === 0) return;
    const t0 = performance.now();
    const now = Date.now() / 1000;
    // Jobs past their expected end still hold their resources: push the end out.
    for (const [id, end] of this.running) {
      if (end <= now) {
        const next = now + OVERRUN_SECONDS;
        this.graph.extend(id, next);
        this.running.set(id, next);
      }
    }
    const explain = this.queue.length < EXPLAIN_ALWAYS_BELOW || Date.now() - this.lastExplain >= EXPLAIN_INTERVAL_MS;
    if (explain) this.lastExplain = Date.now();
    const profile = this.model.profile(now, []);
    const plan = this.policy.plan({ now, pending: this.queue, running: [], resources: { description: 'graph', infeasible: (j) => this.model.infeasible(j), profile: () => profile }, explain });
    const started = new Set(plan.start.map((j) => j.id));
    profile.release(started);
    for (const j of plan.start) {
      const p = j as Pending;
      this.byId.delete(p.id);
      const info = this.graph.info(p.id)!;
      this.running.set(p.id, info.end);
      const resp: SchedAllocResponse = { type: 'success', R: this.graph.rv1(p.id).toJSON() };
      p.req.respond(resp);
    }
    if (started.size > 0) this.dropStarted(started);
    // Conservative keeps its promises: each job hands its reservation back next cycle.
    for (const id of this.reserved) {
      const p = this.byId.get(id);
      if (p && !plan.reservations.has(id)) delete p.reservation;
    }
    this.reserved.clear();
    for (const [id, at] of plan.reservations) {
      const p = this.byId.get(id);
      if (!p) continue;
      p.reservation = at;
      this.reserved.add(id);
    }
    if (plan.waiting) {
      for (const [id, w] of plan.waiting) {
        const p = this.byId.get(id);
        if (!p) continue;
        const t = w.start !== undefined && Number.isFinite(w.start) ? w.start : undefined;
        const told = `${w.reason}:${t ?? ''}`;
        if (told === p.told) continue;
        p.told = told;
        p.req.respond({ type: 'annotate', annotations: { sched: { reason_pending: w.reason, ...(t !== undefined ? { t_estimate: t } : {}) } } }, true);
      }
    } else if (!this.explainTimer) {
      this.explainTimer = setTimeout(() => {
        this.explainTimer = undefined;
        this.lastExplain = 0;
        this.scheduleCycle();
      }, EXPLAIN_INTERVAL_MS);
    }
    this.cycles++;
    this.cycleMs = performance.now() - t0;
    if (plan.more) this.scheduleCycle();
  }
}
