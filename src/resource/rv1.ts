/**
 * Rv1: the RFC 20 resource set "R" version 1 — which cores and GPUs of which
 * execution targets (broker ranks) a job or an instance holds, with their
 * hostnames, properties and validity window.
 *
 * Inside, R is one entry per rank; on the wire (toJSON) ranks with identical
 * children share one R_lite entry and hostnames are a compressed hostlist, so
 * R stays small on large systems. The opaque `scheduling` key is carried
 * along untouched.
 *
 * Model for the set algebra: R is the set of (rank, core id) and (rank, GPU
 * id) pairs. A rank left with neither cores nor GPUs holds nothing and is
 * dropped, both by the algebra and when R is built or parsed; otherwise
 * laws such as (A − B) ∪ (A ∩ B) = A would not hold.
 */
import { invalid } from '../errors/index.js';
import { IdSet, MAX_ID } from './idset.js';
import { Hostlist, checkHostname } from './hostlist.js';

/** The resources of one execution target (broker rank). */
export interface RankResources {
  rank: number;
  hostname?: string;
  cores: IdSet;
  gpus: IdSet;
}

/** The JSON form of R version 1 (RFC 20), as produced by Rv1.toJSON(). */
export interface RJson {
  version: 1;
  execution: {
    R_lite: { rank: string; children: Record<string, string> }[];
    nodelist?: string[];
    properties?: Record<string, string>;
    starttime?: number;
    expiration?: number;
    /** Total slots of a scheduler allocation (RFC 20); kept if present. */
    nslots?: number;
  };
  scheduling?: unknown;
}

/** Optional parts of R given to Rv1.fromRanks(). Times are Unix seconds; 0 means unset. */
export interface Rv1Options {
  starttime?: number;
  expiration?: number;
  /** Property name → the ranks that have it (RFC 20, RFC 31). */
  properties?: Record<string, IdSet>;
  /** Total slots when this R is a scheduler's allocation. */
  nslots?: number;
}

interface Node {
  readonly cores: IdSet;
  readonly gpus: IdSet;
  readonly hostname: string | undefined;
}

interface Parts {
  nodes: ReadonlyMap<number, Node>;
  properties: ReadonlyMap<string, IdSet>;
  starttime: number;
  expiration: number;
  nslots: number | undefined;
  scheduling: unknown;
  /** The hostnames of `nodes` in rank order, when already at hand (from parse). */
  nodelist?: Hostlist;
}

const TOP_KEYS = ['version', 'execution', 'scheduling'];
const EXECUTION_KEYS = ['R_lite', 'nodelist', 'properties', 'starttime', 'expiration', 'nslots'];
/** Characters RFC 20 forbids in property names. */
const ILLEGAL_PROPERTY_CHAR = /[!&'"^`|()]/;

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A short description of a JSON value for error messages. */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

function checkKeys(o: JsonObject, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) {
      throw invalid(
        `invalid R: ${where} has unknown key "${key}"; R version 1 allows only ${allowed.map((k) => `"${k}"`).join(', ')} there`,
      );
    }
  }
}

function idsetAt(v: unknown, where: string): IdSet {
  if (typeof v !== 'string') {
    throw invalid(`invalid R: ${where} must be an idset string such as "0-3,7", got ${describe(v)}`);
  }
  try {
    return IdSet.parse(v);
  } catch (e) {
    throw invalid(`invalid R: ${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function checkPropertyName(name: string, where: string): void {
  if (name === '') throw invalid(`invalid R: ${where} has an empty property name; name each property`);
  const m = ILLEGAL_PROPERTY_CHAR.exec(name);
  if (m) {
    throw invalid(
      `invalid R: property name "${name}" in ${where} contains "${m[0]}"; property names must not contain any of ! & ' " ^ \` | ( )`,
    );
  }
}

