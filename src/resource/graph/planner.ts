/**
 * Planners: what is busy when.
 *
 * SpanPool records, per vertex, the jobs that hold it over a time span
 * [start, end): exclusive spans (the vertex is the job's alone) and shared
 * spans (a job passes through it, e.g. the rack above its nodes). Spans are
 * kept in doubly linked lists in typed arrays, so adding and removing one is
 * O(1) and a vertex nobody holds costs one array slot.
 *
 * Timeline is the planner of a pruning filter: for one high-level vertex,
 * the units of each resource type held exclusively below it, as a step
 * function of time. "How many cores are free under rack3 during
 * [t, t+d)?" is capacity minus the largest step in that window.
 */

const NONE = -1;

export class SpanPool {
  start = new Float64Array(0);
  end = new Float64Array(0);
  job = new Int32Array(0);
  needs = new Float64Array(0);
  owner = new Int32Array(0);
  excl = new Uint8Array(0);
  #next = new Int32Array(0);
  #prev = new Int32Array(0);
  #cap = 0;
  #used = 0;
  #free = NONE;
  /** Head of each vertex's exclusive and shared span lists. */
  xHead = new Int32Array(0);
  sHead = new Int32Array(0);
  /** Live spans, for tests and statistics. */
  live = 0;

  constructor(vertices: number) {
    this.ensureVertices(vertices);
    this.#growSpans(1024);
  }

  ensureVertices(n: number): void {
    if (n <= this.xHead.length) return;
    let cap = Math.max(16, this.xHead.length);
    while (cap < n) cap *= 2;
    const x = new Int32Array(cap).fill(NONE);
    x.set(this.xHead);
    const s = new Int32Array(cap).fill(NONE);
    s.set(this.sHead);
    this.xHead = x;
    this.sHead = s;
  }

  #growSpans(min: number): void {
    let cap = Math.max(this.#cap, 16);
    while (cap < min) cap *= 2;
    const g = <T extends Float64Array | Int32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.start = g(this.start);
    this.end = g(this.end);
    this.job = g(this.job);
    this.needs = g(this.needs);
    this.owner = g(this.owner);
    this.excl = g(this.excl);
    this.#next = g(this.#next);
    this.#prev = g(this.#prev);
    this.#cap = cap;
  }

