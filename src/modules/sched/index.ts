/**
 * sched: the graph scheduler, behind the scheduler protocol (after Flux RFC
 * 27): `sched.hello`, `sched.alloc`, `sched.free`, `sched.cancel`,
 * `sched.prioritize`, plus `sched.feasibility` (used at submit),
 * `sched.status` and advance reservations (`sched.reservation-{create,
 * update,delete,list}`).
 *
 * Resources are a resource graph built from the instance's inventory (one
 * node per rank with its cores and GPUs); jobs are matched by the graph
 * matcher (match policy `-o sched.match=first|low-id|high-id|pack|spread`)
 * and queued by a queue policy from src/sched (`-o sched.policy=fcfs|easy|
 * conservative|hybrid`, `-o sched.queue-depth=N`, `-o
 * sched.reservation-depth=K`). A cycle runs after every change (coalesced);
 * pending jobs are told why they wait and, with a reservation, when they
 * are expected to start, as `annotate` responses on their alloc stream.
 *
 * Partitions: the whole machine, and one per advance reservation. A
 * reservation holds its nodes in the machine's graph over [start, end) (so
 * no other job overlaps it, and a job that would still run at its start does
 * not start there); its jobs are matched in a graph of its own nodes, only
 * while it is active.
 */
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { parseDuration } from '../../jobspec/index.js';
import { Hostlist, IdSet, Rv1 } from '../../resource/index.js';
import { FOREVER, MATCH_POLICIES, ResourceGraph, GraphStore, type CompiledJob, type MatchPolicy } from '../../resource/graph/index.js';
import { GraphModel, createPolicy, type PendingJob, type QueuePolicy } from '../../sched/index.js';
import { access, checkName, mayUse, reservationOf, window, type Reservation, type ReservationRequest } from './reservations.js';
import type { JobRequest } from '../../jobspec/index.js';
import type { SchedAllocResponse, SchedHello } from '../../protocol/index.js';
import { userName } from '../../users/index.js';
import { DEFERRED, coalesce, type BrokerModule, type ModuleContext, type Req } from '../../service/index.js';

interface RankInventory {
  rank: number;
  hostname: string;
  ncores: number;
  ngpus: number;
}

interface Pending extends PendingJob {
  priority: number;
  req: Req;
  part: Part;
  /** Running jobs were preempted for it: it goes first, so that it (not the requeued victims) gets their resources. */
  preemptor?: boolean;
  /** What the job was last told (reason and estimated start), to send only changes. */
  told?: string;
  reservation?: number;
  /** Canceled: still in its part's array until the next compaction (see Part.remove). */
  removed?: boolean;
}

interface AllocPayload {
  id: number;
  priority: number;
  userid?: number;
  t_submit?: number;
  request: JobRequest;
  jobspec: Record<string, unknown>;
}

/** Blocked jobs per partition and cycle that may look for jobs to preempt. */
const PREEMPT_TRIES_PER_CYCLE = 4;
/** Job id of the trial match during a preemption search. */
const PREEMPT_PROBE = 2 ** 51;

/** The QOS a compiled jobspec asks for. */
function qosOfSpec(spec: CompiledJob): string | undefined {
  const q = (spec.jobspec.attributes.system as { qos?: unknown } | undefined)?.qos;
  return typeof q === 'string' ? q : undefined;
}

/** Job id under which a reservation holds its nodes in the machine's graph (above any real job id). */
const HOLD_BASE = 2 ** 50;
/** The store key of the reservations. */
const RESERVATIONS_KEY = 'sched.reservations';

/** A named queue's settings (`-o queues=a,b -o queue.a.ranks=0-3 -o queue.a.policy=easy ...`). */
export interface QueueSettings {
  name: string;
  policy: QueuePolicy;
  policyName: string;
  /** Ranks (an idset) the queue's jobs may use; undefined: all. */
  ranks?: string;
  /** Seconds; undefined: no limit. */
  maxDuration?: number;
  maxNodes?: number;
}

/** Queue order: preemptors first, then priority (high first), then submit order. */
function before(a: Pending, b: Pending): number {
  return (b.preemptor ? 1 : 0) - (a.preemptor ? 1 : 0) || b.priority - a.priority || a.id - b.id;
}

/** A graph and the jobs scheduled in it: the whole machine, or one reservation. */
class Part {
  readonly model: GraphModel;
  private q: Pending[] = [];
  /** Entries of `q` marked removed, dropped in one pass when the queue is next read. */
  private dead = 0;
  /** Running jobs: id → expected end (FOREVER when unlimited). */
  readonly running = new Map<number, number>();
  /** The QOS of running jobs that have one (preemption looks for victims here). */
  readonly runningQos = new Map<number, string>();
  /** Pending jobs that hold a reservation from the last cycle. */
  readonly reserved = new Set<number>();
  readonly compiled = new WeakMap<object, CompiledJob>();

  /** A named queue (RFC 33): its own policy, limits and ranks of the machine's graph. */
  queue_?: QueueSettings;

  constructor(readonly graph: ResourceGraph, readonly resv?: Reservation, readonly holdId = 0) {
    this.model = new GraphModel(graph);
  }