function checkTimes(starttime: unknown, expiration: unknown, where: string): void {
  for (const [key, v] of [
    ['starttime', starttime],
    ['expiration', expiration],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw invalid(
        `invalid R: ${where}${key} must be a non-negative number of seconds since the Unix epoch (0 for unset), got ${describe(v)}`,
      );
    }
  }
  const s = starttime as number;
  const x = expiration as number;
  if (s > 0 && x > 0 && x <= s) {
    throw invalid(`invalid R: expiration ${x} is not after starttime ${s}; make expiration later than starttime, or 0 for none`);
  }
}

function checkNslots(v: unknown, where: string): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0)) {
    throw invalid(`invalid R: ${where}nslots must be a positive integer, got ${describe(v)}`);
  }
}

/** Structural equality of JSON values (for the opaque scheduling key). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, k) => jsonEqual(v, b[k]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Throws when both sets name rank r but with different hostnames. */
function sameHost(rank: number, a: Node, b: Node, op: string): void {
  if (a.hostname !== undefined && b.hostname !== undefined && a.hostname !== b.hostname) {
    throw invalid(
      `cannot ${op} R: rank ${rank} is host "${a.hostname}" in one set and "${b.hostname}" in the other; ` +
        'combine only resource sets from the same instance (re-rank one of them first)',
    );
  }
}

function unionProperties(a: ReadonlyMap<string, IdSet>, b: ReadonlyMap<string, IdSet>): Map<string, IdSet> {
  const out = new Map(a);
  for (const [name, ranks] of b) out.set(name, out.get(name)?.union(ranks) ?? ranks);
  return out;
}

export class Rv1 {
  /** One entry per rank that holds something, in ascending rank order. */
  readonly #nodes: ReadonlyMap<number, Node>;
  /** Property name → ranks, names sorted, each a non-empty subset of the ranks. */
  readonly #properties: ReadonlyMap<string, IdSet>;
  readonly #starttime: number;
  readonly #expiration: number;
  readonly #nslots: number | undefined;
  /** Opaque scheduler data; undefined when absent. */
  readonly #scheduling: unknown;
  readonly #ranks: IdSet;
  readonly #ncores: number;
  readonly #ngpus: number;
  readonly #named: boolean;
  /** nodelist(), made on first use; its encode() result is cached too. */
  #nodelist: Hostlist | undefined;

  private constructor(p: Parts, ranks: IdSet, named: boolean) {
    this.#nodes = p.nodes;
    this.#properties = p.properties;
    this.#starttime = p.starttime;
    this.#expiration = p.expiration;
    this.#nslots = p.nslots;
    this.#scheduling = p.scheduling;
    this.#ranks = ranks;
    this.#named = named;
    this.#nodelist = named ? p.nodelist : undefined;
    let ncores = 0;
    let ngpus = 0;
    for (const n of p.nodes.values()) {
      ncores += n.cores.size;
      ngpus += n.gpus.size;
    }
    this.#ncores = ncores;
    this.#ngpus = ngpus;
  }

