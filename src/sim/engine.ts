/**
 * The discrete-event engine: a virtual clock that jumps from event to event
 * (arrivals and job ends; no timers, no sleeps), runs one scheduling cycle of
 * a src/sched policy after each batch of events at the same time, and applies
 * the plan after re-checking it. Deterministic: the same jobs, policy and seed
 * give the same schedule. Jobs run for their actual run time, or are killed at
 * their time limit when `kill` is on (the default).
 */
import { FractalError, ErrorCodes, invalid } from '../errors/index.js';
import type { NodePool, Plan, QueuePolicy, RunningJob } from '../sched/index.js';
import type { SimJob } from './workload.js';

export interface SimOptions {
  policy: QueuePolicy;
  pool: NodePool;
  /** Kill a job when it reaches its estimate (default true); false lets it run its full run time. */
  kill?: boolean;
  /** Seed for tie-breaks between jobs submitted at the same second (default: trace order). */
  seed?: number;
  /** Called now and then with the number of finished jobs (for a progress line). */
  onProgress?: (finished: number, total: number) => void;
}

/** The queue and machine over time: one sample per cycle. */
export interface Timeline {
  time: number[];
  /** Cores in use after the cycle. */
  used: number[];
  /** Pending jobs after the cycle. */
  queued: number[];
}

export interface SimResult {
  jobs: readonly SimJob[];
  capacity: number;
  start: Float64Array;
  end: Float64Array;
  /** 1 when the job was killed at its time limit. */
  killed: Uint8Array;
  timeline: Timeline;
  cycles: number;
}

interface Entry {
  id: number;
  submit: number;
  procs: number;
  limit: number;
  reservation?: number;
}

/** A 32-bit hash of (seed, id) for seeded tie-breaks. */
export function tieKey(seed: number, id: number): number {
  let h = (seed ^ Math.imul(id | 0, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Min-heap of job indices keyed by end time, ties by index. */
class EndHeap {
  private readonly h: number[] = [];
  constructor(private readonly key: Float64Array) {}
  get size(): number { return this.h.length; }
  top(): number { return this.h[0]!; }
  private less(a: number, b: number): boolean {
    const ka = this.key[a]!, kb = this.key[b]!;
    return ka < kb || (ka === kb && a < b);
  }
  push(x: number): void {
    const h = this.h;
    let i = h.length;
    h.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(x, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = x;
  }
  pop(): number {
    const h = this.h;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
        if (!this.less(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

/** Running jobs sorted by expected end (then id), as the policies like them. */
class RunningList {
  readonly items: RunningJob[] = [];
  private find(end: number, id: number): number {
    let lo = 0, hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.items[mid]!;
      if (m.end < end || (m.end === end && m.id < id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  add(r: RunningJob): void {
    this.items.splice(this.find(r.end, r.id), 0, r);
  }
  remove(end: number, id: number): void {
    const i = this.find(end, id);
    if (this.items[i]?.id !== id) throw new FractalError(ErrorCodes.INTERNAL, `simulator: running job ${id} not found`);
    this.items.splice(i, 1);
  }
}

/** Replays the jobs through the policy on the pool. */
export function simulate(jobs: readonly SimJob[], opts: SimOptions): SimResult {
  const { policy, pool } = opts;
  const kill = opts.kill ?? true;
  const n = jobs.length;
  for (let i = 0; i < n; i++) {
    const j = jobs[i]!;
    const why = pool.infeasible(j);
    if (why !== undefined) throw invalid(`job ${j.id} can never run on ${pool.description}: ${why}`);
    if (!(j.run >= 0) || !(j.estimate >= 0)) throw invalid(`job ${j.id}: run time and estimate must be >= 0`);
  }
  const order = Array.from({ length: n }, (_, i) => i);
  const seed = opts.seed;
  const keys = seed === undefined ? undefined : jobs.map((j) => tieKey(seed, j.id));
  order.sort((a, b) => jobs[a]!.submit - jobs[b]!.submit || (keys ? keys[a]! - keys[b]! : 0) || a - b);

  const start = new Float64Array(n).fill(NaN);
  const end = new Float64Array(n).fill(NaN);
  const killed = new Uint8Array(n);
  const expected = new Float64Array(n);
  const startedFlag = new Uint8Array(n);
  const heap = new EndHeap(end);
  const running = new RunningList();
  const timeline: Timeline = { time: [], used: [], queued: [] };
  let pending: Entry[] = [];
  let next = 0;
  let used = 0;
  let finished = 0;
  let cycles = 0;
  const capacity = pool.capacity;
  const progressEvery = 8192;
  const byId = new Map<number, Entry>();

  const apply = (plan: Plan, now: number): void => {
    for (const p of plan.start) {
      const i = p.id;
      const j = jobs[i];
      // The plan applier re-checks what the policy decided (a policy bug must not corrupt the run).
      if (j === undefined || !byId.has(i)) throw new FractalError(ErrorCodes.INTERNAL, `policy ${policy.name} started job ${i}, which is not pending`);
      if (used + j.procs > capacity) throw new FractalError(ErrorCodes.INTERNAL, `policy ${policy.name} over-subscribed the pool at t=${now}`);
      startedFlag[i] = 1;
      byId.delete(i);
      used += j.procs;
      start[i] = now;
      const ran = kill && j.run > j.estimate ? j.estimate : j.run;
      if (ran < j.run) killed[i] = 1;
      end[i] = now + ran;
      expected[i] = now + j.estimate;
      heap.push(i);
      running.add({ id: i, procs: j.procs, start: now, end: expected[i]! });
    }
    for (const [id, at] of plan.reservations) {
      const e = byId.get(id);
      if (e !== undefined) e.reservation = at;
    }
    if (plan.start.length > 0) pending = pending.filter((e) => !startedFlag[e.id]);
  };

  for (;;) {
    const tA = next < n ? jobs[order[next]!]!.submit : Infinity;
    const tE = heap.size > 0 ? end[heap.top()]! : Infinity;
    const now = tA < tE ? tA : tE;
    if (now === Infinity) break;
    while (heap.size > 0 && end[heap.top()]! <= now) {
      const i = heap.pop();
      running.remove(expected[i]!, i);
      used -= jobs[i]!.procs;
      finished++;
      if (opts.onProgress && finished % progressEvery === 0) opts.onProgress(finished, n);
    }
    while (next < n && jobs[order[next]!]!.submit <= now) {
      const i = order[next]!;
      const j = jobs[i]!;
      const e: Entry = { id: i, submit: j.submit, procs: j.procs, limit: j.estimate };
      pending.push(e);
      byId.set(i, e);
      next++;
    }
    if (pending.length > 0 && used < capacity) {
      for (;;) {
        cycles++;
        const plan = policy.plan({ now, pending, running: running.items, resources: pool, explain: false });
        apply(plan, now);
        if (!(plan.more && plan.start.length > 0 && pending.length > 0)) break;
      }
    }
    const last = timeline.time.length - 1;
    if (last >= 0 && timeline.time[last] === now) {
      timeline.used[last] = used;
      timeline.queued[last] = pending.length;
    } else {
      timeline.time.push(now);
      timeline.used.push(used);
      timeline.queued.push(pending.length);
    }
  }
  if (pending.length > 0) throw new FractalError(ErrorCodes.INTERNAL, `simulator: ${pending.length} jobs never started under ${policy.name}`);
  opts.onProgress?.(finished, n);
  return { jobs, capacity, start, end, killed, timeline, cycles };
}