  /** The jobs' constraints, narrowed to the queue's ranks when it has some. */
  private narrowed(jobspec: Record<string, unknown>): Record<string, unknown> {
    const ranks = this.queue_?.ranks;
    if (ranks === undefined) return jobspec;
    const attrs = (jobspec['attributes'] ?? {}) as { system?: Record<string, unknown> };
    const sys = attrs.system ?? {};
    const own = sys['constraints'] as Record<string, unknown> | undefined;
    const mine = { ranks: [ranks] };
    const constraints = own && Object.keys(own).length ? { and: [own, mine] } : mine;
    return { ...jobspec, attributes: { ...attrs, system: { ...sys, constraints } } };
  }

  compile(jobspec: Record<string, unknown>): CompiledJob {
    let c = this.compiled.get(jobspec);
    if (c === undefined) {
      try {
        c = this.graph.compile(this.narrowed(jobspec));
      } catch (e) {
        throw new FractalError(ErrorCodes.INVALID_ARGUMENT, `the scheduler cannot read this jobspec: ${FractalError.from(e).message}`);
      }
      this.compiled.set(jobspec, c);
    }
    return c;
  }

  /** The pending jobs in queue order (a canceled job leaves it here). */
  get queue(): Pending[] {
    if (this.dead > 0) {
      this.q = this.q.filter((p) => !p.removed);
      this.dead = 0;
    }
    return this.q;
  }

  set queue(v: Pending[]) {
    this.q = v;
    this.dead = 0;
  }

  /**
   * Removes a job in O(1): splicing each of 100,000 canceled jobs out of the
   * array one at a time is quadratic (seconds of memmove); the marked ones
   * go in one filter when the queue is read next (the cycle, a listing).
   */
  remove(p: Pending): void {
    if (p.removed) return;
    p.removed = true;
    this.dead++;
  }

