/**
 * ResourceGraph: a resource graph with its allocations over time, and the
 * API a scheduler uses: match (allocate, allocate or else reserve,
 * satisfiability), free, drain/undrain, add and remove subgraphs.
 *
 * State kept beside the GraphStore:
 * - per vertex, the spans of the jobs holding it (SpanPool);
 * - per non-leaf vertex, a pruning filter: the capacity in units of every
 *   resource type below it, and a Timeline of the units held exclusively
 *   over time. Both are updated incrementally on allocate/free and on
 *   add/remove of subgraphs; checkAggregates() recounts them from scratch.
 *
 * Nothing here does I/O; times are plain numbers (seconds) chosen by the
 * caller (`now`, `at`), so a simulator can drive the graph with a virtual
 * clock.
 */
import { ErrorCodes, FractalError, invalid } from '../../errors/index.js';
import { validateJobspecAnyVersion } from '../../jobspec/index.js';
import type { Jobspec } from '../../jobspec/index.js';
import { IdSet } from '../idset.js';
import { Hostlist } from '../hostlist.js';
import { Rv1 } from '../rv1.js';
import type { RankResources } from '../rv1.js';
import { compileConstraint, parseConstraintQuery } from './constraint.js';
import type { CompiledConstraint } from './constraint.js';
import { MATCH_POLICIES, Matcher } from './matcher.js';
import type { MatchEnv, MatchPolicy } from './matcher.js';
import { SpanPool, Timeline } from './planner.js';
import { compileRequest, UNKNOWN_TYPE } from './request.js';
import type { Req } from './request.js';
import { STATUS_DOWN, STATUS_DRAINED, STATUS_REMOVED, STATUS_UP, statusCode, statusName } from './store.js';
import type { GraphStore, VertexSpec, VertexStatus } from './store.js';

export type { MatchPolicy } from './matcher.js';

export type MatchMode = 'allocate' | 'allocate_orelse_reserve' | 'allocate_with_satisfiability' | 'satisfiability';
export const MATCH_MODES: readonly MatchMode[] = ['allocate', 'allocate_orelse_reserve', 'allocate_with_satisfiability', 'satisfiability'];

/** ALLOCATED/RESERVED hold resources; SATISFIABLE answers a satisfiability query. */
export type MatchOutcome = 'ALLOCATED' | 'RESERVED' | 'SATISFIABLE' | 'BUSY' | 'UNSATISFIABLE';

/** "Unlimited" end of a span: jobs without a duration hold their resources until freed. */
export const FOREVER = Number.MAX_SAFE_INTEGER;

export interface MatchOptions {
  /** Default 'allocate'. */
  mode?: MatchMode;
  /** Default: the graph's policy. */
  policy?: MatchPolicy;
  /** Job id to record the allocation under; default the next free one (1, 2, ...). */
  jobid?: number;
  /** Earliest start time (seconds); default graph.now. */
  at?: number;
  /** Seconds; default the jobspec's attributes.system.duration; 0 = until freed. */
  duration?: number;
  /** RFC 31 object or RFC 35 query string; default the jobspec's attributes.system.constraints. */
  constraint?: Record<string, unknown> | string;
  /** Every matched node is exclusive to the job (Fluxion's *nodex policies). */
  nodeExclusive?: boolean;
  /** Fluxion's level rules (see matcher.ts). */
  strict?: boolean;
  /** allocate_orelse_reserve: how many future start times to try (default 10,000). */
  reserveDepth?: number;
  /** On failure, tell BUSY from UNSATISFIABLE and give the reason (default true). */
  explain?: boolean;
  /** pack/spread: break ties between equally free vertices by higher id (default lower). */
  tieBreak?: 'low-id' | 'high-id';
  /**
   * Match through another subsystem's edges, e.g. 'network' to place a job
   * under one switch rather than one rack (default 'containment').
   */
  subsystem?: string;
}

export interface MatchResult {
  /** The job id (0 for a satisfiability query, which records nothing). */
  jobid: number;
  outcome: MatchOutcome;
  /** Start and end of the allocation (end is FOREVER for unlimited jobs). */
  start: number;
  end: number;
  /** Why the request failed: for UNSATISFIABLE, what the graph lacks. */
  reason?: string;
  /** Vertices entered by the matcher (a measure of its work). */
  visits: number;
}

/** A jobspec compiled against this graph, reusable for many matches. */
export interface CompiledJob {
  readonly jobspec: Jobspec;
  readonly reqs: Req[];
  readonly duration: number;
  readonly constraint: CompiledConstraint | undefined;
  readonly typeCount: number;
}

export interface JobInfo {
  jobid: number;
  state: 'allocated' | 'reserved';
  start: number;
  end: number;
  /** Vertices the job holds, exclusive or shared. */
  nvertices: number;
}

/** One allocation: what a job holds and what it added to the pruning filters. */
export interface Allocation {
  readonly jobid: number;
  readonly start: number;
  readonly end: number;
  readonly reserved: boolean;
  readonly verts: Int32Array;
  readonly needs: Float64Array;
  readonly x: Uint8Array;
}

interface Job extends Allocation {
  readonly idx: number;
  readonly spanIds: Int32Array;
  /** Pruning filter updates: vertex, then [type, amount]... per entry. */
  readonly aggV: Int32Array;
  readonly aggT: Int32Array;
  readonly aggA: Float64Array;
  readonly aggOff: Int32Array;
  R: Rv1 | undefined;
}

/** A subgraph to add: a vertex and its children. */
export interface SubgraphSpec extends VertexSpec {
  children?: SubgraphSpec[];
}

