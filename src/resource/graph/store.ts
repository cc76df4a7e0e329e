/**
 * GraphStore: the vertices and edges of a resource graph, held as a
 * struct of typed arrays (one slot per vertex) so that a 1.2 M-vertex
 * machine costs tens of megabytes and no per-vertex objects.
 *
 * It owns the containment tree (parent, first/last child, siblings, in
 * insertion order, which is the order every traversal and writer follows),
 * the vertex attributes (type, basename, id, rank, size, unit, status,
 * properties, name), and the edges of other named subsystems (network,
 * power, storage...). It knows nothing about jobs or time: allocation
 * state lives in ResourceGraph.
 */
import { invalid } from '../../errors/index.js';

/** Vertex status: `drained` takes no new work but keeps running jobs; `down` is unusable. */
export type VertexStatus = 'up' | 'down' | 'drained';

/** Status codes in GraphStore.status. REMOVED marks slots of removed vertices. */
export const STATUS_UP = 0;
export const STATUS_DOWN = 1;
export const STATUS_DRAINED = 2;
export const STATUS_REMOVED = 3;

const STATUS_NAMES: readonly VertexStatus[] = ['up', 'down', 'drained'];

export function statusCode(s: string): number {
  const i = STATUS_NAMES.indexOf(s as VertexStatus);
  if (i < 0) throw invalid(`unknown vertex status "${s}": use up, down or drained`);
  return i;
}

export function statusName(code: number): VertexStatus | 'removed' {
  return STATUS_NAMES[code] ?? 'removed';
}

/** What a loader gives for one vertex; everything but `type` has a default. */
export interface VertexSpec {
  type: string;
  /** Name stem (default: the type); the name is basename + id unless `name` is given. */
  basename?: string;
  name?: string;
  /** Logical id, e.g. the core number within its node; -1 (default) for none. */
  id?: number;
  /** Execution target (broker rank) of a node; -1 (default) inherits the ancestor's. */
  rank?: number;
  /** Units the vertex holds (memory in `unit`s, cores are 1). Default 1. */
  size?: number;
  unit?: string;
  properties?: Record<string, string>;
  status?: VertexStatus;
}

/** The edges of one non-containment subsystem, e.g. network: switch → node. */
export interface AuxSubsystem {
  readonly name: string;
  /** Relation name of its edges (Fluxion: "connected_down", "supplies_to"...). */
  relation: string;
  readonly out: Map<number, number[]>;
  readonly in: Map<number, number[]>;
}

const NONE = -1;

export class GraphStore {
  /** Slots in use, including removed vertices. */
  count = 0;
  #capacity = 0;
  type = new Uint16Array(0);
  base = new Uint16Array(0);
  id = new Int32Array(0);
  rank = new Int32Array(0);
  size = new Float64Array(0);
  unit = new Uint16Array(0);
  status = new Uint8Array(0);
  parent = new Int32Array(0);
  first = new Int32Array(0);
  last = new Int32Array(0);
  next = new Int32Array(0);
  prev = new Int32Array(0);
  depth = new Uint16Array(0);
  /** Names that are not basename + id (hostnames from a config file...). */
  readonly names = new Map<number, string>();
  readonly props = new Map<number, Map<string, string>>();
  readonly aux = new Map<string, AuxSubsystem>();
  root = NONE;
  /** Bumped on every structural change; caches (name index) compare it. */
  version = 0;

  readonly #strs: string[] = [];
  readonly #strIdx = new Map<string, number>();
  /** Type indexes in order of first use; indexes into #strs. */
  readonly #types: number[] = [];
  readonly #typeOf = new Map<number, number>();
  #nameIndex: Map<string, number[]> | undefined;
  #nameIndexVersion = -1;

  constructor(initialCapacity = 1024) {
    this.#grow(Math.max(16, initialCapacity));
    this.intern('');
  }