  insert(p: Pending): void {
    let lo = 0, hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(this.queue[mid]!, p) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, p);
  }

  sort(): void {
    this.queue.sort(before);
  }

  /** Removes started jobs from the queue: usually its head, so a splice; else one pass. */
  dropStarted(started: ReadonlySet<number>): void {
    let k = 0;
    while (k < this.queue.length && started.has(this.queue[k]!.id)) k++;
    if (k === started.size) this.queue.splice(0, k);
    else this.queue = this.queue.filter((p) => !started.has(p.id));
  }
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
  /** The whole machine: the graph, and the default queue's jobs. */
  private main!: Part;
  /** Named queues (RFC 33), sharing the machine's graph; empty when none are configured. */
  private readonly queues = new Map<string, Part>();
  private defaultQueue: string | undefined;
  /** Active and future reservations, by name. */
  private readonly resv = new Map<string, Part>();
  private policy!: QueuePolicy;
  private policyName = 'fcfs';
  private match: MatchPolicy = 'first';
  private properties = new Map<number, Record<string, string>>();
  /** Node vertex of each rank in the machine's graph. */
  private readonly nodeOf = new Map<number, number>();
  private inventory: RankInventory[] = [];
  private readonly down = new Set<number>();
  private readonly drained = new Set<number>();
  /** Pending jobs by id (in any partition). */
  private readonly byId = new Map<number, Pending>();
  /** The partition of every job holding resources. */
  private readonly holder = new Map<number, Part>();
  private holdSeq = 0;
  private helloDone = false;
  private readonly scheduleCycle = coalesce(() => this.cycle());
  private lastExplain = 0;
  /** What the last explaining cycle cost (ms): it visits every pending job. */
  private explainMs = 0;
  private explainTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private cycles = 0;
  private cycleMs = 0;
  /** QOS levels (from the accounting module): priority, whom they preempt, and how their own jobs are preempted. */
  private qos = new Map<string, { priority: number; preempt: string[]; mode: string }>();
  /** Running jobs asked to stop for a preemptor (not chosen again). */
  private readonly preempting = new Set<number>();
  private preemptions = 0;

  async start(ctx: ModuleContext): Promise<void> {
    this.ctx = ctx;
    const attrs = ctx.broker.attrs;
    ctx.subscribe('accounting.update', (_t, p) => {
      this.qos = new Map(Object.entries((p as { qos?: Record<string, { priority: number; preempt: string[]; mode: string }> }).qos ?? {}));
    });
    this.policyName = attrs['sched.policy'] ?? 'fcfs';
    const num = (k: string): number | undefined => (attrs[k] === undefined ? undefined : Number(attrs[k]));
    this.policy = createPolicy(this.policyName, {
      queueDepth: num('sched.queue-depth') ?? DEFAULT_QUEUE_DEPTH[this.policyName] ?? 1000,
      ...(num('sched.reservation-depth') !== undefined ? { reservationDepth: num('sched.reservation-depth')! } : {}),
    });
    const match = attrs['sched.match'] ?? 'first';
    if (!MATCH_POLICIES.includes(match as MatchPolicy)) throw invalid(`-o sched.match=${match}: use one of ${MATCH_POLICIES.join(', ')}`);
    this.match = match as MatchPolicy;
    this.properties = rankProperties(attrs);

    const inv = await ctx.rpc<{ ranks: RankInventory[]; drained: number[]; down: number[] }>('resource.acquire', {});
    this.inventory = inv.ranks;
    this.main = new Part(this.graphOf(inv.ranks));
    const g = this.main.graph;
    for (const v of g.store.verticesOfType(g.store.typeIndex('node'))) this.nodeOf.set(g.store.rank[v]!, v);
    this.configureQueues(attrs, (policy) => num('sched.queue-depth') ?? DEFAULT_QUEUE_DEPTH[policy] ?? 1000);
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
      { topic: 'sched.feasibility', internal: true, handler: (req) => this.feasibility(req.payload as FeasibilityRequest) },
      { topic: 'sched.status', handler: () => this.status() },
      { topic: 'sched.reservation-create', ownerOnly: true, handler: (req) => this.createReservation(req.payload as ReservationRequest) },
      { topic: 'sched.reservation-update', ownerOnly: true, handler: (req) => this.updateReservation(req.payload as ReservationRequest) },
      { topic: 'sched.reservation-delete', ownerOnly: true, handler: (req) => this.deleteReservation(req.payload as { name: string }) },
      { topic: 'sched.reservation-list', handler: () => this.listReservations() },
      { topic: 'sched.queue-list', handler: () => this.listQueues() },
    ]);
    // Reservations are held once the running jobs are re-claimed (sched.hello), or
    // right away when the job manager has none to report.
    setImmediate(() => this.holdSavedReservations());
  }

  /** Where running jobs of unknown queue go (after a restart): the default queue, or the machine's one queue. */
  private home(): Part {
    return this.queues.get(this.defaultQueue ?? '') ?? this.main;
  }

  /** Every partition: the queues (or the machine's single queue), then the reservations. */
  private parts(): Part[] {
    return [...(this.queues.size ? this.queues.values() : [this.main]), ...this.resv.values()];
  }

  /** Named queues from the attributes: queues=a,b and queue.NAME.{ranks,policy,queue-depth,max-duration,max-nodes}. */
  private configureQueues(attrs: Record<string, string>, depth: (policy: string) => number): void {
    const names = (attrs['queues'] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    for (const name of names) {
      checkName(name);
      const a = (k: string): string | undefined => attrs[`queue.${name}.${k}`];
      const policyName = a('policy') ?? this.policyName;
      const q: QueueSettings = { name, policyName, policy: createPolicy(policyName, { queueDepth: a('queue-depth') !== undefined ? Number(a('queue-depth')) : depth(policyName) }) };
      const ranks = a('ranks');
      if (ranks !== undefined) {
        let ids: number[];
        try {
          ids = IdSet.parse(ranks).toArray();
        } catch {
          throw invalid(`-o queue.${name}.ranks=${ranks}: give an idset of ranks, e.g. 0-3`);
        }
        const bad = ids.filter((r) => !this.nodeOf.has(r));
        if (bad.length || ids.length === 0) throw invalid(`-o queue.${name}.ranks=${ranks}: the instance has ranks 0-${this.inventory.length - 1}`);
        q.ranks = IdSet.fromArray(ids).encode();
      }
      const md = a('max-duration');
      if (md !== undefined) q.maxDuration = parseDuration(md);
      const mn = a('max-nodes');
      if (mn !== undefined) {
        q.maxNodes = Number(mn);
        if (!Number.isInteger(q.maxNodes) || q.maxNodes < 1) throw invalid(`-o queue.${name}.max-nodes=${mn}: a whole number >= 1`);
      }
      const part = new Part(this.main.graph);
      part.queue_ = q;
      this.queues.set(name, part);
    }
    for (const k of Object.keys(attrs)) {
      const m = /^queue\.([^.]+)\./.exec(k);
      if (m && !this.queues.has(m[1]!)) throw invalid(`-o ${k}: no queue "${m[1]}"; list the queues first with -o queues=${[...this.queues.keys(), m[1]].join(',')}`);
    }
    this.defaultQueue = attrs['queue.default'] ?? names[0];
    if (this.defaultQueue !== undefined && !this.queues.has(this.defaultQueue)) throw invalid(`-o queue.default=${this.defaultQueue}: no such queue (queues: ${names.join(', ')})`);
  }

  /** The partition a job goes to: its reservation, else its queue. Throws with what to do. */
  private partOf(jobspec: Record<string, unknown>): Part {
    const name = reservationOf(jobspec);
    if (name !== undefined) {
      const r = this.resv.get(name);
      if (!r) throw new FractalError(ErrorCodes.NOT_FOUND, `no reservation "${name}"; see \`fractal reservation list\``);
      return r;
    }
    const q = ((jobspec['attributes'] as { system?: { queue?: unknown } } | undefined)?.system)?.queue;
    if (q === undefined) return this.queues.get(this.defaultQueue ?? '') ?? this.main;
    if (typeof q !== 'string' || !this.queues.has(q)) {
      throw new FractalError(ErrorCodes.NOT_FOUND, this.queues.size ? `no queue "${String(q)}"; the queues are ${[...this.queues.keys()].join(', ')} (see \`fractal queue list\`)` : `this instance has no named queues; submit without --queue`);
    }
    return this.queues.get(q)!;
  }

  stop(): void {
    if (this.explainTimer) clearTimeout(this.explainTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
  }

  private graphOf(ranks: readonly RankInventory[]): ResourceGraph {
    return new ResourceGraph(inventoryGraph(ranks, this.properties), { policy: this.match, now: Date.now() / 1000 });
  }

  private setState(rank: number, u: { drained?: boolean; up?: boolean }): void {
    if (u.drained !== undefined) (u.drained ? this.drained.add(rank) : this.drained.delete(rank));
    if (u.up !== undefined) (u.up ? this.down.delete(rank) : this.down.add(rank));
    const status = this.down.has(rank) ? 'down' : this.drained.has(rank) ? 'drained' : 'up';
    for (const part of [this.main, ...this.resv.values()]) {
      const g = part.graph;
      const v = part === this.main ? this.nodeOf.get(rank) : g.store.verticesOfType(g.store.typeIndex('node')).find((x) => g.store.rank[x] === rank);
      if (v !== undefined) g.setStatus(v, status);
    }
  }

  // ---- protocol ---------------------------------------------------------------------

  private hello(h: SchedHello): unknown {
    if (h?.jobs !== undefined && (!Array.isArray(h.jobs) || h.jobs.some((j) => !Number.isInteger(j?.id)))) throw invalid('sched.hello needs {jobs: [{id: number, R: object}]}');
    let claimed = 0;
    for (const j of h?.jobs ?? []) {
      if (this.holder.has(j.id)) continue;
      const R = Rv1.parse(j.R);
      const start = R.starttime ?? Date.now() / 1000;
      const end = R.expiration && R.expiration > start ? R.expiration : FOREVER;
      const part = (j.reservation !== undefined ? this.resv.get(j.reservation) : undefined) ?? this.home();
      try {
        part.graph.claimR(j.id, R, Math.min(start, part.graph.now), end);
        part.running.set(j.id, end);
        this.holder.set(j.id, part);
        claimed++;
      } catch (e) {
        this.ctx.log(`sched.hello: job ${j.id} keeps running but its resources could not be re-claimed: ${FractalError.from(e).message}`);
      }
    }
    this.holdSavedReservations();
    return { claimed };
  }

  private alloc(req: Req): unknown {
    const a = checkAlloc(req.payload);
    if (this.byId.has(a.id) || this.holder.has(a.id)) throw new FractalError(ErrorCodes.BUSY, `job ${a.id} already has an allocation request`);
    const deny = (note: string): SchedAllocResponse => ({ type: 'denied', note });
    let part: Part;
    try {
      part = this.partOf(a.jobspec);
    } catch (e) {
      return deny(FractalError.from(e).message);
    }
    const spec = part.compile(a.jobspec);
    const why = this.unsatisfiable(part, spec, a.request);
    if (why !== undefined) return deny(why);
    const limit = spec.duration > 0 ? spec.duration : Infinity;
    const p: Pending = {
      id: a.id, submit: a.t_submit ?? 0, procs: a.request.nslots * a.request.coresPerSlot, limit, spec, priority: a.priority, req, part,
      ...(a.request.nnodes > 0 ? { nodes: a.request.nnodes } : {}),
    };
    this.byId.set(a.id, p);
    part.insert(p);
    this.scheduleCycle();
    return DEFERRED;
  }

  private free(p: { id: number }): unknown {
    const part = this.holder.get(p?.id);
    if (!part) throw new FractalError(ErrorCodes.NOT_FOUND, `job ${p?.id} holds no allocation`);
    if (part.graph.hasJob(p.id)) part.graph.free(p.id);
    part.running.delete(p.id);
    part.runningQos.delete(p.id);
    this.preempting.delete(p.id);
    this.holder.delete(p.id);
    this.scheduleCycle();
    return {};
  }

  private cancel(p: { id: number }): unknown {
    if (!Number.isInteger(p?.id)) throw invalid('sched.cancel needs {id: number}');
    const q = this.byId.get(p.id);
    if (!q) return { canceled: false };
    this.byId.delete(q.id);
    q.part.remove(q);
    const resp: SchedAllocResponse = { type: 'canceled' };
    q.req.respond(resp);
    this.scheduleCycle();
    return { canceled: true };
  }

  private prioritize(p: { jobs: [number, number][] }): unknown {
    const jobs: unknown = p?.jobs ?? [];
    if (!Array.isArray(jobs) || jobs.some((j) => !Array.isArray(j) || j.length !== 2 || typeof j[0] !== 'number' || typeof j[1] !== 'number')) throw invalid('sched.prioritize needs {jobs: [[id, priority], ...]}');
    for (const [id, prio] of jobs as [number, number][]) {
      const q = this.byId.get(id);
      if (q) q.priority = prio;
    }
    for (const part of this.parts()) part.sort();
    this.scheduleCycle();
    return {};
  }

  private feasibility(p: FeasibilityRequest): unknown {
    if (typeof p?.jobspec !== 'object' || p.jobspec === null) throw invalid('sched.feasibility needs {jobspec}');
    const jobspec = p.jobspec as Record<string, unknown>;
    const part = this.partOf(jobspec);
    const name = part.resv?.name;
    if (part.resv) {
      const user = p.userid === undefined ? '' : userName(p.userid);
      if (!mayUse(part.resv, user, p.account, p.owner === true)) {
        throw new FractalError(ErrorCodes.PERMISSION, `user ${user} may not use reservation "${name}" (it is for ${describeAccess(part.resv)})`);
      }
    }
    const spec = part.compile(jobspec);
    const q = part.queue_;
    if (q?.maxDuration !== undefined && !(spec.duration > 0 && spec.duration <= q.maxDuration)) {
      throw invalid(`queue ${q.name} runs jobs of at most ${shortSeconds(q.maxDuration)}; give a time limit within it (-t ${shortSeconds(q.maxDuration)})`);
    }
    if (q?.maxNodes !== undefined && (p.request?.nnodes ?? 0) > q.maxNodes) {
      throw invalid(`queue ${q.name} runs jobs of at most ${q.maxNodes} node(s); this one asks for ${p.request!.nnodes}`);
    }
    if (part.resv) {
      const len = part.resv.end - part.resv.start;
      if (!(spec.duration > 0)) throw invalid(`a job in reservation "${name}" needs a time limit (-t) that fits its ${shortSeconds(len)}`);
      if (spec.duration > len) throw new FractalError(ErrorCodes.UNSATISFIABLE, `the job's time limit (${shortSeconds(spec.duration)}) is longer than reservation "${name}" (${shortSeconds(len)})`);
    }
    const why = this.unsatisfiable(part, spec, p.request);
    if (why !== undefined) throw new FractalError(ErrorCodes.UNSATISFIABLE, why);
    return { feasible: true };
  }

  /** Why the request can never run in `part`, in the user's terms first and then the graph's; undefined when it can. */
  private unsatisfiable(part: Part, spec: CompiledJob, req: JobRequest | undefined): string | undefined {
    const why = part.model.infeasible({ procs: 1, spec });
    if (why === undefined) return undefined;
    const qranks = part.queue_?.ranks !== undefined ? IdSet.parse(part.queue_.ranks).toArray() : undefined;
    const inv = part.resv ? this.inventory.filter((r) => part.resv!.ranks.includes(r.rank)) : qranks ? this.inventory.filter((r) => qranks.includes(r.rank)) : this.inventory;
    const where = part.resv ? `reservation "${part.resv.name}"` : part.queue_ ? `queue ${part.queue_.name}` : 'the instance';
    if (req && req.nnodes > inv.length) return `unsatisfiable request: the job asks for ${req.nnodes} nodes but ${where} has ${inv.length}`;
    const cores = Math.max(0, ...inv.map((r) => r.ncores)), gpus = Math.max(0, ...inv.map((r) => r.ngpus));
    const what = req ? `${req.nslots} slot(s) of ${req.coresPerSlot} core(s)${req.gpusPerSlot ? ` + ${req.gpusPerSlot} GPU(s)` : ''}` : 'the request';
    return `unsatisfiable request: ${where} cannot hold ${what} (largest node: ${cores} cores, ${gpus} GPUs; ${inv.length} nodes): ${why}`;
  }

  private status(): unknown {
    const g = this.main.graph;
    const coreT = g.store.typeIndex('core'), gpuT = g.store.typeIndex('gpu');
    const now = Date.now() / 1000;
    // A core is busy when a job or an active reservation holds it.
    const busy = (v: number): boolean => g.spans.exclusiveDuring(v, now, now + 1);
    const ranks = this.inventory.map((r) => {
      const v = this.nodeOf.get(r.rank)!;
      let freeCores = 0, freeGpus = 0;
      for (const c of g.store.children(v)) {
        if (busy(c)) continue;
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
    let pending = 0, running = 0;
    for (const part of this.parts()) {
      pending += part.queue.length;
      running += part.running.size;
    }
    return {
      scheduler: 'sched', policy: this.policyName, match: g.policy, ranks, types: g.stat(now),
      properties: Object.fromEntries([...props].map(([k, rs]) => [k, IdSet.fromArray(rs).encode()])),
      pending, running, reservations: this.resv.size, preemptions: this.preemptions, cycles: this.cycles, cycleMs: Math.round(this.cycleMs * 1000) / 1000,
    };
  }

  // ---- advance reservations ---------------------------------------------------------------

  /** Ranks named by a request: `ranks` (an idset) or `nodes` (host names are ambiguous on one machine, so ranks are preferred). */
  private requestedRanks(p: ReservationRequest): number[] | undefined {
    const spec = p.ranks ?? p.nodes;
    if (spec === undefined) return undefined;
    const text = String(spec);
    let ranks: number[];
    if (/^[\d,\-[\]\s]+$/.test(text)) {
      try {
        ranks = IdSet.parse(text.replace(/\s/g, '')).toArray();
      } catch {
        throw invalid(`--nodes "${text}" is not an idset of ranks; use e.g. 0-3,7`);
      }
    } else {
      ranks = [];
      for (const h of Hostlist.parse(text).toArray()) {
        const m = this.inventory.filter((r) => r.hostname === h);
        if (m.length !== 1) throw invalid(`--nodes: ${m.length ? `${m.length} ranks are named "${h}"; give ranks instead (e.g. 0-3)` : `no node named "${h}" (see \`fractal resource status\`)`}`);
        ranks.push(m[0]!.rank);
      }
    }
    for (const r of ranks) if (!this.nodeOf.has(r)) throw new FractalError(ErrorCodes.NOT_FOUND, `no rank ${r}: the instance has ranks 0-${this.inventory.length - 1}`);
    if (ranks.length === 0) throw invalid('--ranks names no rank');
    return ranks;
  }

  /** Holds nodes for `r` in the machine's graph; returns the hold's job id. Throws BUSY when they are not free then. */
  private hold(r: { start: number; end: number }, ranks: number[] | undefined, nodes: number | undefined): { id: number; ranks: number[] } {
    const g = this.main.graph;
    const id = HOLD_BASE + ++this.holdSeq;
    const now = Date.now() / 1000;
    const at = Math.max(r.start, now);
    if (ranks === undefined) {
      const n = nodes ?? 1;
      if (!Number.isInteger(n) || n < 1) throw invalid(`give a number of nodes >= 1 (-N), got ${String(nodes)}`);
      if (n > this.inventory.length) throw new FractalError(ErrorCodes.UNSATISFIABLE, `the instance has ${this.inventory.length} node(s); cannot reserve ${n}`);
      const jobspec = {
        version: 1,
        resources: [{ type: 'node', count: n, exclusive: true, with: [{ type: 'slot', count: 1, label: 'task', with: [{ type: 'core', count: 1 }] }] }],
        tasks: [{ command: ['reservation'], slot: 'task', count: { per_slot: 1 } }],
        attributes: { system: { duration: r.end - at } },
      };
      const m = g.match(jobspec, { at, jobid: id, nodeExclusive: true });
      if (m.outcome !== 'ALLOCATED') {
        throw new FractalError(ErrorCodes.BUSY, `no ${n} node(s) are free for the whole reservation: running jobs without a time limit, or with one past its start, or other reservations hold them; pick nodes with --nodes, a later start, or fewer nodes`);
      }
      return { id, ranks: g.rv1(id).entries().map((e) => e.rank) };
    }
    const verts: number[] = [];
    for (const rank of ranks) for (const v of g.store.subtree(this.nodeOf.get(rank)!)) verts.push(v);
    try {
      g.claim(id, verts, at, r.end);
    } catch (e) {
      throw new FractalError(ErrorCodes.BUSY, `cannot reserve ranks ${IdSet.fromArray(ranks).encode()} from ${new Date(at * 1000).toISOString()}: ${FractalError.from(e).message} (a job there runs past the start or has no time limit, or another reservation overlaps)`);
    }
    return { id, ranks };
  }

  private makePart(r: Reservation, holdId: number): Part {
    const inv = this.inventory.filter((x) => r.ranks.includes(x.rank));
    const part = new Part(this.graphOf(inv), r, holdId);
    for (const rank of r.ranks) {
      if (this.down.has(rank) || this.drained.has(rank)) {
        const g = part.graph;
        const v = g.store.verticesOfType(g.store.typeIndex('node')).find((x) => g.store.rank[x] === rank);
        if (v !== undefined) g.setStatus(v, this.down.has(rank) ? 'down' : 'drained');
      }
    }
    return part;
  }

  private createReservation(p: ReservationRequest & { nnodes?: unknown }): unknown {
    const name = checkName(p?.name);
    if (this.resv.has(name)) throw new FractalError(ErrorCodes.BUSY, `reservation "${name}" exists; change it with \`fractal reservation update\` or delete it first`);
    const now = Date.now() / 1000;
    const w = window(p, now);
    const who = access(p);
    const held = this.hold(w, this.requestedRanks(p), p.nnodes === undefined ? undefined : Number(p.nnodes));
    const r: Reservation = { name, ...w, ranks: held.ranks, ...who };
    this.resv.set(name, this.makePart(r, held.id));
    this.saveReservations();
    this.scheduleCycle();
    return describe(r);
  }

  private updateReservation(p: ReservationRequest & { nnodes?: unknown }): unknown {
    const name = checkName(p?.name);
    const part = this.resv.get(name);
    if (!part) throw new FractalError(ErrorCodes.NOT_FOUND, `no reservation "${name}"`);
    const old = part.resv!;
    const w = window(p, Date.now() / 1000, old);
    const who = access(p, old);
    const ranks = this.requestedRanks(p) ?? (p.nnodes === undefined ? old.ranks : undefined);
    if (part.running.size > 0 && (w.start !== old.start || ranks?.join() !== old.ranks.join())) {
      throw new FractalError(ErrorCodes.BUSY, `reservation "${name}" has running jobs; only its end and its users can change now`);
    }
    // Give the old hold back, try the new one, restore the old on failure.
    this.main.graph.free(part.holdId);
    let held;
    try {
      held = this.hold(w, ranks, p.nnodes === undefined ? undefined : Number(p.nnodes));
    } catch (e) {
      this.main.graph.claim(part.holdId, this.holdVertices(old.ranks), Math.max(old.start, Date.now() / 1000), old.end);
      throw e;
    }
    const r: Reservation = { name, ...w, ranks: held.ranks, ...who };
    const next = ranks?.join() === old.ranks.join() && part.running.size > 0 ? part : this.makePart(r, held.id);
    if (next === part) {
      // Same nodes with running jobs: keep the partition, with the new window and users.
      Object.assign(part.resv!, r);
      (part as { holdId: number }).holdId = held.id;
    } else {
      for (const q of part.queue) { q.part = next; next.insert(q); }
      this.resv.set(name, next);
    }
    this.saveReservations();
    this.scheduleCycle();
    return describe(r);
  }

  private holdVertices(ranks: number[]): number[] {
    const g = this.main.graph;
    return ranks.flatMap((rank) => g.store.subtree(this.nodeOf.get(rank)!));
  }

  private deleteReservation(p: { name: string }): unknown {
    const name = checkName(p?.name);
    const part = this.resv.get(name);
    if (!part) throw new FractalError(ErrorCodes.NOT_FOUND, `no reservation "${name}"`);
    this.endReservation(part, `reservation "${name}" was deleted`);
    return {};
  }

  /** Removes a reservation: its pending jobs are denied; running ones keep their nodes until they end. */
  private endReservation(part: Part, why: string): void {
    const r = part.resv!;
    for (const q of part.queue) {
      this.byId.delete(q.id);
      const resp: SchedAllocResponse = { type: 'denied', note: why };
      q.req.respond(resp);
    }
    part.queue = [];
    if (this.main.graph.hasJob(part.holdId)) this.main.graph.free(part.holdId);
    // Running jobs of the reservation go on holding their cores in the machine's graph.
    for (const [id, end] of part.running) {
      const R = part.graph.rv1(id);
      part.graph.free(id);
      try {
        this.main.graph.claimR(id, R, Date.now() / 1000, end);
        this.home().running.set(id, end);
        this.holder.set(id, this.home());
      } catch (e) {
        this.ctx.log(`reservation ${r.name}: job ${id}'s resources could not move to the machine: ${FractalError.from(e).message}`);
      }
    }
    this.resv.delete(r.name);
    this.saveReservations();
    this.scheduleCycle();
  }

  private listQueues(): unknown {
    return {
      queues: [...this.queues.values()].map((p) => {
        const q = p.queue_!;
        return {
          name: q.name, default: q.name === this.defaultQueue, policy: q.policyName, ranks: q.ranks ?? 'all',
          maxDuration: q.maxDuration ?? null, maxNodes: q.maxNodes ?? null, pending: p.queue.length, running: p.running.size,
        };
      }),
    };
  }

  private listReservations(): unknown {
    return { reservations: [...this.resv.values()].map((p) => ({ ...describe(p.resv!), pending: p.queue.length, running: p.running.size })) };
  }

  private saveReservations(): void {
    this.ctx.store?.kvPut(RESERVATIONS_KEY, [...this.resv.values()].map((p) => p.resv!));
  }

  /** After a restart: hold the saved reservations again (once). */
  private holdSavedReservations(): void {
    if (this.helloDone) return;
    this.helloDone = true;
    const now = Date.now() / 1000;
    for (const r of this.ctx.store?.kvGet<Reservation[]>(RESERVATIONS_KEY) ?? []) {
      if (r.end <= now || this.resv.has(r.name)) continue;
      let id = HOLD_BASE + ++this.holdSeq;
      try {
        id = this.hold(r, r.ranks, undefined).id;
      } catch (e) {
        // Keep the reservation (its nodes are busy with jobs that outlived the restart); its jobs wait for them.
        this.ctx.log(`reservation ${r.name}: its nodes are not all free: ${FractalError.from(e).message}`);
      }
      this.resv.set(r.name, this.makePart(r, id));
    }
    this.saveReservations();
    this.scheduleCycle();
  }

  // ---- the scheduling cycle ------------------------------------------------------------


  /**
   * Reasons are recomputed every 250 ms, or less often when that costs more
   * than ~5% of the time: with 100,000 pending jobs (being canceled, say) each
   * explaining cycle visits all of them.
   */
  private explainInterval(): number {
    return Math.max(EXPLAIN_INTERVAL_MS, 20 * this.explainMs);
  }

  private cycle(): void {
    const t0 = performance.now();
    const now = Date.now() / 1000;
    for (const part of [...this.resv.values()]) if (part.resv!.end <= now) this.endReservation(part, `reservation "${part.resv!.name}" ended before the job could start`);
    const explain = Date.now() - this.lastExplain >= this.explainInterval() || this.byId.size < EXPLAIN_ALWAYS_BELOW;
    if (explain) this.lastExplain = Date.now();
    let more = false;
    let ran = false;
    for (const part of this.parts()) {
      if (part.queue.length === 0) continue;
      ran = true;
      const r = part.resv;
      if (r && now < r.start) {
        // Not active yet: its jobs wait for its start.
        for (const p of part.queue) this.tell(p, 'reservation', r.start);
        continue;
      }
      more = this.cyclePart(part, now, explain) || more;
    }
    this.wakeAtNextReservationEdge(now);
    if (!ran) return;
    if (!explain && !this.explainTimer) {
      this.explainTimer = setTimeout(() => {
        this.explainTimer = undefined;
        this.lastExplain = 0;
        this.scheduleCycle();
      }, this.explainInterval());
    }
    this.cycles++;
    this.cycleMs = performance.now() - t0;
    if (explain) this.explainMs = this.cycleMs;
    if (more) this.scheduleCycle();
  }

  /** One policy cycle in a partition; true when the policy asks for another. */
  private cyclePart(part: Part, now: number, explain: boolean): boolean {
    // Jobs past their expected end still hold their resources: push the end out.
    for (const [id, end] of part.running) {
      if (end <= now) {
        const next = now + OVERRUN_SECONDS;
        part.graph.extend(id, next);
        part.running.set(id, next);
      }
    }
    const r = part.resv;
    // In a reservation, a job starts only if it ends before the reservation does.
    const pending = r ? part.queue.filter((p) => now + p.limit <= r.end) : part.queue;
    const profile = part.model.profile(now, []);
    const plan = (part.queue_?.policy ?? this.policy).plan({ now, pending, running: [], resources: { description: 'graph', infeasible: (j) => part.model.infeasible(j), profile: () => profile }, explain });
    const started = new Set(plan.start.map((j) => j.id));
    profile.release(started);
    for (const j of plan.start) {
      const p = j as Pending;
      this.byId.delete(p.id);
      part.running.set(p.id, part.graph.info(p.id)!.end);
      const q = qosOfSpec(p.spec as CompiledJob);
      if (q !== undefined) part.runningQos.set(p.id, q);
      this.holder.set(p.id, part);
      const resp: SchedAllocResponse = { type: 'success', R: part.graph.rv1(p.id).toJSON() };
      p.req.respond(resp);
    }
    if (started.size > 0) part.dropStarted(started);
    // Conservative keeps its promises: each job hands its reservation back next cycle.
    for (const id of part.reserved) {
      const p = this.byId.get(id);
      if (p && !plan.reservations.has(id)) delete p.reservation;
    }
    part.reserved.clear();
    for (const [id, at] of plan.reservations) {
      const p = this.byId.get(id);
      if (!p) continue;
      p.reservation = at;
      part.reserved.add(id);
    }
    if (plan.waiting) {
      for (const [id, w] of plan.waiting) {
        const p = this.byId.get(id);
        if (p) this.tell(p, w.reason, w.start);
      }
      if (r) for (const p of part.queue) if (now + p.limit > r.end) this.tell(p, 'resources');
    }
    // Preemption: the first few blocked jobs whose QOS may preempt others look for victims.
    if (this.qos.size > 0 && part.runningQos.size > 0) {
      let tried = 0;
      for (const p of part.queue) {
        if (tried >= PREEMPT_TRIES_PER_CYCLE) break;
        const q = this.qos.get(qosOfSpec(p.spec as CompiledJob) ?? '');
        if (!q || q.preempt.length === 0) continue;
        tried++;
        this.tryPreempt(part, p, q.preempt, now);
      }
    }
    return plan.more;
  }

  /**
   * Would job p fit now if some running jobs of the QOS levels it may preempt
   * stopped? Victims are taken latest-started first (least work lost) until p
   * fits; the graph is restored either way, and the chosen victims are asked
   * to stop (the job manager requeues or ends them; p starts when they free
   * their resources).
   */
  private tryPreempt(part: Part, p: Pending, preemptable: string[], now: number): void {
    const g = part.graph;
    const victims = [...part.runningQos].filter(([id, q]) => preemptable.includes(q) && !this.preempting.has(id) && g.hasJob(id)).map(([id]) => id);
    if (victims.length === 0) return;
    victims.sort((a, b) => g.info(b)!.start - g.info(a)!.start || b - a);
    const saved: { id: number; verts: number[]; start: number; end: number }[] = [];
    let fits = false;
    for (const id of victims) {
      const a = g.allocation(id);
      saved.push({ id, verts: [...a.verts].filter((_, i) => a.x[i] === 1), start: a.start, end: a.end });
      g.free(id);
      const m = g.match(p.spec as CompiledJob, { at: now, duration: p.limit === Infinity ? 0 : p.limit, jobid: PREEMPT_PROBE, explain: false });
      if (m.outcome === 'ALLOCATED') {
        g.free(PREEMPT_PROBE);
        fits = true;
        break;
      }
    }
    for (const s of saved) g.claim(s.id, s.verts, s.start, s.end);
    if (!fits) return;
    p.preemptor = true;
    part.sort();
    for (const s of saved) {
      this.preempting.add(s.id);
      this.preemptions++;
      const mode = this.qos.get(part.runningQos.get(s.id) ?? '')?.mode ?? 'requeue';
      this.ctx.rpc('job-manager.preempt', { id: s.id, by: p.id, requeue: mode !== 'cancel' }).catch((e: unknown) => {
        this.ctx.log(`preemption of job ${s.id} for job ${p.id} failed: ${FractalError.from(e).message}`);
      });
    }
  }

  /** Sends a pending job its reason and estimated start, when they changed. */
  private tell(p: Pending, reason: string, start?: number): void {
    const t = start !== undefined && Number.isFinite(start) ? start : undefined;
    const told = `${reason}:${t ?? ''}`;
    if (told === p.told) return;
    p.told = told;
    p.req.respond({ type: 'annotate', annotations: { sched: { reason_pending: reason, ...(t !== undefined ? { t_estimate: t } : {}) } } }, true);
  }

  /** A cycle when the next reservation starts or ends. */
  private wakeAtNextReservationEdge(now: number): void {
    let next = Infinity;
    for (const p of this.resv.values()) for (const t of [p.resv!.start, p.resv!.end]) if (t > now && t < next) next = t;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (next === Infinity) return;
    this.wakeTimer = setTimeout(() => this.scheduleCycle(), Math.min(2 ** 31 - 1, Math.max(0, (next - now) * 1000) + 5));
    this.wakeTimer.unref();
  }
}

interface FeasibilityRequest {
  jobspec?: unknown;
  request?: JobRequest;
  userid?: number;
  account?: string;
  owner?: boolean;
}

function describeAccess(r: Reservation): string {
  const who = [...r.users.map((u) => `user ${u}`), ...r.accounts.map((a) => `account ${a}`)];
  return who.length ? who.join(', ') : 'the instance owner';
}

function shortSeconds(s: number): string {
  return s >= 3600 ? `${+(s / 3600).toFixed(2)}h` : s >= 60 ? `${+(s / 60).toFixed(2)}m` : `${+s.toFixed(3)}s`;
}

function describe(r: Reservation): Record<string, unknown> {
  return { name: r.name, start: r.start, end: r.end, ranks: IdSet.fromArray(r.ranks).encode(), nnodes: r.ranks.length, users: r.users, accounts: r.accounts };
}