/** Per-type counts of the graph now (`stat`, `fractal resource list`). */
export interface TypeStat {
  type: string;
  /** Units (vertices × size). */
  total: number;
  /** Units held exclusively by a job now. */
  allocated: number;
  /** Units on vertices that are down, or below a down vertex. */
  down: number;
  drained: number;
  free: number;
}

export interface GraphOptions {
  policy?: MatchPolicy;
  /** The time "now" in seconds (default 0, as in Fluxion's resource-query). */
  now?: number;
}

const NONE = -1;

/** Vertices chosen for one allocation: the matcher's selection, or an explicit claim. */
interface Selection {
  readonly top: number;
  readonly selV: ArrayLike<number>;
  readonly selNeeds: ArrayLike<number>;
  readonly selX: ArrayLike<number>;
}

export class ResourceGraph implements MatchEnv {
  readonly store: GraphStore;
  readonly spans: SpanPool;
  policy: MatchPolicy;
  now: number;
  #W = 0;
  #slotOf = new Int32Array(0);
  #slotVertex: number[] = [];
  #cap = new Float64Array(0);
  #tl: (Timeline | undefined)[] = [];
  #sorted = new Uint8Array(0);
  #acc = new Float64Array(0);
  #accTouched: number[] = [];
  #accMark = new Uint8Array(0);
  #inJob = new Uint32Array(0);
  #stamp = 0;
  #bufV = new Int32Array(0);
  #bufN = new Float64Array(0);
  #bufX = new Uint8Array(0);
  #buckets: number[][] = [];
  readonly #jobs = new Map<number, Job>();
  readonly #byIdx = new Map<number, number>();
  #nextIdx = 1;
  #nextJobId = 1;
  readonly #ends = new Map<number, number>();
  readonly #matcher: Matcher;
  /** Cores and GPUs by rank and id (claimR), and what it was built from. */
  #leafIdx: Map<string, number> | undefined;
  #leafIdxCount = -1;
  #removals = 0;

  constructor(store: GraphStore, opts: GraphOptions = {}) {
    if (store.root < 0) throw invalid('the resource graph is empty; load a graph with at least one vertex');
    this.store = store;
    this.policy = checkPolicy(opts.policy ?? 'first');
    this.now = opts.now ?? 0;
    this.spans = new SpanPool(store.count);
    this.#rebuildAggregates();
    this.#matcher = new Matcher(this);
  }

  // ---- pruning filters ---------------------------------------------------------