  /** The index of a string in the string table (types, basenames, units). */
  intern(s: string): number {
    let i = this.#strIdx.get(s);
    if (i === undefined) {
      i = this.#strs.length;
      if (i > 0xffff) throw invalid('too many distinct type, basename and unit strings (65,536); use fewer distinct names');
      this.#strs.push(s);
      this.#strIdx.set(s, i);
    }
    return i;
  }

  str(i: number): string {
    return this.#strs[i] ?? '';
  }

  /** The type index (0, 1, 2... in order of first appearance) of a type name, or -1. */
  typeIndex(name: string): number {
    const s = this.#strIdx.get(name);
    if (s === undefined) return NONE;
    return this.#typeOf.get(s) ?? NONE;
  }

  /** Type index for a type name, registering it if new. */
  typeIndexFor(name: string): number {
    const s = this.intern(name);
    let t = this.#typeOf.get(s);
    if (t === undefined) {
      t = this.#types.length;
      this.#types.push(s);
      this.#typeOf.set(s, t);
    }
    return t;
  }

  typeName(t: number): string {
    const s = this.#types[t];
    return s === undefined ? '' : this.str(s);
  }

  get typeCount(): number {
    return this.#types.length;
  }

  typeNames(): string[] {
    return this.#types.map((s) => this.str(s));
  }

  #grow(min: number): void {
    let cap = Math.max(this.#capacity, 16);
    while (cap < min) cap *= 2;
    if (cap === this.#capacity) return;
    const g = <T extends Uint16Array | Int32Array | Float64Array | Uint8Array>(a: T, fill?: number): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      if (fill !== undefined) b.fill(fill, a.length);
      return b;
    };
    this.type = g(this.type);
    this.base = g(this.base);
    this.id = g(this.id, NONE);
    this.rank = g(this.rank, NONE);
    this.size = g(this.size);
    this.unit = g(this.unit);
    this.status = g(this.status);
    this.parent = g(this.parent, NONE);
    this.first = g(this.first, NONE);
    this.last = g(this.last, NONE);
    this.next = g(this.next, NONE);
    this.prev = g(this.prev, NONE);
    this.depth = g(this.depth);
    this.#capacity = cap;
  }

