/**
 * Fractal's resource config file (YAML or JSON): hosts described by
 * groups (a hostlist with sockets, cores, GPUs, memory and properties),
 * optional racks, extra vertices of any type, and edges of other
 * subsystems. The format is documented in docs/resource-graph.md.
 *
 *   cluster: quartz
 *   racks:
 *     - { name: rack0, hosts: "node[0-15]" }
 *   hosts:
 *     - { hosts: "node[0-31]", sockets: 2, cores: 64, gpus: 4, memory: 256, properties: [a100] }
 *   vertices:
 *     - { type: burst_buffer, name: "bb[0-1]", parent: rack0, size: 1024, unit: GB }
 *   edges:
 *     - { subsystem: network, from: switch0, to: "node[0-15]" }
 */
import { invalid } from '../../errors/index.js';
import { parseJobspecText } from '../../jobspec/index.js';
import { Hostlist } from '../hostlist.js';
import { IdSet } from '../idset.js';
import { GraphStore } from './store.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Obj, where: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw invalid(`${where}: unknown key "${k}"; allowed keys are ${allowed.join(', ')}`);
  }
}

function intAt(o: Obj, key: string, where: string, def: number): number {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalid(`${where}.${key}: must be an integer >= 0 (got ${JSON.stringify(v)})`);
  return v;
}

