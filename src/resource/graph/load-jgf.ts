/**
 * JSON Graph Format readers: Flux's JGF (what Fluxion and `flux R encode`
 * write: nodes with type/name/id/rank/size/paths metadata, edges with a
 * subsystem), and R version 1 itself (RFC 20), from which a graph
 * cluster → node → core/gpu is built the way Fluxion's rv1exec reader
 * does, or the exact graph when R carries one under `scheduling`.
 */
import { invalid } from '../../errors/index.js';
import { Rv1 } from '../rv1.js';
import { GraphStore, statusCode } from './store.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface JNode {
  key: string;
  type: string;
  basename: string;
  name: string | undefined;
  id: number;
  rank: number;
  size: number;
  unit: string;
  status: string | undefined;
  properties: Record<string, string> | undefined;
}

function edgeSubsystem(md: unknown): string {
  if (!isObj(md)) return 'containment';
  if (typeof md.subsystem === 'string') return md.subsystem;
  if (isObj(md.name)) {
    const k = Object.keys(md.name)[0];
    if (k !== undefined) return k;
  }
  return 'containment';
}

/** Reads JGF ({"graph": {"nodes": [...], "edges": [...]}}), or R with a graph under "scheduling". */
export function loadJgf(json: unknown): GraphStore {
  let doc = json;
  if (isObj(doc) && isObj(doc.scheduling) && isObj(doc.scheduling.graph)) doc = doc.scheduling;
  if (!isObj(doc) || !isObj(doc.graph)) throw invalid('JGF: expected an object with a "graph" key holding "nodes" and "edges"');
  const gr = doc.graph;
  if (!Array.isArray(gr.nodes)) throw invalid('JGF: graph.nodes must be a list of {id, metadata} objects');
  const edges: unknown[] = Array.isArray(gr.edges) ? gr.edges : [];
  const nodes = new Map<string, JNode>();
  (gr.nodes as unknown[]).forEach((n, i) => {
    const where = `JGF: graph.nodes[${i}]`;
    if (!isObj(n)) throw invalid(`${where} must be an object with "id" and "metadata"`);
    const key = String(n.id);
    const md = isObj(n.metadata) ? n.metadata : {};
    const type = md.type;
    if (typeof type !== 'string' || type === '') throw invalid(`${where}.metadata.type must name the resource type, e.g. "core"`);
    if (nodes.has(key)) throw invalid(`${where}: id "${key}" is used twice; give every vertex its own id`);
    const num = (v: unknown, def: number, what: string): number => {
      if (v === undefined) return def;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`${where}.metadata.${what} must be a number (got ${JSON.stringify(v)})`);
      return v;
    };
    let properties: Record<string, string> | undefined;
    if (isObj(md.properties)) {
      properties = {};
      for (const [k, v] of Object.entries(md.properties)) properties[k] = String(v);
    } else if (Array.isArray(md.properties)) {
      properties = {};
      for (const p of md.properties as unknown[]) properties[String(p)] = '';
    }
    nodes.set(key, {
      key,
      type,
      basename: typeof md.basename === 'string' ? md.basename : type,
      name: typeof md.name === 'string' ? md.name : undefined,
      id: num(md.id, -1, 'id'),
      rank: num(md.rank, -1, 'rank'),
      size: num(md.size, 1, 'size'),
      unit: typeof md.unit === 'string' ? md.unit : '',
      status: typeof md.status === 'string' ? md.status : undefined,
      properties,
    });
  });
  const children = new Map<string, string[]>();
  const parent = new Map<string, string>();
  const aux: [string, string, string][] = [];
  edges.forEach((e, i) => {
    if (!isObj(e)) throw invalid(`JGF: graph.edges[${i}] must be an object with "source" and "target"`);
    const s = String(e.source);
    const t = String(e.target);
    if (!nodes.has(s) || !nodes.has(t)) throw invalid(`JGF: graph.edges[${i}] joins unknown vertices "${s}" -> "${t}"`);
    const sub = edgeSubsystem(e.metadata);
    if (sub !== 'containment') {
      aux.push([sub, s, t]);
      return;
    }
    if (parent.has(t)) {
      if (parent.get(t) === s) return;
      throw invalid(`JGF: vertex "${t}" has two containment parents ("${parent.get(t)!}" and "${s}"); containment must be a tree`);
    }
    parent.set(t, s);
    let c = children.get(s);
    if (c === undefined) children.set(s, (c = []));
    c.push(t);
  });
  const roots = [...nodes.keys()].filter((k) => !parent.has(k) && children.has(k));
  if (roots.length === 0 && nodes.size === 1) roots.push([...nodes.keys()][0]!);
  if (roots.length !== 1) {
    throw invalid(`JGF: the containment edges have ${roots.length} roots (${roots.slice(0, 3).join(', ')}); a graph needs exactly one`);
  }
  const g = new GraphStore(nodes.size);
  const map = new Map<string, number>();
  const add = (key: string, under: number): number => {
    const n = nodes.get(key)!;
    const v = under < 0 && g.root >= 0 ? g.addDetached(g.typeIndexFor(n.type), g.intern(n.basename), n.id, n.rank, n.size) : g.addRaw(g.typeIndexFor(n.type), g.intern(n.basename), n.id, n.rank, n.size, under);
    if (n.unit !== '') g.unit[v] = g.intern(n.unit);
    if (n.name !== undefined && n.name !== g.defaultName(v)) g.names.set(v, n.name);
    if (n.properties !== undefined && Object.keys(n.properties).length > 0) g.props.set(v, new Map(Object.entries(n.properties)));
    if (n.status !== undefined) g.status[v] = statusCode(n.status === 'drain' ? 'drained' : n.status);
    map.set(key, v);
    return v;
  };
  const stack: [string, number][] = [[roots[0]!, -1]];
  while (stack.length > 0) {
    const [key, under] = stack.pop()!;
    const v = add(key, under);
    const kids = children.get(key) ?? [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i]!, v]);
  }
  for (const key of nodes.keys()) if (!map.has(key)) add(key, -1);
  for (const [sub, s, t] of aux) g.addAuxEdge(sub, map.get(s)!, map.get(t)!);
  return g;
}

/**
 * A graph from R version 1: cluster0 → one node per rank (named by the
 * nodelist) → its cores and GPUs, with R's properties on the nodes.
 */
export function loadRv1(json: unknown): GraphStore {
  if (isObj(json) && isObj(json.scheduling) && isObj(json.scheduling.graph)) return loadJgf(json.scheduling);
  const r = Rv1.parse(json);
  const g = new GraphStore(r.nnodes * 8 + 1);
  const T = { cluster: g.typeIndexFor('cluster'), node: g.typeIndexFor('node'), core: g.typeIndexFor('core'), gpu: g.typeIndexFor('gpu') };
  const root = g.addRaw(T.cluster, g.intern('cluster'), 0, -1, 1, -1);
  const props = r.properties();
  for (const e of r.entries()) {
    const n = g.addRaw(T.node, g.intern('node'), e.rank, e.rank, 1, root);
    if (e.hostname !== undefined && e.hostname !== g.defaultName(n)) g.names.set(n, e.hostname);
    for (const [name, ranks] of Object.entries(props)) if (ranks.has(e.rank)) g.setProperty(n, name, '');
    for (const c of e.cores) g.addRaw(T.core, g.intern('core'), c, -1, 1, n);
    for (const c of e.gpus) g.addRaw(T.gpu, g.intern('gpu'), c, -1, 1, n);
  }
  return g;
}