  add(v: number, exclusive: boolean, start: number, end: number, job: number, needs: number): number {
    let id = this.#free;
    if (id !== NONE) this.#free = this.#next[id]!;
    else {
      if (this.#used >= this.#cap) this.#growSpans(this.#used + 1);
      id = this.#used++;
    }
    this.start[id] = start;
    this.end[id] = end;
    this.job[id] = job;
    this.needs[id] = needs;
    this.owner[id] = v;
    this.excl[id] = exclusive ? 1 : 0;
    const heads = exclusive ? this.xHead : this.sHead;
    const h = heads[v]!;
    this.#next[id] = h;
    this.#prev[id] = NONE;
    if (h !== NONE) this.#prev[h] = id;
    heads[v] = id;
    this.live++;
    return id;
  }

  remove(id: number): void {
    const v = this.owner[id]!;
    const heads = this.excl[id] === 1 ? this.xHead : this.sHead;
    const n = this.#next[id]!;
    const p = this.#prev[id]!;
    if (p === NONE) heads[v] = n;
    else this.#next[p] = n;
    if (n !== NONE) this.#prev[n] = p;
    this.owner[id] = NONE;
    this.#next[id] = this.#free;
    this.#free = id;
    this.live--;
  }

  /** Some job holds v exclusively at some time in [s, e). */
  exclusiveDuring(v: number, s: number, e: number): boolean {
    for (let k = this.xHead[v]!; k !== NONE; k = this.#next[k]!) {
      if (this.start[k]! < e && this.end[k]! > s) return true;
    }
    return false;
  }

  /** Some job holds or passes through v at some time in [s, e). */
  anyDuring(v: number, s: number, e: number): boolean {
    if (this.exclusiveDuring(v, s, e)) return true;
    for (let k = this.sHead[v]!; k !== NONE; k = this.#next[k]!) {
      if (this.start[k]! < e && this.end[k]! > s) return true;
    }
    return false;
  }

  /** True when v has no spans at all (the common fast path). */
  idle(v: number): boolean {
    return this.xHead[v] === NONE && this.sHead[v] === NONE;
  }

  /** The spans of v: [span id...], exclusive ones first. */
  spansOf(v: number): number[] {
    const out: number[] = [];
    for (let k = this.xHead[v]!; k !== NONE; k = this.#next[k]!) out.push(k);
    for (let k = this.sHead[v]!; k !== NONE; k = this.#next[k]!) out.push(k);
    return out;
  }

  /** The earliest end after `t` among v's exclusive spans overlapping [t, e), or Infinity. */
  nextExclusiveEnd(v: number, t: number, e: number): number {
    let best = Infinity;
    for (let k = this.xHead[v]!; k !== NONE; k = this.#next[k]!) {
      if (this.start[k]! < e && this.end[k]! > t && this.end[k]! < best) best = this.end[k]!;
    }
    return best;
  }
}

/**
 * A step function of used units per resource type over time. Segment k
 * covers [times[k], times[k+1]) with values vals[k*width .. k*width+width);
 * before times[0] and from the last breakpoint on, nothing is used (every
 * span ends), so the last segment is always all zeros.
 */
export class Timeline {
  readonly width: number;
  times: number[] = [];
  vals: number[] = [];

  constructor(width: number) {
    this.width = width;
  }

  isEmpty(): boolean {
    return this.times.length === 0;
  }

  /** Index of the last breakpoint <= t, or -1. */
  #find(t: number): number {
    const a = this.times;
    let lo = 0;
    let hi = a.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid]! <= t) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /** Ensures a breakpoint at t and returns its index. */
  #split(t: number): number {
    const k = this.#find(t);
    if (k >= 0 && this.times[k] === t) return k;
    const w = this.width;
    const ins = k + 1;
    this.times.splice(ins, 0, t);
    const copy: number[] = new Array<number>(w);
    for (let p = 0; p < w; p++) copy[p] = k >= 0 ? this.vals[k * w + p]! : 0;
    this.vals.splice(ins * w, 0, ...copy);
    return ins;
  }

  #sameAsPrev(k: number): boolean {
    const w = this.width;
    if (k === 0) {
      for (let p = 0; p < w; p++) if (this.vals[p] !== 0) return false;
      return true;
    }
    for (let p = 0; p < w; p++) if (this.vals[k * w + p] !== this.vals[(k - 1) * w + p]) return false;
    return true;
  }

  #drop(k: number): void {
    this.times.splice(k, 1);
    this.vals.splice(k * this.width, this.width);
  }

  /** Adds amounts[i] units of types[i] over [start, end) (sign -1 removes them). */
  add(start: number, end: number, types: ArrayLike<number>, amounts: ArrayLike<number>, sign: number): void {
    if (!(end > start) || types.length === 0) return;
    const a = this.#split(start);
    const b = this.#split(end);
    const w = this.width;
    for (let k = a; k < b; k++) {
      for (let i = 0; i < types.length; i++) {
        const idx = k * w + types[i]!;
        this.vals[idx] = this.vals[idx]! + sign * amounts[i]!;
      }
    }
    // Merge away breakpoints that no longer change anything.
    if (b < this.times.length && this.#sameAsPrev(b)) this.#drop(b);
    if (a < this.times.length && this.#sameAsPrev(a)) this.#drop(a);
  }

  /** The most units of type p used at any time in [s, e). */
  maxUsed(p: number, s: number, e: number): number {
    const n = this.times.length;
    if (n === 0) return 0;
    const w = this.width;
    let k = this.#find(s);
    let best = k >= 0 ? this.vals[k * w + p]! : 0;
    for (k = k + 1; k < n && this.times[k]! < e; k++) {
      const v = this.vals[k * w + p]!;
      if (v > best) best = v;
    }
    return best;
  }

  usedAt(p: number, t: number): number {
    const k = this.#find(t);
    return k >= 0 ? this.vals[k * this.width + p]! : 0;
  }
}