function hostsAt(v: unknown, where: string): string[] {
  if (typeof v !== 'string') throw invalid(`${where}: must be a hostlist string such as "node[0-15]" (got ${JSON.stringify(v)})`);
  try {
    return Hostlist.parse(v).toArray();
  } catch (e) {
    throw invalid(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Properties as a list (["a100", "gpu-model=a100"]) or a mapping ({gpu-model: a100}). */
export function parseProperties(v: unknown, where: string): Map<string, string> {
  const m = new Map<string, string>();
  if (v === undefined) return m;
  if (Array.isArray(v)) {
    for (const p of v as unknown[]) {
      if (typeof p !== 'string' || p === '') throw invalid(`${where}: properties must be non-empty strings (got ${JSON.stringify(p)})`);
      const eq = p.indexOf('=');
      if (eq > 0) m.set(p.slice(0, eq), p.slice(eq + 1));
      else m.set(p, '');
    }
    return m;
  }
  if (isObj(v)) {
    for (const [k, val] of Object.entries(v)) m.set(k, val === null || val === true ? '' : String(val));
    return m;
  }
  if (typeof v === 'string') return parseProperties(v.split(',').filter((s) => s !== ''), where);
  throw invalid(`${where}: properties must be a list such as [a100, ssd] or a mapping such as {gpu-model: a100}`);
}

/** Builds a graph from config text (YAML or JSON). */
export function loadConfigText(text: string, sourceName = 'resource config'): GraphStore {
  return loadConfig(parseJobspecText(text, sourceName));
}

/** Builds a graph from a parsed config document. */
export function loadConfig(doc: unknown): GraphStore {
  if (!isObj(doc)) throw invalid('resource config: expected a mapping with a "hosts" list');
  checkKeys(doc, 'resource config', ['cluster', 'racks', 'hosts', 'vertices', 'edges']);
  if (!Array.isArray(doc.hosts) || doc.hosts.length === 0) {
    throw invalid('resource config: "hosts" must list at least one group, e.g. - {hosts: "node[0-3]", cores: 8}');
  }
  const g = new GraphStore(1024);
  const clusterName = doc.cluster ?? 'cluster0';
  if (typeof clusterName !== 'string' || clusterName === '') throw invalid('resource config: "cluster" must be a name such as "quartz"');
  const root = g.addVertex({ type: 'cluster', basename: 'cluster', id: 0, name: clusterName }, -1);
  const byName = new Map<string, number>([[clusterName, root]]);

  // Racks first, so hosts can go under them.
  const rackOf = new Map<string, number>();
  const racks: unknown[] = doc.racks === undefined ? [] : Array.isArray(doc.racks) ? doc.racks : [doc.racks];
  racks.forEach((r, i) => {
    const where = `racks[${i}]`;
    if (!isObj(r)) throw invalid(`${where}: must be a mapping such as {name: rack0, hosts: "node[0-15]"}`);
    checkKeys(r, where, ['name', 'hosts', 'properties']);
    const name = r.name ?? `rack${i}`;
    if (typeof name !== 'string' || name === '') throw invalid(`${where}.name: must be a non-empty string`);
    if (byName.has(name)) throw invalid(`${where}.name: "${name}" is already used; give every rack its own name`);
    const v = g.addVertex({ type: 'rack', basename: 'rack', id: i, name, properties: Object.fromEntries(parseProperties(r.properties, `${where}.properties`)) }, root);
    byName.set(name, v);
    if (r.hosts !== undefined) {
      for (const h of hostsAt(r.hosts, `${where}.hosts`)) {
        if (rackOf.has(h)) throw invalid(`${where}.hosts: host "${h}" is already in rack "${g.name(rackOf.get(h)!)}"; a host is in one rack`);
        rackOf.set(h, v);
      }
    }
  });

  const T = { node: g.typeIndexFor('node'), socket: g.typeIndexFor('socket'), core: g.typeIndexFor('core'), gpu: -1, memory: -1 };
  const B = { node: g.intern('node'), socket: g.intern('socket'), core: g.intern('core'), gpu: g.intern('gpu'), memory: g.intern('memory') };
  const usedRanks = new Set<number>();
  let nextRank = 0;
  (doc.hosts as unknown[]).forEach((h, i) => {
    const where = `hosts[${i}]`;
    if (!isObj(h)) throw invalid(`${where}: must be a mapping such as {hosts: "node[0-3]", cores: 8}`);
    checkKeys(h, where, ['hosts', 'ranks', 'sockets', 'cores', 'gpus', 'memory', 'properties']);
    const names = hostsAt(h.hosts, `${where}.hosts`);
    let ranks: number[];
    if (h.ranks !== undefined) {
      if (typeof h.ranks !== 'string' && typeof h.ranks !== 'number') throw invalid(`${where}.ranks: must be an idset such as "0-15"`);
      try {
        ranks = IdSet.parse(String(h.ranks)).toArray();
      } catch (e) {
        throw invalid(`${where}.ranks: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (ranks.length !== names.length) throw invalid(`${where}.ranks: names ${ranks.length} ranks for ${names.length} hosts; give one rank per host`);
    } else {
      ranks = names.map(() => {
        while (usedRanks.has(nextRank)) nextRank++;
        return nextRank++;
      });
    }
    const sockets = Math.max(1, intAt(h, 'sockets', where, 1));
    const cores = intAt(h, 'cores', where, 1);
    const gpus = intAt(h, 'gpus', where, 0);
    const memRaw = h.memory ?? 0;
    if (typeof memRaw !== 'number' || !(memRaw >= 0)) throw invalid(`${where}.memory: must be a number of GB >= 0 (got ${JSON.stringify(memRaw)})`);
    if (cores % sockets !== 0 || gpus % sockets !== 0) {
      throw invalid(`${where}: ${cores} cores and ${gpus} GPUs do not split evenly over ${sockets} sockets; give per-host totals divisible by sockets`);
    }
    if (gpus > 0) T.gpu = g.typeIndexFor('gpu');
    if (memRaw > 0) T.memory = g.typeIndexFor('memory');
    const props = parseProperties(h.properties, `${where}.properties`);
    names.forEach((name, k) => {
      const rank = ranks[k]!;
      if (usedRanks.has(rank)) throw invalid(`${where}: rank ${rank} is given to two hosts; ranks must be unique`);
      if (byName.has(name)) throw invalid(`${where}.hosts: "${name}" is already defined; list each host once`);
      usedRanks.add(rank);
      const n = g.addRaw(T.node, B.node, rank, rank, 1, rackOf.get(name) ?? root);
      if (name !== g.defaultName(n)) g.names.set(n, name);
      if (props.size > 0) g.props.set(n, new Map(props));
      byName.set(name, n);
      for (let s = 0; s < sockets; s++) {
        const so = g.addRaw(T.socket, B.socket, s, -1, 1, n);
        const cps = cores / sockets;
        const gps = gpus / sockets;
        for (let c = 0; c < cps; c++) g.addRaw(T.core, B.core, s * cps + c, -1, 1, so);
        for (let c = 0; c < gps; c++) g.addRaw(T.gpu, B.gpu, s * gps + c, -1, 1, so);
        if (memRaw > 0) {
          const m = g.addRaw(T.memory, B.memory, s, -1, memRaw / sockets, so);
          g.unit[m] = g.intern('GB');
        }
      }
    });
  });
  for (const h of rackOf.keys()) {
    if (!byName.has(h)) throw invalid(`racks: host "${h}" is in a rack but not in "hosts"; describe it under hosts`);
  }

  const find = (ref: unknown, where: string): number => {
    if (ref === undefined) return root;
    if (typeof ref !== 'string') throw invalid(`${where}: must be a vertex name or a path such as /${clusterName}/rack0`);
    const v = ref.startsWith('/') ? g.byPath(ref) : byName.get(ref) ?? -1;
    if (v < 0) throw invalid(`${where}: no vertex "${ref}"; name a host, rack or vertex defined earlier in the file`);
    return v;
  };

  const vertices: unknown[] = doc.vertices === undefined ? [] : Array.isArray(doc.vertices) ? doc.vertices : [doc.vertices];
  vertices.forEach((x, i) => {
    const where = `vertices[${i}]`;
    if (!isObj(x)) throw invalid(`${where}: must be a mapping such as {type: burst_buffer, name: bb0, size: 1024, unit: GB}`);
    checkKeys(x, where, ['type', 'name', 'parent', 'size', 'unit', 'id', 'rank', 'properties', 'status', 'subsystem']);
    if (typeof x.type !== 'string' || x.type === '') throw invalid(`${where}.type: name the resource type, e.g. "burst_buffer"`);
    const names = x.name === undefined ? [`${x.type}0`] : hostsAt(x.name, `${where}.name`);
    const size = x.size ?? 1;
    if (typeof size !== 'number' || !(size >= 0)) throw invalid(`${where}.size: must be a number >= 0`);
    if (x.unit !== undefined && typeof x.unit !== 'string') throw invalid(`${where}.unit: must be a string such as "GB"`);
    const parents = x.parent === undefined ? [root] : typeof x.parent === 'string' && !x.parent.startsWith('/') && !byName.has(x.parent) ? hostsAt(x.parent, `${where}.parent`).map((p) => find(p, `${where}.parent`)) : [find(x.parent, `${where}.parent`)];
    const props = Object.fromEntries(parseProperties(x.properties, `${where}.properties`));
    for (const parent of parents) {
      names.forEach((name, k) => {
        const id = typeof x.id === 'number' ? x.id + k : k;
        const v = g.addVertex(
          {
            type: x.type as string,
            name,
            id,
            size,
            ...(typeof x.unit === 'string' ? { unit: x.unit } : {}),
            ...(typeof x.rank === 'number' ? { rank: x.rank } : {}),
            properties: props,
            ...(typeof x.status === 'string' ? { status: x.status as 'up' | 'down' | 'drained' } : {}),
          },
          parent,
        );
        if (!byName.has(name)) byName.set(name, v);
      });
    }
  });

  const edges: unknown[] = doc.edges === undefined ? [] : Array.isArray(doc.edges) ? doc.edges : [doc.edges];
  edges.forEach((e, i) => {
    const where = `edges[${i}]`;
    if (!isObj(e)) throw invalid(`${where}: must be a mapping such as {subsystem: network, from: switch0, to: "node[0-15]"}`);
    checkKeys(e, where, ['subsystem', 'from', 'to', 'relation']);
    if (typeof e.subsystem !== 'string' || e.subsystem === '' || e.subsystem === 'containment') {
      throw invalid(`${where}.subsystem: name a subsystem other than containment, e.g. network or power`);
    }
    const froms = hostsAt(e.from, `${where}.from`).map((n) => find(n, `${where}.from`));
    const tos = hostsAt(e.to, `${where}.to`).map((n) => find(n, `${where}.to`));
    for (const f of froms) for (const t of tos) g.addAuxEdge(e.subsystem, f, t, typeof e.relation === 'string' ? e.relation : 'contains');
  });
  return g;
}