  /** Reserves room for n more vertices (loaders that know their size call this once). */
  reserve(n: number): void {
    if (this.count + n > this.#capacity) this.#grow(this.count + n);
  }

  /** A new vertex slot with its scalar fields set; links are the caller's. */
  #push(typeIdx: number, baseIdx: number, id: number, rank: number, size: number): number {
    if (this.count >= this.#capacity) this.#grow(this.count + 1);
    const v = this.count++;
    this.type[v] = typeIdx;
    this.base[v] = baseIdx;
    this.id[v] = id;
    this.rank[v] = rank;
    this.size[v] = size;
    return v;
  }

  /**
   * Appends a vertex as the last child of `parent` (-1 for the root). The
   * fast path used by generators: type and basename are string-table
   * indexes from typeIndexFor() / intern().
   */
  addRaw(typeIdx: number, baseIdx: number, id: number, rank: number, size: number, parent: number): number {
    const v = this.#push(typeIdx, baseIdx, id, rank, size);
    this.parent[v] = parent;
    if (parent === NONE) {
      if (this.root !== NONE) {
        this.count--;
        throw invalid(`a graph has one root; "${this.name(this.root)}" is already the root, so give this vertex a parent`);
      }
      this.root = v;
      this.depth[v] = 0;
    } else {
      this.depth[v] = this.depth[parent]! + 1;
      const last = this.last[parent]!;
      if (last === NONE) this.first[parent] = v;
      else {
        this.next[last] = v;
        this.prev[v] = last;
      }
      this.last[parent] = v;
    }
    this.version++;
    return v;
  }

  /**
   * Adds a vertex outside the containment tree: one that exists only in
   * another subsystem (a power panel, a switch), reached by aux edges.
   */
  addDetached(typeIdx: number, baseIdx: number, id: number, rank: number, size: number): number {
    const v = this.#push(typeIdx, baseIdx, id, rank, size);
    this.parent[v] = NONE;
    this.depth[v] = 0;
    this.version++;
    return v;
  }

  /** Adds a vertex from a spec; `parent` -1 makes it the root. */
  addVertex(spec: VertexSpec, parent: number): number {
    if (typeof spec.type !== 'string' || spec.type === '') throw invalid('every vertex needs a non-empty "type"');
    if (parent !== NONE && !this.exists(parent)) throw invalid(`parent vertex ${parent} does not exist`);
    const size = spec.size ?? 1;
    if (!Number.isFinite(size) || size < 0) {
      throw invalid(`vertex of type "${spec.type}": size must be a number >= 0 (got ${String(spec.size)})`);
    }
    const id = spec.id ?? NONE;
    if (!Number.isInteger(id) || id < NONE) throw invalid(`vertex of type "${spec.type}": id must be an integer >= 0 (got ${String(spec.id)})`);
    const rank = spec.rank ?? NONE;
    if (!Number.isInteger(rank) || rank < NONE) throw invalid(`vertex of type "${spec.type}": rank must be an integer >= 0 (got ${String(spec.rank)})`);
    const v = this.addRaw(this.typeIndexFor(spec.type), this.intern(spec.basename ?? spec.type), id, rank, size, parent);
    if (spec.unit !== undefined && spec.unit !== '') this.unit[v] = this.intern(spec.unit);
    if (spec.name !== undefined && spec.name !== this.defaultName(v)) this.names.set(v, spec.name);
    if (spec.properties !== undefined) {
      const m = new Map(Object.entries(spec.properties));
      if (m.size > 0) this.props.set(v, m);
    }
    if (spec.status !== undefined) this.status[v] = statusCode(spec.status);
    return v;
  }

  exists(v: number): boolean {
    return Number.isInteger(v) && v >= 0 && v < this.count && this.status[v] !== STATUS_REMOVED;
  }

  defaultName(v: number): string {
    const id = this.id[v]!;
    const b = this.str(this.base[v]!);
    return id >= 0 ? `${b}${id}` : b;
  }

  name(v: number): string {
    return this.names.get(v) ?? this.defaultName(v);
  }

  typeOf(v: number): string {
    return this.typeName(this.type[v]!);
  }

  basename(v: number): string {
    return this.str(this.base[v]!);
  }

  unitOf(v: number): string {
    return this.str(this.unit[v]!);
  }

  /** The containment path, e.g. /tiny0/rack0/node0. */
  path(v: number): string {
    const parts: string[] = [];
    for (let u = v; u !== NONE; u = this.parent[u]!) parts.push(this.name(u));
    return '/' + parts.reverse().join('/');
  }

  /** Rank of v, or of its nearest ancestor with one; -1 if none. */
  rankOf(v: number): number {
    for (let u = v; u !== NONE; u = this.parent[u]!) {
      const r = this.rank[u]!;
      if (r >= 0) return r;
    }
    return NONE;
  }

  /** The nearest ancestor-or-self of type index t, or -1. */
  ancestorOfType(v: number, t: number): number {
    for (let u = v; u !== NONE; u = this.parent[u]!) if (this.type[u] === t) return u;
    return NONE;
  }

  children(v: number): number[] {
    const out: number[] = [];
    for (let c = this.first[v]!; c !== NONE; c = this.next[c]!) out.push(c);
    return out;
  }

  isLeaf(v: number): boolean {
    return this.first[v] === NONE;
  }

  /** v and all its descendants, parents before children, in child order. */
  subtree(v: number): number[] {
    const out: number[] = [];
    const stack = [v];
    while (stack.length > 0) {
      const u = stack.pop()!;
      out.push(u);
      for (let c = this.last[u]!; c !== NONE; c = this.prev[c]!) stack.push(c);
    }
    return out;
  }

  property(v: number, key: string): string | undefined {
    return this.props.get(v)?.get(key);
  }

  setProperty(v: number, key: string, value: string): void {
    let m = this.props.get(v);
    if (m === undefined) {
      m = new Map();
      this.props.set(v, m);
    }
    m.set(key, value);
  }

  /** Vertices named `name` (hostnames are unique in practice; core names are not). */
  byName(name: string): number[] {
    if (this.#nameIndex === undefined || this.#nameIndexVersion !== this.version) {
      const idx = new Map<string, number[]>();
      for (let v = 0; v < this.count; v++) {
        if (this.status[v] === STATUS_REMOVED) continue;
        const n = this.name(v);
        const a = idx.get(n);
        if (a === undefined) idx.set(n, [v]);
        else a.push(v);
      }
      this.#nameIndex = idx;
      this.#nameIndexVersion = this.version;
    }
    return this.#nameIndex.get(name) ?? [];
  }

  /** The vertex at a containment path such as /tiny0/rack0/node0, or -1. */
  byPath(path: string): number {
    const parts = path.split('/').filter((p) => p !== '');
    if (parts.length === 0 || this.root === NONE || this.name(this.root) !== parts[0]) return NONE;
    let v = this.root;
    for (const part of parts.slice(1)) {
      let found = NONE;
      for (let c = this.first[v]!; c !== NONE; c = this.next[c]!) {
        if (this.status[c] !== STATUS_REMOVED && this.name(c) === part) {
          found = c;
          break;
        }
      }
      if (found === NONE) return NONE;
      v = found;
    }
    return v;
  }

  /** Detaches v and its subtree from the tree and marks their slots removed. */
  removeSubtree(v: number): number[] {
    if (v === this.root) throw invalid('cannot remove the root of the graph; load a new graph instead');
    const gone = this.subtree(v);
    const p = this.parent[v]!;
    const pv = this.prev[v]!;
    const nv = this.next[v]!;
    if (pv === NONE) this.first[p] = nv;
    else this.next[pv] = nv;
    if (nv === NONE) this.last[p] = pv;
    else this.prev[nv] = pv;
    this.prev[v] = NONE;
    this.next[v] = NONE;
    for (const u of gone) {
      this.status[u] = STATUS_REMOVED;
      for (const sub of this.aux.values()) {
        for (const w of sub.out.get(u) ?? []) removeFrom(sub.in, w, u);
        for (const w of sub.in.get(u) ?? []) removeFrom(sub.out, w, u);
        sub.out.delete(u);
        sub.in.delete(u);
      }
    }
    this.version++;
    return gone;
  }

  /** Adds an edge of a non-containment subsystem (network, power...). */
  addAuxEdge(subsystem: string, from: number, to: number, relation = 'contains'): void {
    if (subsystem === 'containment') throw invalid('containment edges are made by giving a vertex its parent');
    let sub = this.aux.get(subsystem);
    if (sub === undefined) {
      sub = { name: subsystem, relation, out: new Map(), in: new Map() };
      this.aux.set(subsystem, sub);
    }
    push(sub.out, from, to);
    push(sub.in, to, from);
  }

  /** Live vertices of type index t, in slot order. */
  verticesOfType(t: number): number[] {
    const out: number[] = [];
    for (let v = 0; v < this.count; v++) if (this.type[v] === t && this.status[v] !== STATUS_REMOVED) out.push(v);
    return out;
  }

  /** Approximate bytes held by the typed arrays (for the benchmark's memory figure). */
  arrayBytes(): number {
    return this.#capacity * (2 + 2 + 4 + 4 + 8 + 2 + 1 + 4 * 5 + 2);
  }
}

function push(m: Map<number, number[]>, k: number, v: number): void {
  const a = m.get(k);
  if (a === undefined) m.set(k, [v]);
  else if (!a.includes(v)) a.push(v);
}

function removeFrom(m: Map<number, number[]>, k: number, v: number): void {
  const a = m.get(k);
  if (a === undefined) return;
  const i = a.indexOf(v);
  if (i >= 0) a.splice(i, 1);
}