  #ensureVertexArrays(): void {
    const n = this.store.count;
    if (this.#slotOf.length < n) {
      const cap = Math.max(n, this.#slotOf.length * 2, 16);
      const s = new Int32Array(cap).fill(NONE);
      s.set(this.#slotOf);
      this.#slotOf = s;
      const so = new Uint8Array(cap);
      so.set(this.#sorted);
      this.#sorted = so;
      const j = new Uint32Array(cap);
      j.set(this.#inJob);
      this.#inJob = j;
    }
    this.spans.ensureVertices(n);
  }

  #newSlot(v: number): number {
    const s = this.#slotVertex.length;
    this.#slotVertex.push(v);
    this.#slotOf[v] = s;
    const need = (s + 1) * this.#W;
    if (this.#cap.length < need) {
      const c = new Float64Array(Math.max(need, this.#cap.length * 2));
      c.set(this.#cap);
      this.#cap = c;
      const a = new Float64Array(c.length);
      a.set(this.#acc);
      this.#acc = a;
      const m = new Uint8Array(c.length / this.#W);
      m.set(this.#accMark);
      this.#accMark = m;
    }
    this.#cap.fill(0, s * this.#W, (s + 1) * this.#W);
    this.#tl[s] = undefined;
    return s;
  }

  /** Rows of cap for the given vertices, children before parents (descending index). */
  #computeRows(vertices: number[]): void {
    const g = this.store;
    const W = this.#W;
    const cap = this.#cap;
    for (const v of vertices) {
      if (g.status[v] === STATUS_REMOVED) continue;
      const sv = this.#slotOf[v]!;
      if (sv >= 0) cap[sv * W + g.type[v]!] = cap[sv * W + g.type[v]!]! + g.size[v]!;
      const p = g.parent[v]!;
      if (p < 0) continue;
      const sp = this.#slotOf[p]!;
      if (sv >= 0) {
        for (let t = 0; t < W; t++) cap[sp * W + t] = cap[sp * W + t]! + cap[sv * W + t]!;
      } else cap[sp * W + g.type[v]!] = cap[sp * W + g.type[v]!]! + g.size[v]!;
    }
  }

  #markSorted(v: number): void {
    const g = this.store;
    let prev = -Infinity;
    let ok = 1;
    for (let c = g.first[v]!; c !== NONE; c = g.next[c]!) {
      const id = g.id[c]!;
      if (id < prev) {
        ok = 0;
        break;
      }
      prev = id;
    }
    this.#sorted[v] = ok;
  }

  #rebuildAggregates(): void {
    const g = this.store;
    let W = 8;
    while (W < g.typeCount) W *= 2;
    this.#W = W;
    this.#slotOf = new Int32Array(0);
    this.#sorted = new Uint8Array(0);
    this.#inJob = new Uint32Array(0);
    this.#ensureVertexArrays();
    this.#slotVertex = [];
    this.#cap = new Float64Array(0);
    this.#acc = new Float64Array(0);
    this.#accMark = new Uint8Array(0);
    this.#tl = [];
    for (let v = 0; v < g.count; v++) {
      if (g.status[v] !== STATUS_REMOVED && g.first[v] !== NONE) {
        this.#newSlot(v);
        this.#markSorted(v);
      }
    }
    const order: number[] = [];
    for (let v = g.count - 1; v >= 0; v--) order.push(v);
    this.#computeRows(order);
    for (const job of this.#jobs.values()) this.#applyAgg(job, 1);
  }

  /** MatchEnv: free units of type t below v during [s, e). */
  avail(v: number, t: number, s: number, e: number, ignoreState: boolean): number {
    const sl = this.#slotOf[v]!;
    if (sl < 0 || t >= this.#W) return 0;
    const c = this.#cap[sl * this.#W + t]!;
    if (ignoreState || c === 0) return c;
    const tl = this.#tl[sl];
    return tl === undefined || tl.isEmpty() ? c : c - tl.maxUsed(t, s, e);
  }

  childrenSorted(v: number): boolean {
    return this.#sorted[v] === 1;
  }

  /** Capacity in units of `type` below vertex v (v included). */
  capacity(v: number, type: string): number {
    const t = this.store.typeIndex(type);
    if (t < 0) return 0;
    const sl = this.#slotOf[v]!;
    if (sl < 0) return this.store.type[v] === t ? this.store.size[v]! : 0;
    return this.#cap[sl * this.#W + t]!;
  }

  /** Free units of `type` below v during [start, end) (default: now, an instant). */
  freeUnits(v: number, type: string, start = this.now, end = start + 1): number {
    const t = this.store.typeIndex(type);
    if (t < 0) return 0;
    if (this.#slotOf[v]! < 0) return this.store.type[v] === t && !this.spans.exclusiveDuring(v, start, end) ? this.store.size[v]! : 0;
    return this.avail(v, t, start, end, false);
  }

  // ---- matching ------------------------------------------------------------------

  /** Validates and compiles a jobspec against this graph's types. */
  compile(jobspec: unknown): CompiledJob {
    const js = validateJobspecAnyVersion(jobspec);
    const reqs = compileRequest(js.resources, (name) => this.store.typeIndex(name));
    const duration = js.attributes.system?.duration ?? 0;
    const c = js.attributes.system?.constraints;
    const constraint = c === undefined || Object.keys(c).length === 0 ? undefined : compileConstraint(c);
    return { jobspec: js, reqs, duration, constraint, typeCount: this.store.typeCount };
  }

  #constraintPredicate(c: CompiledConstraint | undefined): ((v: number) => boolean) | undefined {
    if (c === undefined) return undefined;
    const g = this.store;
    const target = {
      v: 0,
      get name(): string {
        return g.name(this.v);
      },
      get rank(): number {
        return g.rankOf(this.v);
      },
      property(key: string): string | undefined {
        for (let u = this.v; u !== NONE; u = g.parent[u]!) {
          const p = g.props.get(u)?.get(key);
          if (p !== undefined) return p;
        }
        return undefined;
      },
    };
    return (v) => {
      target.v = v;
      return c.test(target);
    };
  }

  /**
   * Matches a jobspec (or a CompiledJob) against the graph. Expected
   * outcomes (BUSY, UNSATISFIABLE) are results, not exceptions; a malformed
   * jobspec or option throws EINVAL.
   */
  match(jobspec: unknown, opts: MatchOptions = {}): MatchResult {
    let job = isCompiled(jobspec) ? jobspec : this.compile(jobspec);
    if (job.typeCount !== this.store.typeCount && job.reqs.some(hasUnknown)) job = this.compile(job.jobspec);
    const mode = opts.mode ?? 'allocate';
    if (!MATCH_MODES.includes(mode)) throw invalid(`unknown match mode "${String(mode)}"; use one of ${MATCH_MODES.join(', ')}`);
    const policy = checkPolicy(opts.policy ?? this.policy);
    const at = opts.at ?? this.now;
    const duration = opts.duration ?? job.duration;
    if (!Number.isFinite(at) || at < 0) throw invalid(`match time ${String(at)} must be a number of seconds >= 0`);
    if (!Number.isFinite(duration) || duration < 0) throw invalid(`duration ${String(duration)} must be a number of seconds >= 0 (0 = until freed)`);
    let constraint = job.constraint;
    if (opts.constraint !== undefined) {
      const c = typeof opts.constraint === 'string' ? parseConstraintQuery(opts.constraint) : opts.constraint;
      constraint = Object.keys(c).length === 0 ? undefined : compileConstraint(c);
    }
    let subsystem;
    if (opts.subsystem !== undefined && opts.subsystem !== 'containment') {
      subsystem = this.store.aux.get(opts.subsystem);
      if (subsystem === undefined) {
        const names = ['containment', ...this.store.aux.keys()];
        throw invalid(`the graph has no subsystem "${opts.subsystem}"; it has ${names.join(', ')}`);
      }
    }
    const base = {
      policy,
      subsystem,
      constraint: this.#constraintPredicate(constraint),
      nodeExclusive: opts.nodeExclusive === true,
      strict: opts.strict === true,
      tieHighId: opts.tieBreak === 'high-id',
    };
    const m = this.#matcher;
    const end = (s: number): number => (duration > 0 ? s + duration : FOREVER);
    const explain = opts.explain !== false;
    let visits = 0;
    const satisfiable = (): { ok: boolean; reason?: string } => {
      const ok = m.run(job.reqs, { ...base, start: 0, end: FOREVER, ignoreState: true, explain: false });
      visits += m.visits;
      if (ok) return { ok };
      m.run(job.reqs, { ...base, start: 0, end: FOREVER, ignoreState: true, explain: true });
      visits += m.visits;
      return { ok, reason: m.explainFailure() };
    };

    if (mode === 'satisfiability') {
      const s = satisfiable();
      return {
        jobid: 0,
        outcome: s.ok ? 'SATISFIABLE' : 'UNSATISFIABLE',
        start: at,
        end: end(at),
        visits,
        ...(s.reason === undefined ? {} : { reason: s.reason }),
      };
    }

    const jobid = opts.jobid ?? this.#nextJobId;
    if (!Number.isSafeInteger(jobid) || jobid < 1) throw invalid(`job id ${String(jobid)} must be a positive integer`);
    if (this.#jobs.has(jobid)) throw invalid(`job ${jobid} already holds resources; free it first or use another id`);
    if (opts.jobid === undefined) this.#nextJobId++;
    else if (jobid >= this.#nextJobId) this.#nextJobId = jobid + 1;

    const tryAt = (s: number): boolean => {
      const ok = m.run(job.reqs, { ...base, start: s, end: end(s), ignoreState: false, explain: false });
      visits += m.visits;
      return ok;
    };
    if (tryAt(at)) {
      this.#commit(jobid, at, end(at), false, m);
      return { jobid, outcome: 'ALLOCATED', start: at, end: end(at), visits };
    }
    if (mode === 'allocate_orelse_reserve') {
      const depth = opts.reserveDepth ?? 10_000;
      const needs = rootNeeds(job.reqs);
      const root = this.store.root;
      let tried = 0;
      for (const t of this.#futureTimes(at)) {
        if (tried++ >= depth) break;
        // Cheap necessary condition first: the root's pruning filter has room over [t, end).
        let room = true;
        for (const [type, amount] of needs) if (this.avail(root, type, t, end(t), false) < amount) { room = false; break; }
        if (!room) continue;
        if (tryAt(t)) {
          this.#commit(jobid, t, end(t), true, m);
          return { jobid, outcome: 'RESERVED', start: t, end: end(t), visits };
        }
      }
    }
    if (!explain) return { jobid, outcome: 'BUSY', start: at, end: end(at), visits };
    const s = satisfiable();
    if (s.ok) {
      return { jobid, outcome: 'BUSY', start: at, end: end(at), visits, reason: 'the resources are busy or down now; the request fits the graph' };
    }
    return { jobid, outcome: 'UNSATISFIABLE', start: at, end: end(at), visits, reason: s.reason ?? 'no resources match the request' };
  }

  /** Times after `at` when some allocation ends, ascending. */
  #futureTimes(at: number): number[] {
    const out: number[] = [];
    for (const t of this.#ends.keys()) if (t > at && t < FOREVER) out.push(t);
    return out.sort((a, b) => a - b);
  }

  #commit(jobid: number, start: number, end: number, reserved: boolean, m: Selection): void {
    const g = this.store;
    this.#ensureVertexArrays();
    if (++this.#stamp === 0xffffffff) {
      this.#inJob.fill(0);
      this.#stamp = 1;
    }
    const stamp = this.#stamp;
    // Selected vertices (deduplicated), then their ancestors as shared.
    let n = 0;
    const room = (k: number): void => {
      if (k <= this.#bufV.length) return;
      const cap = Math.max(k, this.#bufV.length * 2, 1024);
      const v2 = new Int32Array(cap);
      v2.set(this.#bufV);
      this.#bufV = v2;
      const n2 = new Float64Array(cap);
      n2.set(this.#bufN);
      this.#bufN = n2;
      const x2 = new Uint8Array(cap);
      x2.set(this.#bufX);
      this.#bufX = x2;
    };
    room(m.top);
    for (let i = 0; i < m.top; i++) {
      const v = m.selV[i]!;
      if (this.#inJob[v] === stamp) continue;
      this.#inJob[v] = stamp;
      this.#bufV[n] = v;
      this.#bufN[n] = m.selNeeds[i]!;
      this.#bufX[n] = m.selX[i]!;
      n++;
    }
    const nsel = n;
    for (let i = 0; i < nsel; i++) {
      for (let a = g.parent[this.#bufV[i]!]!; a !== NONE && this.#inJob[a] !== stamp; a = g.parent[a]!) {
        this.#inJob[a] = stamp;
        room(n + 1);
        this.#bufV[n] = a;
        this.#bufN[n] = 1;
        this.#bufX[n] = 0;
        n++;
      }
    }
    const verts = this.#bufV.slice(0, n);
    const needs = this.#bufN.slice(0, n);
    const xs = this.#bufX.slice(0, n);
    const idx = this.#nextIdx++;
    const spanIds = new Int32Array(n);
    for (let i = 0; i < n; i++) spanIds[i] = this.spans.add(verts[i]!, xs[i] === 1, start, end, idx, needs[i]!);

    // Pruning filter deltas: each exclusive vertex counts in its own filter
    // (or its parent's, for a leaf); rows then flow up, deepest first.
    const W = this.#W;
    const acc = this.#acc;
    const touched = this.#accTouched;
    touched.length = 0;
    const buckets = this.#buckets;
    const touch = (sl: number): void => {
      if (this.#accMark[sl] !== 0) return;
      this.#accMark[sl] = 1;
      touched.push(sl);
      const d = g.depth[this.#slotVertex[sl]!]!;
      (buckets[d] ??= []).push(sl);
    };
    let maxDepth = 0;
    for (let i = 0; i < n; i++) {
      if (xs[i] !== 1) continue;
      const v = verts[i]!;
      const a = this.#slotOf[v]! >= 0 ? v : g.parent[v]!;
      if (a === NONE) continue;
      const sl = this.#slotOf[a]!;
      touch(sl);
      if (g.depth[a]! > maxDepth) maxDepth = g.depth[a]!;
      acc[sl * W + g.type[v]!] = acc[sl * W + g.type[v]!]! + g.size[v]!;
    }
    for (let d = maxDepth; d >= 1; d--) {
      const level = buckets[d];
      if (level === undefined) continue;
      for (const sl of level) {
        const p = g.parent[this.#slotVertex[sl]!]!;
        if (p === NONE) continue;
        const ps = this.#slotOf[p]!;
        touch(ps);
        for (let t = 0; t < W; t++) acc[ps * W + t] = acc[ps * W + t]! + acc[sl * W + t]!;
      }
      level.length = 0;
    }
    const b0 = buckets[0];
    if (b0 !== undefined) b0.length = 0;
    const aggV = new Int32Array(touched.length);
    const aggOff = new Int32Array(touched.length + 1);
    const aggT: number[] = [];
    const aggA: number[] = [];
    touched.forEach((s, k) => {
      aggV[k] = this.#slotVertex[s]!;
      aggOff[k] = aggT.length;
      for (let t = 0; t < W; t++) {
        const a = acc[s * W + t]!;
        if (a !== 0) {
          aggT.push(t);
          aggA.push(a);
          acc[s * W + t] = 0;
        }
      }
      this.#accMark[s] = 0;
    });
    aggOff[touched.length] = aggT.length;
    const job: Job = {
      jobid,
      idx,
      start,
      end,
      reserved,
      verts,
      needs,
      x: xs,
      spanIds,
      aggV,
      aggT: Int32Array.from(aggT),
      aggA: Float64Array.from(aggA),
      aggOff,
      R: undefined,
    };
    this.#applyAgg(job, 1);
    this.#jobs.set(jobid, job);
    this.#byIdx.set(idx, jobid);
    this.#ends.set(end, (this.#ends.get(end) ?? 0) + 1);
  }

  #applyAgg(job: Job, sign: number): void {
    for (let k = 0; k < job.aggV.length; k++) {
      const s = this.#slotOf[job.aggV[k]!]!;
      if (s < 0) continue;
      let tl = this.#tl[s];
      if (tl === undefined) {
        tl = new Timeline(this.#W);
        this.#tl[s] = tl;
      }
      const a = job.aggOff[k]!;
      const b = job.aggOff[k + 1]!;
      tl.add(job.start, job.end, job.aggT.subarray(a, b), job.aggA.subarray(a, b), sign);
    }
  }

  /**
   * Records that job `jobid` holds exactly these vertices (exclusively) over
   * [start, end): how a scheduler re-claims running jobs after a restart.
   * Refuses vertices that are removed or held exclusively by another job then.
   */
  claim(jobid: number, vertices: readonly number[], start: number, end: number = FOREVER): void {
    if (!Number.isSafeInteger(jobid) || jobid < 1) throw invalid(`job id ${String(jobid)} must be a positive integer`);
    if (this.#jobs.has(jobid)) throw invalid(`job ${jobid} already holds resources; free it first or use another id`);
    if (!(end > start)) throw invalid(`claim of job ${jobid}: end ${end} must be after start ${start}`);
    const g = this.store;
    for (const v of vertices) {
      if (!g.exists(v) || g.status[v] === STATUS_REMOVED) throw new FractalError(ErrorCodes.NOT_FOUND, `claim of job ${jobid}: vertex ${v} does not exist`);
      if (this.spans.exclusiveDuring(v, start, end)) throw new FractalError(ErrorCodes.BUSY, `claim of job ${jobid}: ${g.path(v)} is held by another job`);
    }
    const selNeeds = vertices.map((v) => g.size[v]!);
    this.#commit(jobid, start, end, false, { top: vertices.length, selV: vertices, selNeeds, selX: vertices.map(() => 1) });
    if (jobid >= this.#nextJobId) this.#nextJobId = jobid + 1;
  }

  /** Claims the cores and GPUs an RFC 20 R names (by rank and id), for job `jobid`. */
  claimR(jobid: number, R: Rv1, start: number, end: number = FOREVER): void {
    const index = this.#leafIndex();
    const verts: number[] = [];
    for (const e of R.entries()) {
      for (const [kind, ids] of [['core', e.cores], ['gpu', e.gpus]] as const) {
        for (const id of ids.toArray()) {
          const v = index.get(`${e.rank}:${kind}:${id}`);
          if (v === undefined) throw new FractalError(ErrorCodes.NOT_FOUND, `claim of job ${jobid}: rank ${e.rank} has no ${kind} ${id} in this graph`);
          verts.push(v);
        }
      }
    }
    this.claim(jobid, verts, start, end);
  }

  /** "rank:type:id" → vertex, for cores and GPUs (rebuilt when the graph changed). */
  #leafIndex(): Map<string, number> {
    const g = this.store;
    if (this.#leafIdx !== undefined && this.#leafIdxCount === g.count + this.#removals) return this.#leafIdx;
    const m = new Map<string, number>();
    for (const kind of ['core', 'gpu']) {
      const t = g.typeIndex(kind);
      if (t < 0) continue;
      for (const v of g.verticesOfType(t)) {
        if (g.status[v] === STATUS_REMOVED) continue;
        m.set(`${Math.max(0, g.rankOf(v))}:${kind}:${g.id[v]! >= 0 ? g.id[v]! : 0}`, v);
      }
    }
    this.#leafIdx = m;
    this.#leafIdxCount = g.count + this.#removals;
    return m;
  }

  /** Moves the end of job `jobid`'s allocation (a job running past its time limit, or an updated limit). */
  extend(jobid: number, end: number): void {
    const job = this.#jobs.get(jobid);
    if (job === undefined) throw new FractalError(ErrorCodes.NOT_FOUND, `job ${jobid} holds no resources in this graph; check the job id`);
    if (!(end > job.start)) throw invalid(`job ${jobid}: new end ${end} must be after its start ${job.start}`);
    this.free(jobid);
    this.#commit(jobid, job.start, end, job.reserved, { top: job.verts.length, selV: job.verts, selNeeds: job.needs, selX: job.x });
  }

  /** Releases everything job `jobid` holds or has reserved (the job ended or was canceled). */
  free(jobid: number): void {
    const job = this.#jobs.get(jobid);
    if (job === undefined) {
      throw new FractalError(ErrorCodes.NOT_FOUND, `job ${jobid} holds no resources in this graph; check the job id`);
    }
    for (const id of job.spanIds) this.spans.remove(id);
    this.#applyAgg(job, -1);
    this.#jobs.delete(jobid);
    this.#byIdx.delete(job.idx);
    const n = (this.#ends.get(job.end) ?? 1) - 1;
    if (n <= 0) this.#ends.delete(job.end);
    else this.#ends.set(job.end, n);
  }

  /** Same as free(), under the scheduler protocol's name (RFC 27). */
  cancel(jobid: number): void {
    this.free(jobid);
  }

  hasJob(jobid: number): boolean {
    return this.#jobs.has(jobid);
  }

  jobIds(): number[] {
    return [...this.#jobs.keys()];
  }

  info(jobid: number): JobInfo | undefined {
    const j = this.#jobs.get(jobid);
    if (j === undefined) return undefined;
    return { jobid, state: j.reserved ? 'reserved' : 'allocated', start: j.start, end: j.end, nvertices: j.verts.length };
  }

  /** The vertices a job holds (for writers). */
  allocation(jobid: number): Allocation {
    const j = this.#jobs.get(jobid);
    if (j === undefined) throw new FractalError(ErrorCodes.NOT_FOUND, `job ${jobid} holds no resources in this graph; check the job id`);
    return j;
  }

  /** The RFC 20 R of a job: per rank, the cores and GPUs it holds exclusively. */
  rv1(jobid: number): Rv1 {
    const j = this.allocation(jobid) as Job;
    j.R ??= this.#buildR(j);
    return j.R;
  }

  #buildR(j: Job): Rv1 {
    const g = this.store;
    const coreT = g.typeIndex('core');
    const gpuT = g.typeIndex('gpu');
    const nodeT = g.typeIndex('node');
    const byRank = new Map<number, { host: string | undefined; cores: number[]; gpus: number[]; node: number }>();
    for (let i = 0; i < j.verts.length; i++) {
      if (j.x[i] !== 1) continue;
      const v = j.verts[i]!;
      const t = g.type[v]!;
      if (t !== coreT && t !== gpuT) continue;
      const node = nodeT >= 0 ? g.ancestorOfType(v, nodeT) : NONE;
      let rank = g.rankOf(v);
      if (rank < 0) rank = 0;
      let e = byRank.get(rank);
      if (e === undefined) {
        e = { host: node >= 0 ? g.name(node) : undefined, cores: [], gpus: [], node };
        byRank.set(rank, e);
      }
      (t === coreT ? e.cores : e.gpus).push(g.id[v]! >= 0 ? g.id[v]! : 0);
    }
    const named = [...byRank.values()].every((e) => e.host !== undefined);
    const cache = new Map<string, IdSet>();
    const ids = (a: number[]): IdSet => {
      a.sort((x, y) => x - y);
      const key = a.join(',');
      let s = cache.get(key);
      if (s === undefined) {
        s = IdSet.fromArray(a);
        cache.set(key, s);
      }
      return s;
    };
    const entries: RankResources[] = [];
    const props = new Map<string, number[]>();
    for (const [rank, e] of byRank) {
      const entry: RankResources = { rank, cores: ids(e.cores), gpus: ids(e.gpus) };
      if (named && e.host !== undefined) entry.hostname = e.host;
      entries.push(entry);
      const p = e.node >= 0 ? g.props.get(e.node) : undefined;
      if (p !== undefined) {
        for (const [k, val] of p) {
          const name = val === '' ? k : `${k}=${val}`;
          if (/[!&'"^`|()]/.test(name)) continue;
          let a = props.get(name);
          if (a === undefined) props.set(name, (a = []));
          a.push(rank);
        }
      }
    }
    const properties: Record<string, IdSet> = {};
    for (const [k, ranks] of props) properties[k] = IdSet.fromArray(ranks);
    return Rv1.fromRanks(entries, {
      starttime: j.start,
      expiration: j.end >= FOREVER ? 0 : j.end,
      ...(props.size > 0 ? { properties } : {}),
    });
  }

  // ---- status, add and remove ----------------------------------------------------------

  /**
   * Vertices named by a target: a vertex index, a containment path
   * (/cluster0/rack0/node3), a vertex name, or a hostlist (node[0-3]).
   */
  resolve(target: number | string): number[] {
    const g = this.store;
    if (typeof target === 'number') {
      if (!g.exists(target)) throw new FractalError(ErrorCodes.NOT_FOUND, `vertex ${target} does not exist`);
      return [target];
    }
    if (target.startsWith('/')) {
      const v = g.byPath(target);
      if (v < 0) throw new FractalError(ErrorCodes.NOT_FOUND, `no vertex at path ${target}; paths look like /${g.name(g.root)}/...`);
      return [v];
    }
    const direct = g.byName(target);
    if (direct.length > 0) return direct;
    let names: string[];
    try {
      names = Hostlist.parse(target).toArray();
    } catch {
      throw new FractalError(ErrorCodes.NOT_FOUND, `no vertex named "${target}"; give a name, a hostlist or a path such as /${g.name(g.root)}/...`);
    }
    const out: number[] = [];
    const missing: string[] = [];
    for (const n of names) {
      const vs = g.byName(n);
      if (vs.length === 0) missing.push(n);
      out.push(...vs);
    }
    if (missing.length > 0) {
      throw new FractalError(ErrorCodes.NOT_FOUND, `no vertex named ${Hostlist.fromArray(missing).encode()}; check the names with \`stat\``);
    }
    return out;
  }

  /** Sets the status of the targets' vertices (their subtrees follow them). */
  setStatus(target: number | string, status: VertexStatus): number[] {
    const code = statusCode(status);
    const vs = this.resolve(target);
    for (const v of vs) this.store.status[v] = code;
    return vs;
  }

  /** No new jobs on the targets; running jobs keep their resources. */
  drain(target: number | string): number[] {
    return this.setStatus(target, 'drained');
  }

  undrain(target: number | string): number[] {
    return this.setStatus(target, 'up');
  }

  status(v: number): VertexStatus | 'removed' {
    return statusName(this.store.status[v]!);
  }

  /** Adds a subgraph under `parent`; returns the new subtree's root vertex. */
  addSubgraph(parent: number | string, spec: SubgraphSpec): number {
    const [p] = this.#one(parent);
    const g = this.store;
    const types = g.typeCount;
    const added: number[] = [];
    const add = (s: SubgraphSpec, under: number): number => {
      const v = g.addVertex(s, under);
      added.push(v);
      for (const c of s.children ?? []) add(c, v);
      return v;
    };
    const top = add(spec, p);
    this.#afterAdd(p, top, added, types);
    return top;
  }

  /** Adds a copy of another graph (e.g. loaded from a file) under `parent`. */
  graft(parent: number | string, other: GraphStore): number {
    const [p] = this.#one(parent);
    if (other.root < 0) throw invalid('cannot graft an empty graph');
    const g = this.store;
    const types = g.typeCount;
    const added: number[] = [];
    const map = new Map<number, number>();
    for (const u of other.subtree(other.root)) {
      if (other.status[u] === STATUS_REMOVED) continue;
      const under = u === other.root ? p : map.get(other.parent[u]!)!;
      const v = g.addRaw(g.typeIndexFor(other.typeOf(u)), g.intern(other.basename(u)), other.id[u]!, other.rank[u]!, other.size[u]!, under);
      g.unit[v] = g.intern(other.unitOf(u));
      g.status[v] = other.status[u]!;
      const n = other.names.get(u);
      if (n !== undefined) g.names.set(v, n);
      const pr = other.props.get(u);
      if (pr !== undefined) g.props.set(v, new Map(pr));
      map.set(u, v);
      added.push(v);
    }
    const top = map.get(other.root)!;
    this.#afterAdd(p, top, added, types);
    return top;
  }

  #afterAdd(p: number, top: number, added: number[], typesBefore: number): void {
    const g = this.store;
    this.#ensureVertexArrays();
    if (g.typeCount > this.#W && g.typeCount > typesBefore) {
      this.#rebuildAggregates();
      return;
    }
    // New non-leaf vertices get filters; the parent gets one if it was a leaf.
    if (this.#slotOf[p]! < 0) {
      const s = this.#newSlot(p);
      this.#cap[s * this.#W + g.type[p]!] = g.size[p]!;
    }
    for (const v of added) if (g.first[v] !== NONE && this.#slotOf[v]! < 0) this.#newSlot(v);
    const desc = [...added].sort((a, b) => b - a).filter((v) => v !== top);
    // Rows of the new subtree (its root's row is added to the ancestors below).
    const W = this.#W;
    for (const v of desc) {
      const sv = this.#slotOf[v]!;
      if (sv >= 0) this.#cap[sv * W + g.type[v]!] = this.#cap[sv * W + g.type[v]!]! + g.size[v]!;
      const sp = this.#slotOf[g.parent[v]!]!;
      if (sv >= 0) for (let t = 0; t < W; t++) this.#cap[sp * W + t] = this.#cap[sp * W + t]! + this.#cap[sv * W + t]!;
      else this.#cap[sp * W + g.type[v]!] = this.#cap[sp * W + g.type[v]!]! + g.size[v]!;
    }
    const st = this.#slotOf[top]!;
    if (st >= 0) this.#cap[st * W + g.type[top]!] = this.#cap[st * W + g.type[top]!]! + g.size[top]!;
    this.#addToAncestors(top, 1);
    this.#markSorted(p);
    for (const v of added) if (g.first[v] !== NONE) this.#markSorted(v);
  }

  /** Adds (sign 1) or removes (-1) subtree(v)'s capacity from v's ancestors. */
  #addToAncestors(v: number, sign: number): void {
    const g = this.store;
    const W = this.#W;
    const sv = this.#slotOf[v]!;
    for (let a = g.parent[v]!; a !== NONE; a = g.parent[a]!) {
      const sa = this.#slotOf[a]!;
      if (sv >= 0) for (let t = 0; t < W; t++) this.#cap[sa * W + t] = this.#cap[sa * W + t]! + sign * this.#cap[sv * W + t]!;
      else this.#cap[sa * W + g.type[v]!] = this.#cap[sa * W + g.type[v]!]! + sign * g.size[v]!;
    }
  }

  /**
   * Removes the targets and their subtrees (nodes leaving the instance).
   * Refused while a job holds or has reserved anything there.
   */
  removeSubgraph(target: number | string): number {
    const vs = this.resolve(target);
    const g = this.store;
    for (const v of vs) {
      for (const u of g.subtree(v)) {
        if (!this.spans.idle(u)) {
          const busy = new Set(this.spans.spansOf(u).map((s) => this.#byIdx.get(this.spans.job[s]!)));
          throw new FractalError(
            ErrorCodes.BUSY,
            `cannot remove ${g.path(v)}: job(s) ${[...busy].join(', ')} hold resources there; drain it and free or cancel those jobs first`,
          );
        }
      }
    }
    let n = 0;
    for (const v of vs) {
      this.#addToAncestors(v, -1);
      n += g.removeSubtree(v).length;
    }
    this.#removals++;
    return n;
  }

  #one(target: number | string): [number] {
    const vs = this.resolve(target);
    if (vs.length !== 1) throw invalid(`"${String(target)}" names ${vs.length} vertices; name exactly one (a path such as /cluster0/rack0 is unique)`);
    return [vs[0]!];
  }

  // ---- statistics and self-checks -------------------------------------------------------

  /** Per-type totals now: units total, allocated, down, drained, free. */
  stat(at = this.now): TypeStat[] {
    const g = this.store;
    const rows = g.typeNames().map((type) => ({ type, total: 0, allocated: 0, down: 0, drained: 0, free: 0 }));
    const walk = (v: number, inherited: number): void => {
      const st = g.status[v] === STATUS_UP ? inherited : g.status[v]!;
      const row = rows[g.type[v]!]!;
      const size = g.size[v]!;
      row.total += size;
      if (this.spans.exclusiveDuring(v, at, at + 1)) row.allocated += size;
      else if (st === STATUS_DOWN) row.down += size;
      else if (st === STATUS_DRAINED) row.drained += size;
      else row.free += size;
      for (let c = g.first[v]!; c !== NONE; c = g.next[c]!) walk(c, st);
    };
    walk(g.root, STATUS_UP);
    return rows.filter((r) => r.total > 0);
  }

  get jobCount(): number {
    return this.#jobs.size;
  }

  /**
   * Recounts every pruning filter from the vertices and their spans and
   * returns the differences (empty when the incremental counts are right).
   * Slow: for tests.
   */
  checkAggregates(): string[] {
    const g = this.store;
    const W = this.#W;
    const problems: string[] = [];
    const times = new Set<number>([this.now]);
    for (const j of this.#jobs.values()) {
      times.add(j.start);
      if (j.end < FOREVER) times.add(j.end);
    }
    for (let v = 0; v < g.count; v++) {
      if (g.status[v] === STATUS_REMOVED || g.first[v] === NONE) continue;
      const s = this.#slotOf[v]!;
      if (s < 0) {
        problems.push(`${g.path(v)} has children but no pruning filter`);
        continue;
      }
      const sub = g.subtree(v);
      const cap = new Float64Array(W);
      for (const u of sub) cap[g.type[u]!] = cap[g.type[u]!]! + g.size[u]!;
      for (let t = 0; t < W; t++) {
        if (cap[t] !== this.#cap[s * W + t]) {
          problems.push(`${g.path(v)}: capacity of ${g.typeName(t)} is ${this.#cap[s * W + t]} but a recount gives ${cap[t]}`);
        }
      }
      for (const at of times) {
        const used = new Float64Array(W);
        for (const u of sub) {
          if (this.spans.exclusiveDuring(u, at, at + 1e-9)) used[g.type[u]!] = used[g.type[u]!]! + g.size[u]!;
        }
        const tl = this.#tl[s];
        for (let t = 0; t < W; t++) {
          const have = tl === undefined ? 0 : tl.usedAt(t, at);
          if (have !== used[t]) problems.push(`${g.path(v)} at t=${at}: ${g.typeName(t)} used is ${have} but a recount gives ${used[t]}`);
        }
      }
    }
    return problems;
  }
}

function isCompiled(x: unknown): x is CompiledJob {
  return typeof x === 'object' && x !== null && 'reqs' in x && 'jobspec' in x && 'typeCount' in x;
}

/** Units of each graph type a request needs in all (slots and unknown types skipped). */
function rootNeeds(reqs: readonly Req[]): Map<number, number> {
  const out = new Map<number, number>();
  const add = (t: number, a: number): void => {
    if (t >= 0) out.set(t, (out.get(t) ?? 0) + a);
  };
  for (const r of reqs) {
    add(r.t, r.min);
    r.needT.forEach((t, i) => add(t, r.needA[i]! * r.min));
  }
  return out;
}

function hasUnknown(r: Req): boolean {
  return r.t === UNKNOWN_TYPE || r.with.some(hasUnknown);
}

function checkPolicy(p: string): MatchPolicy {
  if (!MATCH_POLICIES.includes(p as MatchPolicy)) {
    throw invalid(`unknown match policy "${p}"; use one of ${MATCH_POLICIES.join(', ')}`);
  }
  return p as MatchPolicy;
}
