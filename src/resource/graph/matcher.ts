/**
 * The depth-first matcher: finds, under the graph's root, vertices that
 * satisfy a request tree during a time window, without changing any state.
 * The result is a selection (vertex, units, exclusive) that
 * ResourceGraph commits.
 *
 * How a request is read (Fluxion's rules, with one relaxation):
 * - Top-level requests may skip leading graph levels: `node[2]` matches
 *   nodes anywhere under a cluster/rack root.
 * - Below a matched vertex, a request for type T takes T children; levels
 *   the request does not name (sockets, NUMA domains) are crossed
 *   transparently unless `strict` is set (Fluxion requires every level to
 *   be named once a match has started).
 * - A slot is carved at the deepest vertex whose direct children hold every
 *   type of the slot (so a slot of 2 cores stays within one socket); a slot
 *   too big for one such vertex spans its parent (not in strict mode).
 * - Slot contents are exclusive to the job; vertices above a slot are
 *   shared unless the jobspec says `exclusive: true`, which also hands the
 *   job the whole subtree (node-exclusive jobs get every core and GPU).
 * - Counts are units: a `memory[6]` request takes 6 GB from pools of
 *   `size` GB. Ranges (`min`/`max`/operator) take as many as are free, up
 *   to max, rounded down to an acceptable count.
 *
 * Pruning: before entering a vertex the matcher compares what one instance
 * needs below it (per type) with the vertex's free count during the window,
 * so busy racks and nodes are skipped without visiting their cores.
 */
import type { AuxSubsystem, GraphStore } from './store.js';
import { STATUS_UP, STATUS_REMOVED } from './store.js';
import type { SpanPool } from './planner.js';
import type { Req } from './request.js';
import { SLOT, UNKNOWN_TYPE, fitCount, reqText } from './request.js';

export type MatchPolicy = 'first' | 'low-id' | 'high-id' | 'pack' | 'spread';
export const MATCH_POLICIES: readonly MatchPolicy[] = ['first', 'low-id', 'high-id', 'pack', 'spread'];

/** What the matcher needs from the graph. */
export interface MatchEnv {
  readonly store: GraphStore;
  readonly spans: SpanPool;
  /** Free units of type t under non-leaf vertex v during [s, e) (capacity when `ignoreState`). */
  avail(v: number, t: number, s: number, e: number, ignoreState: boolean): number;
  /** Children of v are in ascending id order (so low/high id can walk the list). */
  childrenSorted(v: number): boolean;
}

export interface MatcherOptions {
  policy: MatchPolicy;
  start: number;
  end: number;
  /** Satisfiability: ignore allocations, reservations and status. */
  ignoreState: boolean;
  /** Node vertices must pass this (RFC 31). */
  constraint: ((v: number) => boolean) | undefined;
  /** Every matched node is exclusive (Fluxion's node_exclusive). */
  nodeExclusive: boolean;
  /** Fluxion's level rules: no transparent levels once matching started, no spanning slots. */
  strict: boolean;
  /** Record why requests fail (slower; used to explain unsatisfiable requests). */
  explain: boolean;
  /** pack/spread: among children with equal free counts, prefer the higher id. */
  tieHighId?: boolean;
  /**
   * Walk this subsystem's edges (e.g. network: switch → node) instead of
   * containment, falling back to containment below its last level (a node's
   * sockets and cores). Default containment.
   */
  subsystem?: AuxSubsystem | undefined;
}

interface Failure {
  got: number;
  at: number;
}

export class Matcher {
  readonly #env: MatchEnv;
  readonly #g: GraphStore;
  readonly #sp: SpanPool;
  #o!: MatcherOptions;
  #nodeT = -1;
  /** Types a job takes whole (exclusive: true in the request; node with nodeExclusive). */
  #xTypes = new Set<number>();
  /** Marks vertices taken by the match in progress: taken[v] === #seq. */
  #taken = new Uint32Array(0);
  #seq = 0;
  // The selection stack.
  selV: number[] = [];
  selNeeds: number[] = [];
  selX: number[] = [];
  top = 0;
  /** Vertices entered (a measure of the work done). */
  visits = 0;
  /** Nodes rejected by the constraint, vertices skipped for their status. */
  rejectedByConstraint = 0;
  skippedByStatus = 0;
  readonly failures = new Map<Req, Failure>();
  #failOrder: Req[] = [];
  /** Children ordered for pack/spread, reused between calls. */
  #scratch: number[][] = [];
  /** Walking another subsystem: its edges, its roots, capacities of its vertices. */
  #aux: AuxSubsystem | undefined;
  #auxRoots: number[] = [];
  #auxCap = new Map<number, number>();
  /** Per-vertex sort keys for pack/spread (only valid during one sort). */
  #score = new Float64Array(0);