  /**
   * The one place an Rv1 is made: drops ranks that hold nothing, sorts by
   * rank, requires hostnames on every rank or on none (the nodelist maps
   * hostnames to ranks one to one), and trims properties to the ranks left.
   */
  static #build(p: Parts, context: string): Rv1 {
    const order = [...p.nodes.keys()].filter((r) => {
      const n = p.nodes.get(r)!;
      return n.cores.size > 0 || n.gpus.size > 0;
    });
    order.sort((a, b) => a - b);
    const nodes = new Map<number, Node>();
    let named: number | undefined;
    let unnamed: number | undefined;
    for (const r of order) {
      const n = p.nodes.get(r)!;
      nodes.set(r, n);
      if (n.hostname === undefined) unnamed ??= r;
      else named ??= r;
    }
    if (named !== undefined && unnamed !== undefined) {
      throw invalid(
        `${context}: rank ${named} has hostname "${nodes.get(named)!.hostname}" but rank ${unnamed} has none; ` +
          'give every rank a hostname, or none of them',
      );
    }
    const ranks = IdSet.fromArray(order);
    const properties = new Map<string, IdSet>();
    for (const name of [...p.properties.keys()].sort()) {
      const kept = p.properties.get(name)!.intersect(ranks);
      if (kept.size > 0) properties.set(name, kept);
    }
    // A given nodelist still matches only if no rank was dropped.
    const { nodelist, ...rest } = p;
    const parts: Parts = order.length === p.nodes.size && nodelist !== undefined ? { ...rest, nodelist } : rest;
    return new Rv1({ ...parts, nodes, properties }, ranks, named !== undefined);
  }

  /**
   * R from one entry per rank. Ranks must be unique; hostnames must be given
   * for every rank or for none; property rank sets must name only given ranks.
   */
  static fromRanks(entries: RankResources[], opts: Rv1Options = {}): Rv1 {
    if (!Array.isArray(entries)) throw invalid('invalid R: fromRanks needs an array of per-rank entries');
    const nodes = new Map<number, Node>();
    entries.forEach((e, k) => {
      const rank = e.rank;
      if (!Number.isInteger(rank) || rank < 0 || rank > MAX_ID) {
        throw invalid(`invalid R: entries[${k}].rank must be a non-negative integer, got ${describe(rank)}`);
      }
      if (!(e.cores instanceof IdSet) || !(e.gpus instanceof IdSet)) {
        throw invalid(`invalid R: entries[${k}] (rank ${rank}) needs cores and gpus as IdSets (use IdSet.empty() for none)`);
      }
      if (nodes.has(rank)) {
        throw invalid(`invalid R: rank ${rank} appears in more than one entry (again at entries[${k}]); give each rank one entry`);
      }
      if (e.hostname !== undefined) checkHostname(e.hostname, `R hostname for rank ${rank}`);
      nodes.set(rank, { cores: e.cores, gpus: e.gpus, hostname: e.hostname });
    });
    const given = IdSet.fromArray(nodes.keys());
    const properties = new Map<string, IdSet>();
    for (const [name, ranks] of Object.entries(opts.properties ?? {})) {
      checkPropertyName(name, 'properties');
      if (!(ranks instanceof IdSet)) throw invalid(`invalid R: property "${name}" must map to an IdSet of ranks`);
      const extra = ranks.subtract(given);
      if (extra.size > 0) {
        throw invalid(
          `invalid R: property "${name}" names ranks ${extra.encode()} that have no entry; give properties only to ranks in the set`,
        );
      }
      properties.set(name, ranks);
    }
    const starttime = opts.starttime ?? 0;
    const expiration = opts.expiration ?? 0;
    checkTimes(starttime, expiration, '');
    checkNslots(opts.nslots, '');
    return Rv1.#build({ nodes, properties, starttime, expiration, nslots: opts.nslots, scheduling: undefined }, 'invalid R');
  }

  /**
   * Reads R version 1 from parsed JSON, checking every key; errors name the
   * offending key, e.g. "execution.R_lite[2].children.core". A rank listed in
   * several R_lite entries gets the union of their children, which must not
   * overlap.
   */
  static parse(json: unknown): Rv1 {
    if (!isObject(json)) {
      const hint = typeof json === 'string' ? ' (parse JSON text with JSON.parse first)' : '';
      throw invalid(`invalid R: expected an object with "version" and "execution" keys, got ${describe(json)}${hint}`);
    }
    checkKeys(json, TOP_KEYS, 'the top level');
    if (json.version !== 1) {
      throw invalid(`invalid R: version must be 1, got ${describe(json.version)}; only R version 1 can be read`);
    }
    const ex = json.execution;
    if (!isObject(ex)) {
      throw invalid(`invalid R: "execution" must be an object with an "R_lite" array, got ${describe(ex)}`);
    }
    checkKeys(ex, EXECUTION_KEYS, '"execution"');
    if (!Array.isArray(ex.R_lite)) {
      throw invalid(`invalid R: execution.R_lite must be an array of {rank, children} entries, got ${describe(ex.R_lite)}`);
    }
    const lite: unknown[] = ex.R_lite;

    const nodes = new Map<number, Node>();
    lite.forEach((e, k) => {
      const where = `execution.R_lite[${k}]`;
      if (!isObject(e)) throw invalid(`invalid R: ${where} must be an object with "rank" and "children", got ${describe(e)}`);
      checkKeys(e, ['rank', 'children'], where);
      const ranks = idsetAt(e.rank, `${where}.rank`);
      const ch = e.children;
      if (!isObject(ch)) throw invalid(`invalid R: ${where}.children must be an object such as {"core": "0-3"}, got ${describe(ch)}`);
      for (const key of Object.keys(ch)) {
        if (key !== 'core' && key !== 'gpu') {
          throw invalid(
            `invalid R: ${where}.children has unknown resource type "${key}"; R version 1 supports only "core" and "gpu"`,
          );
        }
      }
      if (ch.core === undefined) {
        throw invalid(`invalid R: ${where}.children.core is missing; every entry needs a core idset (it may be "")`);
      }
      const cores = idsetAt(ch.core, `${where}.children.core`);
      const gpus = ch.gpu === undefined ? IdSet.empty() : idsetAt(ch.gpu, `${where}.children.gpu`);
      for (const rank of ranks) {
        const prev = nodes.get(rank);
        if (prev === undefined) {
          nodes.set(rank, { cores, gpus, hostname: undefined });
        } else {
          if (prev.cores.intersect(cores).size > 0 || prev.gpus.intersect(gpus).size > 0) {
            // Entries before this one were valid, so their rank idsets parse.
            const seen = lite.findIndex((f) => isObject(f) && typeof f.rank === 'string' && IdSet.parse(f.rank).has(rank));
            throw invalid(
              `invalid R: rank ${rank} is in execution.R_lite[${seen}] and ${where} with overlapping children; ` +
                'list each core and GPU of a rank once',
            );
          }
          nodes.set(rank, { cores: prev.cores.union(cores), gpus: prev.gpus.union(gpus), hostname: undefined });
        }
      }
    });
    const allRanks = IdSet.fromArray(nodes.keys());

    let nodelist: Hostlist | undefined;
    if (ex.nodelist !== undefined) {
      if (!Array.isArray(ex.nodelist)) {
        throw invalid(`invalid R: execution.nodelist must be an array of hostlist strings, got ${describe(ex.nodelist)}`);
      }
      const list: unknown[] = ex.nodelist;
      const parsed = list.map((h, k) => {
        const where = `execution.nodelist[${k}]`;
        if (typeof h !== 'string') throw invalid(`invalid R: ${where} must be a hostlist string such as "node[1-4]", got ${describe(h)}`);
        try {
          return Hostlist.parse(h);
        } catch (e) {
          throw invalid(`invalid R: ${where}: ${e instanceof Error ? e.message : String(e)}`);
        }
      });
      const hosts = parsed.length === 1 ? parsed[0]!.toArray() : parsed.flatMap((h) => h.toArray());
      nodelist = parsed.length === 1 ? parsed[0] : Hostlist.fromArray(hosts);
      if (hosts.length !== allRanks.size) {
        throw invalid(
          `invalid R: execution.nodelist names ${hosts.length} hosts but execution.R_lite has ${allRanks.size} ranks; ` +
            'give exactly one hostname per rank, in ascending rank order',
        );
      }
      // Hostnames follow the ranks in ascending order (RFC 20).
      let k = 0;
      for (const rank of allRanks) {
        const n = nodes.get(rank)!;
        nodes.set(rank, { cores: n.cores, gpus: n.gpus, hostname: hosts[k++] });
      }
    }

    const properties = new Map<string, IdSet>();
    if (ex.properties !== undefined) {
      const props = ex.properties;
      if (!isObject(props)) {
        throw invalid(`invalid R: execution.properties must be an object mapping names to rank idsets, got ${describe(props)}`);
      }
      for (const [name, value] of Object.entries(props)) {
        const where = `execution.properties[${JSON.stringify(name)}]`;
        checkPropertyName(name, 'execution.properties');
        const ranks = idsetAt(value, where);
        const extra = ranks.subtract(allRanks);
        if (extra.size > 0) {
          throw invalid(`invalid R: ${where} names ranks ${extra.encode()} that are not in execution.R_lite; list only ranks of this R`);
        }
        properties.set(name, ranks);
      }
    }

    const starttime = ex.starttime ?? 0;
    const expiration = ex.expiration ?? 0;
    checkTimes(starttime, expiration, 'execution.');
    checkNslots(ex.nslots, 'execution.');

    let scheduling: unknown;
    if (json.scheduling !== undefined) {
      if (!isObject(json.scheduling)) {
        throw invalid(`invalid R: "scheduling" must be an object (scheduler-specific data), got ${describe(json.scheduling)}`);
      }
      // Copied so later changes to the caller's JSON cannot alter this R.
      scheduling = structuredClone(json.scheduling);
    }
    return Rv1.#build(
      {
        nodes,
        properties,
        starttime: starttime as number,
        expiration: expiration as number,
        nslots: ex.nslots as number | undefined,
        scheduling,
        ...(nodelist === undefined ? {} : { nodelist }),
      },
      'invalid R',
    );
  }

  /**
   * The compact RFC 20 form: ranks with identical children share one R_lite
   * entry (entries ordered by their lowest rank), hostnames are one
   * compressed hostlist, and unset times are omitted. The returned
   * `scheduling` value is this R's own copy: do not modify it.
   */
  toJSON(): RJson {
    const groups = new Map<string, { ranks: number[]; children: Record<string, string> }>();
    for (const [rank, n] of this.#nodes) {
      const core = n.cores.encode();
      const gpu = n.gpus.encode();
      const key = `${core};${gpu}`;
      let g = groups.get(key);
      if (g === undefined) {
        const children: Record<string, string> = { core };
        if (gpu !== '') children.gpu = gpu;
        g = { ranks: [], children };
        groups.set(key, g);
      }
      g.ranks.push(rank);
    }
    const execution: RJson['execution'] = {
      R_lite: [...groups.values()].map((g) => ({ rank: IdSet.fromArray(g.ranks).encode(), children: g.children })),
    };
    if (this.#named) execution.nodelist = [this.nodelist().encode()];
    if (this.#properties.size > 0) {
      const props: Record<string, string> = {};
      for (const [name, ranks] of this.#properties) props[name] = ranks.encode();
      execution.properties = props;
    }
    if (this.#starttime > 0) execution.starttime = this.#starttime;
    if (this.#expiration > 0) execution.expiration = this.#expiration;
    if (this.#nslots !== undefined) execution.nslots = this.#nslots;
    const out: RJson = { version: 1, execution };
    if (this.#scheduling !== undefined) out.scheduling = this.#scheduling;
    return out;
  }

  /** The ranks (execution targets) that hold any resources. */
  ranks(): IdSet {
    return this.#ranks;
  }

  /** One entry per rank, ascending by rank, with hostnames when known. */
  entries(): RankResources[] {
    const out: RankResources[] = [];
    for (const rank of this.#nodes.keys()) out.push(this.entry(rank)!);
    return out;
  }

  entry(rank: number): RankResources | undefined {
    const n = this.#nodes.get(rank);
    if (n === undefined) return undefined;
    return n.hostname === undefined
      ? { rank, cores: n.cores, gpus: n.gpus }
      : { rank, hostname: n.hostname, cores: n.cores, gpus: n.gpus };
  }

  get nnodes(): number {
    return this.#nodes.size;
  }

  get ncores(): number {
    return this.#ncores;
  }

  get ngpus(): number {
    return this.#ngpus;
  }

  /** Hostnames in rank order; empty when this R has none. */
  nodelist(): Hostlist {
    if (!this.#named) return Hostlist.empty();
    this.#nodelist ??= Hostlist.fromArray([...this.#nodes.values()].map((n) => n.hostname!));
    return this.#nodelist;
  }

  /** Property name → ranks that have it (a copy). */
  properties(): Record<string, IdSet> {
    return Object.fromEntries(this.#properties);
  }

  /** Start of validity in Unix seconds; 0 when unset. */
  get starttime(): number {
    return this.#starttime;
  }

  /** End of validity in Unix seconds; 0 when unset. */
  get expiration(): number {
    return this.#expiration;
  }

  /** Total slots of a scheduler allocation, if recorded. */
  get nslots(): number | undefined {
    return this.#nslots;
  }

  /** The opaque scheduler-specific data, if any (do not modify it). */
  get scheduling(): unknown {
    return this.#scheduling;
  }

  /** The same R with a new validity window (0 = unset). */
  withTimes(starttime: number, expiration: number): Rv1 {
    checkTimes(starttime, expiration, '');
    return new Rv1(
      {
        nodes: this.#nodes,
        properties: this.#properties,
        starttime,
        expiration,
        nslots: this.#nslots,
        scheduling: this.#scheduling,
        ...(this.#nodelist === undefined ? {} : { nodelist: this.#nodelist }),
      },
      this.#ranks,
      this.#named,
    );
  }

  isEmpty(): boolean {
    return this.#nodes.size === 0;
  }

  /*
   * Set algebra works rank by rank on core and GPU ids. The result keeps
   * this R's starttime and expiration; nslots and scheduling describe a
   * whole allocation and are dropped. Properties are those of the operands
   * (both for union and intersect, this R's for subtract) on the ranks left.
   * A rank named differently by the two sets is an error.
   */

  union(o: Rv1): Rv1 {
    const nodes = new Map(this.#nodes);
    for (const [rank, b] of o.#nodes) {
      const a = nodes.get(rank);
      if (a === undefined) {
        nodes.set(rank, b);
      } else {
        sameHost(rank, a, b, 'union');
        nodes.set(rank, { cores: a.cores.union(b.cores), gpus: a.gpus.union(b.gpus), hostname: a.hostname ?? b.hostname });
      }
    }
    return this.#derived(nodes, unionProperties(this.#properties, o.#properties), 'cannot union R');
  }

  intersect(o: Rv1): Rv1 {
    const nodes = new Map<number, Node>();
    for (const [rank, a] of this.#nodes) {
      const b = o.#nodes.get(rank);
      if (b === undefined) continue;
      sameHost(rank, a, b, 'intersect');
      nodes.set(rank, {
        cores: a.cores.intersect(b.cores),
        gpus: a.gpus.intersect(b.gpus),
        hostname: a.hostname ?? b.hostname,
      });
    }
    return this.#derived(nodes, unionProperties(this.#properties, o.#properties), 'cannot intersect R');
  }

  subtract(o: Rv1): Rv1 {
    const nodes = new Map<number, Node>();
    for (const [rank, a] of this.#nodes) {
      const b = o.#nodes.get(rank);
      if (b === undefined) {
        nodes.set(rank, a);
        continue;
      }
      sameHost(rank, a, b, 'subtract');
      nodes.set(rank, { cores: a.cores.subtract(b.cores), gpus: a.gpus.subtract(b.gpus), hostname: a.hostname });
    }
    return this.#derived(nodes, new Map(this.#properties), 'cannot subtract R');
  }

  /**
   * Same resources, hostnames, properties, times, nslots and scheduling data.
   */
  equals(o: Rv1): boolean {
    if (this.#nodes.size !== o.#nodes.size || !this.#ranks.equals(o.#ranks)) return false;
    for (const [rank, a] of this.#nodes) {
      const b = o.#nodes.get(rank)!;
      if (a.hostname !== b.hostname || !a.cores.equals(b.cores) || !a.gpus.equals(b.gpus)) return false;
    }
    if (this.#properties.size !== o.#properties.size) return false;
    for (const [name, ranks] of this.#properties) {
      const other = o.#properties.get(name);
      if (other === undefined || !ranks.equals(other)) return false;
    }
    return (
      this.#starttime === o.#starttime &&
      this.#expiration === o.#expiration &&
      this.#nslots === o.#nslots &&
      jsonEqual(this.#scheduling, o.#scheduling)
    );
  }

  #derived(nodes: Map<number, Node>, properties: Map<string, IdSet>, context: string): Rv1 {
    return Rv1.#build(
      {
        nodes,
        properties,
        starttime: this.#starttime,
        expiration: this.#expiration,
        nslots: undefined,
        scheduling: undefined,
      },
      context,
    );
  }
}
