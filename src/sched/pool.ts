/**
 * The simplest resource model: a pool of identical nodes with `coresPerNode`
 * cores each, where cores are interchangeable (as in the Parallel Workloads
 * Archive's machines). A job needs `procs` cores, or `nodes` x `coresPerNode`
 * when it asks for whole nodes. Its profile is a step function of free cores
 * over time, kept as two parallel arrays of breakpoints.
 */
import { invalid } from '../errors/index.js';
import type { JobShape, Profile, ResourceModel, RunningJob } from './types.js';

export interface PoolOptions {
  nodes: number;
  coresPerNode: number;
}

export class NodePool implements ResourceModel {
  readonly nodes: number;
  readonly coresPerNode: number;
  readonly capacity: number;
  readonly description: string;

  constructor(opts: PoolOptions) {
    if (!Number.isInteger(opts.nodes) || opts.nodes < 1) throw invalid(`the pool needs a whole number of nodes >= 1 (got ${opts.nodes})`);
    if (!Number.isInteger(opts.coresPerNode) || opts.coresPerNode < 1) {
      throw invalid(`the pool needs a whole number of cores per node >= 1 (got ${opts.coresPerNode})`);
    }
    this.nodes = opts.nodes;
    this.coresPerNode = opts.coresPerNode;
    this.capacity = opts.nodes * opts.coresPerNode;
    this.description = `${opts.nodes} nodes x ${opts.coresPerNode} cores`;
  }

  /** Cores the job needs. */
  demand(job: JobShape): number {
    return job.nodes !== undefined ? job.nodes * this.coresPerNode : job.procs;
  }

  infeasible(job: JobShape): string | undefined {
    const d = this.demand(job);
    if (!(d >= 1)) return `it asks for ${d} cores; a job needs at least 1`;
    if (job.nodes !== undefined && job.nodes > this.nodes) return `it asks for ${job.nodes} nodes; the pool has ${this.nodes}`;
    if (d > this.capacity) return `it asks for ${d} cores; the pool has ${this.capacity}`;
    return undefined;
  }

  profile(now: number, running: readonly RunningJob[]): PoolProfile {
    return new PoolProfile(this, now, running);
  }
}

/** How long a job with a zero time limit holds its resources, in seconds. */
const MIN_HOLD = 1e-3;

/** Index of the last element <= x in the sorted array a (a[0] <= x is assumed). */
function lastAtOrBefore(a: readonly number[], x: number): number {
  let lo = 0, hi = a.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (a[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export class PoolProfile implements Profile {
  /** Free cores now, after this cycle's starts. */
  private freeNow: number;
  /** Breakpoint times (t[0] = now) and free cores on [t[i], t[i+1]); built on first need. */
  private t: number[] = [];
  private f: number[] = [];
  private built = false;
  /** Jobs started this cycle before the breakpoints were built: [end, cores]. */
  private startedEarly: [number, number][] = [];
  /** Reservations that begin after now: while there are none, free cores never decrease over time. */
  private future = 0;

  constructor(private readonly pool: NodePool, private readonly now: number, private readonly running: readonly RunningJob[]) {
    let used = 0;
    for (const r of running) used += pool.demand(r);
    this.freeNow = pool.capacity - used;
  }

  exhausted(): boolean {
    return this.freeNow <= 0;
  }

  fitsNow(job: JobShape): boolean {
    return this.pool.demand(job) <= this.freeNow;
  }

  /** Free cores at time x (for tests and diagnostics). */
  freeAt(x: number): number {
    if (x <= this.now) return this.freeNow;
    this.build();
    return this.f[lastAtOrBefore(this.t, x)]!;
  }

  fits(job: JobShape, start: number, end: number): boolean {
    const d = this.pool.demand(job);
    if (start <= this.now && this.future === 0) return d <= this.freeNow;
    this.build();
    const t = this.t, f = this.f;
    let j = lastAtOrBefore(t, Math.max(start, this.now));
    do {
      if (f[j]! < d) return false;
      j++;
    } while (j < t.length && t[j]! < end);
    return true;
  }

  earliestStart(job: JobShape, duration: number, after: number): number {
    const d = this.pool.demand(job);
    if (d > this.pool.capacity) return Infinity;
    const from = Math.max(after, this.now);
    if (from === this.now && this.future === 0 && d <= this.freeNow) return this.now;
    this.build();
    const t = this.t, f = this.f, n = t.length;
    let i = lastAtOrBefore(t, from);
    let c = from;
    for (;;) {
      // Try to start at c (within segment i); on a segment that is too full, restart after it.
      let j = i;
      let ok = true;
      do {
        if (f[j]! < d) { ok = false; break; }
        j++;
      } while (j < n && t[j]! < c + duration);
      if (ok) return c;
      i = j + 1;
      if (i >= n) return Infinity;
      c = t[i]!;
    }
  }

  reserve(job: JobShape, start: number, end: number): void {
    const d = this.pool.demand(job);
    const s = Math.max(start, this.now);
    // Even a job with a zero time limit holds its cores for an instant: the
    // caller counts them as used until it has processed the job's end.
    const e = end > s ? end : s + MIN_HOLD;
    if (s <= this.now) {
      this.freeNow -= d;
      if (!this.built) {
        this.startedEarly.push([e, d]);
        return;
      }
    }
    this.build();
    if (s > this.now) this.future++;
    const a = this.breakAt(s);
    const b = e === Infinity ? this.t.length : this.breakAt(e);
    for (let k = a; k < b; k++) this.f[k]! -= d;
  }

  /** Ensure a breakpoint at time x (> t[0]) and return its index. */
  private breakAt(x: number): number {
    const i = lastAtOrBefore(this.t, x);
    if (this.t[i] === x) return i;
    this.t.splice(i + 1, 0, x);
    this.f.splice(i + 1, 0, this.f[i]!);
    return i + 1;
  }

  private build(): void {
    if (this.built) return;
    this.built = true;
    const now = this.now, pool = this.pool;
    const ends: [number, number][] = [];
    let sorted = true;
    let prev = -Infinity;
    for (const r of this.running) {
      // A job past its expected end (not killed) may end any moment: say in one second.
      const e = r.end > now ? r.end : now + 1;
      if (e < prev) sorted = false;
      prev = e;
      ends.push([e, pool.demand(r)]);
    }
    if (this.startedEarly.length > 0) {
      for (const x of this.startedEarly) ends.push(x);
      sorted = false;
    }
    if (!sorted) ends.sort((x, y) => x[0] - y[0]);
    const t = [now], f = [this.freeNow];
    let last = 0;
    for (const [e, d] of ends) {
      if (e === Infinity) break;
      if (e === t[last]) f[last]! += d;
      else {
        t.push(e);
        f.push(f[last]! + d);
        last++;
      }
    }
    this.t = t;
    this.f = f;
    this.startedEarly = [];
  }
}