  constructor(env: MatchEnv) {
    this.#env = env;
    this.#g = env.store;
    this.#sp = env.spans;
  }

  /** Runs a match; true when every top-level request is satisfied. */
  run(reqs: readonly Req[], opts: MatcherOptions): boolean {
    this.#o = opts;
    this.#nodeT = this.#g.typeIndex('node');
    this.#xTypes = new Set<number>();
    if (opts.nodeExclusive && this.#nodeT >= 0) this.#xTypes.add(this.#nodeT);
    const walk = (rs: readonly Req[]): void => {
      for (const r of rs) {
        if (r.exclusive === true && r.t >= 0) this.#xTypes.add(r.t);
        walk(r.with);
      }
    };
    walk(reqs);
    if (this.#taken.length < this.#g.count) this.#taken = new Uint32Array(Math.max(this.#g.count, this.#taken.length * 2));
    this.#seq++;
    if (this.#seq === 0xffffffff) {
      this.#taken.fill(0);
      this.#seq = 1;
    }
    this.top = 0;
    this.visits = 0;
    this.rejectedByConstraint = 0;
    this.skippedByStatus = 0;
    this.failures.clear();
    this.#failOrder = [];
    this.#aux = opts.subsystem;
    this.#auxCap.clear();
    if (this.#aux !== undefined) {
      const a = this.#aux;
      this.#auxRoots = [...a.out.keys()].filter((v) => (a.in.get(v) ?? []).length === 0 && this.#g.status[v] !== STATUS_REMOVED);
    }
    const root = this.#g.root;
    if (root < 0) return false;
    if (this.#aux !== undefined) return this.#runAux(reqs);
    for (const r of reqs) {
      if (r.t === UNKNOWN_TYPE) {
        this.#fail(r, 0, root);
        return false;
      }
      const bounds: number[] = [];
      let got = 0;
      if (r.t === SLOT) {
        if (this.#hostsShape(root, r)) got = this.#carve(root, r, r.max, false, bounds);
        else if (this.#enter(root)) got = this.#slots(root, r, r.max, true, bounds);
      } else if (this.#g.type[root] === r.t) {
        const pos = this.top;
        if (this.#instance(root, r, false, this.#g.size[root]!)) {
          bounds.push(pos, this.#g.size[root]!);
          got = this.#g.size[root]!;
        }
      } else if (this.#enter(root) && this.#enough(root, r, 1)) {
        got = this.#collect(root, r, r.max, false, true, bounds);
      }
      const fit = fitCount(r, got);
      if (fit === 0) {
        this.#fail(r, got, root);
        this.#rollback(0);
        return false;
      }
      this.#trim(bounds, got, fit);
    }
    return true;
  }

  /** Top level when walking another subsystem: its roots are the candidates. */
  #runAux(reqs: readonly Req[]): boolean {
    for (const r of reqs) {
      if (r.t === UNKNOWN_TYPE) {
        this.#fail(r, 0, this.#g.root);
        return false;
      }
      const bounds: number[] = [];
      const got = r.t === SLOT ? this.#slots(-1, r, r.max, true, bounds) : this.#collect(-1, r, r.max, false, true, bounds);
      const fit = fitCount(r, got);
      if (fit === 0) {
        this.#fail(r, got, this.#g.root);
        this.#rollback(0);
        return false;
      }
      this.#trim(bounds, got, fit);
    }
    return true;
  }

  /** Children of u in the subsystem walked (u = -1: the subsystem's roots); null for containment's list. */
  #kids(u: number): number[] | null {
    const a = this.#aux;
    if (a === undefined) return null;
    if (u < 0) return this.#auxRoots;
    const out = a.out.get(u);
    if (out !== undefined && out.length > 0) return out;
    return this.#g.children(u);
  }

  #leaf(v: number): boolean {
    if (this.#g.first[v] !== -1) return false;
    return this.#aux === undefined || (this.#aux.out.get(v) ?? []).length === 0;
  }

  /** Free units of t below v; vertices only in the walked subsystem sum their children's capacity. */
  #avail(v: number, t: number): number {
    const o = this.#o;
    const a = this.#aux;
    if (a !== undefined && (a.out.get(v) ?? []).length > 0) return this.#auxCapacity(v, t);
    return this.#env.avail(v, t, o.start, o.end, o.ignoreState);
  }

  #auxCapacity(v: number, t: number): number {
    const key = v * 256 + t;
    const hit = this.#auxCap.get(key);
    if (hit !== undefined) return hit;
    const g = this.#g;
    this.#auxCap.set(key, 0); // cycles in a subsystem count once
    let n = g.type[v] === t ? g.size[v]! : 0;
    for (const c of this.#kids(v) ?? []) {
      if ((this.#aux!.out.get(c) ?? []).length > 0) n += this.#auxCapacity(c, t);
      else if (g.first[c] === -1) n += g.type[c] === t ? g.size[c]! : 0;
      else n += this.#env.avail(c, t, 0, 0, true);
    }
    this.#auxCap.set(key, n);
    return n;
  }

  /**
   * Why the last (explaining) run failed: the innermost request that could
   * not be met, where it came closest, and the requests above it.
   */
  explainFailure(): string {
    const top = this.#failOrder.find((r) => !r.path.includes('.with')) ?? this.#failOrder[0];
    if (top === undefined) return 'no resources match the request';
    const chain: Req[] = [];
    let r: Req | undefined = top;
    while (r !== undefined && !chain.includes(r) && this.failures.has(r)) {
      chain.push(r);
      r = r.with.find((c) => this.failures.has(c));
    }
    const deepest = chain[chain.length - 1]!;
    const f = this.failures.get(deepest)!;
    const parts: string[] = [];
    if (deepest.t === UNKNOWN_TYPE) parts.push(`the graph has no resources of type "${deepest.type}" (${deepest.path})`);
    else {
      const g = this.#g;
      const where = f.at === g.root ? `the whole graph (${g.name(f.at)})` : `any one ${g.typeOf(f.at)} (best: ${g.name(f.at)})`;
      parts.push(`${reqText(deepest)} at ${deepest.path}: only ${f.got} of ${deepest.min} ${deepest.type} fit under ${where}`);
      if (chain.length > 1) parts.push(`needed by ${chain.slice(0, -1).map(reqText).join(' → ')}`);
    }
    if (this.rejectedByConstraint > 0) parts.push(`${this.rejectedByConstraint} node visits were rejected by the job's constraints`);
    if (this.skippedByStatus > 0) parts.push(`${this.skippedByStatus} vertices were skipped because they are down or drained`);
    return parts.join('; ');
  }

  #fail(r: Req, got: number, at: number): void {
    if (!this.#o.explain) return;
    const f = this.failures.get(r);
    if (f === undefined) {
      this.failures.set(r, { got, at });
      this.#failOrder.push(r);
    } else if (got > f.got) {
      f.got = got;
      f.at = at;
    }
  }

  /** Records which child request lacks free units below v. */
  #failShort(v: number, r: Req): void {
    for (let i = 0; i < r.needT.length; i++) {
      const t = r.needT[i]!;
      const have = this.#leaf(v) ? 0 : this.#avail(v, t);
      if (have >= r.needA[i]!) continue;
      const c = r.with.find((w) => w.t === t) ?? r.with[0];
      if (c !== undefined) this.#fail(c, have, v);
      return;
    }
  }

  #push(v: number, needs: number, x: boolean): void {
    const i = this.top++;
    this.selV[i] = v;
    this.selNeeds[i] = needs;
    this.selX[i] = x ? 1 : 0;
    this.#taken[v] = this.#seq;
  }

  #rollback(pos: number): void {
    for (let i = this.top - 1; i >= pos; i--) this.#taken[this.selV[i]!] = 0;
    this.top = pos;
  }

  /** Drops the last instances of a request so that `got` units become `fit`. */
  #trim(bounds: number[] | null, got: number, fit: number): void {
    if (bounds === null) return;
    let extra = got - fit;
    for (let k = bounds.length - 2; k >= 0 && extra > 0; k -= 2) {
      const pos = bounds[k]!;
      const units = bounds[k + 1]!;
      if (units <= extra) {
        this.#rollback(pos);
        extra -= units;
      } else {
        // Part of a pool: a shared one gives back the excess, an exclusive one is kept whole.
        if (this.selX[pos] !== 1) this.selNeeds[pos] = this.selNeeds[pos]! - extra;
        extra = 0;
      }
    }
  }

  /** May the matcher pass through v (status, exclusive holders, constraint on nodes)? */
  #enter(v: number): boolean {
    this.visits++;
    const g = this.#g;
    if (g.status[v] === STATUS_REMOVED) return false;
    if (!this.#o.ignoreState) {
      if (g.status[v] !== STATUS_UP) {
        this.skippedByStatus++;
        return false;
      }
      if (this.#sp.exclusiveDuring(v, this.#o.start, this.#o.end)) return false;
    }
    if (g.type[v] === this.#nodeT && this.#o.constraint !== undefined && !this.#o.constraint(v)) {
      this.rejectedByConstraint++;
      return false;
    }
    return true;
  }

  /** Does v have free units for `instances` instances of r below it (and of r's own type when crossing v)? */
  #enough(v: number, r: Req, ownUnits: number): boolean {
    if (this.#leaf(v)) return r.needT.length === 0 && ownUnits === 0;
    if (ownUnits > 0 && r.t >= 0 && this.#avail(v, r.t) < ownUnits) return false;
    for (let i = 0; i < r.needT.length; i++) {
      if (this.#avail(v, r.needT[i]!) < r.needA[i]!) return false;
    }
    return true;
  }

  /**
   * One instance of r at v (v's type is r's), taking `units` of v. Pushes v
   * and what r's children take; undoes everything on failure.
   */
  #instance(v: number, r: Req, xin: boolean, units: number): boolean {
    const g = this.#g;
    const o = this.#o;
    this.visits++;
    if (g.status[v] === STATUS_REMOVED) return false;
    const whole = this.#xTypes.has(g.type[v]!);
    const x = xin || whole;
    if (!o.ignoreState) {
      if (g.status[v] !== STATUS_UP) {
        this.skippedByStatus++;
        return false;
      }
      if (x ? !this.#sp.idle(v) && this.#sp.anyDuring(v, o.start, o.end) : this.#sp.exclusiveDuring(v, o.start, o.end)) return false;
    }
    if (g.type[v] === this.#nodeT && o.constraint !== undefined && !o.constraint(v)) {
      this.rejectedByConstraint++;
      return false;
    }
    if (r.needT.length > 0 && !this.#enough(v, r, 0)) {
      if (o.explain) this.#failShort(v, r);
      return false;
    }
    const pos = this.top;
    this.#push(v, units, x);
    for (const c of r.with) {
      // A fixed count never needs trimming, so its instances need no record.
      const bounds = c.min === c.max ? null : [];
      let got: number;
      if (c.t === SLOT) got = this.#slots(v, c, c.max, !o.strict, bounds);
      else got = this.#collect(v, c, c.max, x, !o.strict, bounds);
      const fit = fitCount(c, got);
      if (fit === 0) {
        this.#fail(c, got, v);
        this.#rollback(pos);
        return false;
      }
      this.#trim(bounds, got, fit);
    }
    if (whole && !o.ignoreState) this.#wholeSubtree(v);
    return true;
  }

  /**
   * Crosses c (a vertex the request does not name) to find resources below
   * it. When c's type is taken whole (node-exclusive), c must be free and
   * the job gets all of it if anything below it is used.
   */
  #through(c: number, body: () => number): number {
    const o = this.#o;
    if (this.#aux !== undefined && this.#g.parent[c] === -1 && c !== this.#g.root) {
      // A vertex of the walked subsystem only (a switch): the job passes through it.
      const pos = this.top;
      this.#push(c, 1, false);
      const got = body();
      if (got === 0) this.#rollback(pos);
      return got;
    }
    if (o.ignoreState || !this.#xTypes.has(this.#g.type[c]!)) return body();
    if (!this.#sp.idle(c) && this.#sp.anyDuring(c, o.start, o.end)) return 0;
    const pos = this.top;
    this.#push(c, 1, true);
    const got = body();
    if (got > 0) this.#wholeSubtree(c);
    else this.#rollback(pos);
    return got;
  }

  /** Gives the job every vertex below v not taken yet (exclusive requests). */
  #wholeSubtree(v: number): void {
    const g = this.#g;
    const stack: number[] = [];
    for (let c = g.first[v]!; c !== -1; c = g.next[c]!) stack.push(c);
    while (stack.length > 0) {
      const u = stack.pop()!;
      if (g.status[u] !== STATUS_UP) continue;
      if (this.#taken[u] !== this.#seq) this.#push(u, g.size[u]!, true);
      for (let c = g.first[u]!; c !== -1; c = g.next[c]!) stack.push(c);
    }
  }

  /**
   * Collects up to `want` units of r among u's children (and, when `deep`,
   * among descendants through vertices of other types). Instances are
   * recorded in `bounds` as (stack position, units) pairs.
   */
  #collect(u: number, r: Req, want: number, xin: boolean, deep: boolean, bounds: number[] | null): number {
    const g = this.#g;
    let got = 0;
    const order = this.#order(u, r, want);
    const o = this.#o;
    // Leaves asked for with nothing inside (cores, GPUs): checked inline, the hot path.
    const simpleLeaf = r.with.length === 0 && r.t !== this.#nodeT && !this.#xTypes.has(r.t);
    const sp = this.#sp;
    const visit = (c: number): boolean => {
      if (this.#taken[c] === this.#seq) return got < want;
      if (simpleLeaf && g.type[c] === r.t && g.first[c] === -1 && g.size[c] === 1) {
        this.visits++;
        if (g.status[c] === STATUS_REMOVED) return true;
        if (!o.ignoreState) {
          if (g.status[c] !== STATUS_UP) {
            this.skippedByStatus++;
            return true;
          }
          if (!sp.idle(c) && (xin ? sp.anyDuring(c, o.start, o.end) : sp.exclusiveDuring(c, o.start, o.end))) return true;
        }
        bounds?.push(this.top, 1);
        this.#push(c, 1, xin);
        return ++got < want;
      }
      if (g.type[c] === r.t) {
        // An exclusive pool (memory, storage) is taken whole; a shared one in part.
        const units = xin || this.#xTypes.has(r.t) ? g.size[c]! : Math.min(g.size[c]!, want - got);
        const pos = this.top;
        if (units > 0 && this.#instance(c, r, xin, units)) {
          bounds?.push(pos, units);
          got += units;
        }
      } else if (deep && !this.#leaf(c) && this.#enter(c)) {
        if (this.#enough(c, r, 1)) got += this.#through(c, () => this.#collect(c, r, want - got, xin, deep, bounds));
        else if (this.#o.explain) this.#failShort(c, r);
      }
      return got < want;
    };
    this.#eachChild(u, order, visit);
    return got;
  }

  /** Visits u's children (in policy order, or tree order when `order` is null) until `visit` returns false. */
  #eachChild(u: number, order: number[] | null, visit: (c: number) => boolean): void {
    const g = this.#g;
    if (order === null) {
      const d = this.#dir();
      for (let c = d > 0 ? g.first[u]! : g.last[u]!; c !== -1; c = d > 0 ? g.next[c]! : g.prev[c]!) if (!visit(c)) break;
    } else {
      for (const c of order) if (!visit(c)) break;
      this.#release(order);
    }
  }

  /** Does v have a direct child of every type in slot r? */
  #hostsShape(v: number, r: Req): boolean {
    const g = this.#g;
    if (v < 0) return false;
    const kids = this.#kids(v);
    for (const e of r.with) {
      if (e.t < 0) return false;
      let found = false;
      if (kids !== null) found = kids.some((c) => g.type[c] === e.t);
      else {
        for (let c = g.first[v]!; c !== -1; c = g.next[c]!) {
          if (g.type[c] === e.t) {
            found = true;
            break;
          }
        }
      }
      if (!found) return false;
    }
    return true;
  }

  #isShapeType(t: number, r: Req): boolean {
    for (const e of r.with) if (e.t === t) return true;
    return false;
  }

  /** Up to `want` slots of r under u (u itself already entered). */
  #slots(u: number, r: Req, want: number, deep: boolean, bounds: number[] | null): number {
    const g = this.#g;
    const o = this.#o;
    if (this.#hostsShape(u, r)) return this.#carve(u, r, want, false, bounds);
    let got = 0;
    const order = this.#order(u, r, want);
    const visit = (c: number): boolean => {
      if (this.#taken[c] === this.#seq || this.#leaf(c) || this.#isShapeType(g.type[c]!, r)) return got < want;
      if (!this.#enter(c)) return got < want;
      if (!this.#enough(c, r, 0)) {
        if (!o.explain) return got < want;
        // Explaining: a rack's total says nothing about one node, so look
        // inside to find where a slot comes closest to fitting.
        if (this.#maySpan(c)) {
          this.#failShort(c, r);
          return got < want;
        }
      }
      if (this.#hostsShape(c, r)) got += this.#through(c, () => this.#carve(c, r, want - got, false, bounds));
      else if (deep) got += this.#through(c, () => this.#slots(c, r, want - got, deep, bounds));
      return got < want;
    };
    this.#eachChild(u, order, visit);
    // A slot too big for any single child spans u (e.g. 64 cores over two
    // sockets), but never several nodes unless the slot names nodes.
    if (!o.strict && got < want && this.#maySpan(u)) got += this.#carve(u, r, want - got, true, bounds);
    return got;
  }

  /** Carves up to `want` slots from w's children (descendants when `deep`). */
  #carve(w: number, r: Req, want: number, deep: boolean, bounds: number[] | null): number {
    let n = 0;
    while (n < want) {
      const pos = this.top;
      let ok = true;
      for (const e of r.with) {
        const b = e.min === e.max ? null : [];
        const got = this.#collect(w, e, e.max, true, deep, b);
        const fit = fitCount(e, got);
        if (fit === 0) {
          this.#fail(e, got, w);
          ok = false;
          break;
        }
        this.#trim(b, got, fit);
      }
      if (!ok || this.top === pos) {
        this.#rollback(pos);
        break;
      }
      bounds?.push(pos, 1);
      n++;
    }
    return n;
  }

  #maySpan(u: number): boolean {
    return this.#nodeT < 0 || this.#g.ancestorOfType(u, this.#nodeT) >= 0;
  }

  #dir(): number {
    const p = this.#o.policy;
    return p === 'high-id' || ((p === 'pack' || p === 'spread') && this.#o.tieHighId === true) ? -1 : 1;
  }

  /**
   * The children of u in policy order, or null when the child list itself
   * can be walked (first; low/high id over id-sorted children).
   */
  #order(u: number, r: Req, want: number): number[] | null {
    const p = this.#o.policy;
    const g = this.#g;
    const kids = this.#kids(u);
    // pack/spread compare free counts below each child; a request with
    // nothing below it (cores, GPUs) is filled in id order instead.
    const byId = p === 'low-id' || p === 'high-id' || ((p === 'pack' || p === 'spread') && r.needT.length === 0);
    if (kids === null) {
      if (p === 'first') return null;
      if (byId && this.#env.childrenSorted(u)) return null;
    }
    const arr = this.#scratch.pop() ?? [];
    arr.length = 0;
    if (kids !== null) arr.push(...kids);
    else for (let c = g.first[u]!; c !== -1; c = g.next[c]!) arr.push(c);
    if (p === 'first') return arr;
    if (byId) {
      const s = this.#dir();
      arr.sort((a, b) => s * (g.id[a]! - g.id[b]!) || a - b);
      return arr;
    }
    // pack / spread: by free units of the type that matters most.
    const key = this.#keyType(r);
    if (key < 0) return arr;
    const o = this.#o;
    if (this.#score.length < g.count) this.#score = new Float64Array(Math.max(g.count, this.#score.length * 2));
    const sc = this.#score;
    for (const c of arr) sc[c] = this.#leaf(c) ? (this.#sp.idle(c) ? g.size[c]! : 0) : this.#avail(c, key);
    const score = { get: (c: number): number => sc[c]! };
    const per = r.t >= 0 && key === r.t ? 1 : this.#perInstance(r, key);
    const needAll = per * (want === Infinity ? 1 : want);
    const tie = o.tieHighId === true ? -1 : 1;
    if (p === 'spread') {
      arr.sort((a, b) => score.get(b) - score.get(a) || tie * (g.id[a]! - g.id[b]!) || tie * (a - b));
    } else {
      // Best fit: the fullest child that still holds everything, then the rest, largest first.
      arr.sort((a, b) => {
        const sa = score.get(a);
        const sb = score.get(b);
        const fa = sa >= needAll ? 0 : 1;
        const fb = sb >= needAll ? 0 : 1;
        if (fa !== fb) return fa - fb;
        return (fa === 0 ? sa - sb : sb - sa) || tie * (g.id[a]! - g.id[b]!) || tie * (a - b);
      });
    }
    return arr;
  }

  #release(arr: number[]): void {
    this.#scratch.push(arr);
  }

  /** The type whose free count orders children for pack/spread: r's most needed type. */
  #keyType(r: Req): number {
    let best = -1;
    let amount = 0;
    for (let i = 0; i < r.needT.length; i++) {
      if (r.needA[i]! > amount) {
        amount = r.needA[i]!;
        best = r.needT[i]!;
      }
    }
    return best >= 0 ? best : r.t;
  }

  #perInstance(r: Req, t: number): number {
    for (let i = 0; i < r.needT.length; i++) if (r.needT[i] === t) return r.needA[i]!;
    return 1;
  }
}
