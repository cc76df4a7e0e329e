/**
 * Writers for allocations and graphs: JSON Graph Format (JGF, as Flux and
 * Fluxion write it) for an allocation or a whole graph, and Fluxion's
 * `simple` / `pretty_simple` text (one vertex per line with its units and
 * x/s for exclusive/shared), used to compare with Fluxion's test outputs.
 * R (RFC 20) comes from ResourceGraph.rv1().
 */
import { Rv1 } from '../rv1.js';
import type { ResourceGraph } from './graph.js';
import type { GraphStore } from './store.js';
import { STATUS_REMOVED, statusName } from './store.js';

export interface JgfNode {
  id: string;
  metadata: {
    type: string;
    basename: string;
    name: string;
    id: number;
    uniq_id: number;
    rank: number;
    exclusive: boolean;
    unit: string;
    size: number;
    properties?: Record<string, string>;
    status?: string;
    paths: Record<string, string>;
  };
}

export interface JgfEdge {
  source: string;
  target: string;
  metadata: { subsystem: string; name?: Record<string, string> };
}

export interface Jgf {
  graph: { nodes: JgfNode[]; edges: JgfEdge[] };
}

function node(g: GraphStore, v: number, exclusive: boolean, size: number): JgfNode {
  const md: JgfNode['metadata'] = {
    type: g.typeOf(v),
    basename: g.basename(v),
    name: g.name(v),
    id: g.id[v]!,
    uniq_id: v,
    rank: g.rankOf(v),
    exclusive,
    unit: g.unitOf(v),
    size,
    paths: { containment: g.path(v) },
  };
  const p = g.props.get(v);
  if (p !== undefined && p.size > 0) md.properties = Object.fromEntries(p);
  if (g.status[v] !== 0) md.status = statusName(g.status[v]!);
  return { id: String(v), metadata: md };
}

/** The whole graph (containment and other subsystems) as JGF. */
export function graphToJgf(g: GraphStore): Jgf {
  const nodes: JgfNode[] = [];
  const edges: JgfEdge[] = [];
  for (const v of g.subtree(g.root)) {
    if (g.status[v] === STATUS_REMOVED) continue;
    nodes.push(node(g, v, false, g.size[v]!));
    const p = g.parent[v]!;
    if (p >= 0) edges.push({ source: String(p), target: String(v), metadata: { subsystem: 'containment' } });
  }
  for (const sub of g.aux.values()) {
    for (const [from, tos] of sub.out) {
      for (const to of tos) edges.push({ source: String(from), target: String(to), metadata: { subsystem: sub.name } });
    }
  }
  return { graph: { nodes, edges } };
}

/** The subgraph a job holds, as JGF (units held as each vertex's size). */
export function allocationJgf(graph: ResourceGraph, jobid: number): Jgf {
  const g = graph.store;
  const a = graph.allocation(jobid);
  const nodes: JgfNode[] = [];
  const edges: JgfEdge[] = [];
  const held = new Set<number>();
  for (let i = 0; i < a.verts.length; i++) held.add(a.verts[i]!);
  for (let i = 0; i < a.verts.length; i++) {
    const v = a.verts[i]!;
    nodes.push(node(g, v, a.x[i] === 1, a.needs[i]!));
    const p = g.parent[v]!;
    if (p >= 0 && held.has(p)) edges.push({ source: String(p), target: String(v), metadata: { subsystem: 'containment' } });
  }
  return { graph: { nodes, edges } };
}

/**
 * Fluxion's `simple` writer: the job's vertices depth-first in child
 * order, children before their parent, indented by depth, as
 * `name[units:x|s]`. `pretty` is Fluxion's `pretty_simple`: the same lines
 * in reverse, with "exclusive"/"shared".
 */
export function writeSimple(graph: ResourceGraph, jobid: number, pretty = false): string {
  const g = graph.store;
  const a = graph.allocation(jobid);
  const held = new Map<number, number>();
  for (let i = 0; i < a.verts.length; i++) held.set(a.verts[i]!, i);
  const lines: string[] = [];
  const walk = (v: number, level: number): void => {
    for (let c = g.first[v]!; c !== -1; c = g.next[c]!) if (held.has(c)) walk(c, level + 1);
    const i = held.get(v)!;
    const x = a.x[i] === 1;
    const mode = pretty ? (x ? 'exclusive' : 'shared') : x ? 'x' : 's';
    lines.push(`      ${'---'.repeat(level)}${g.name(v)}[${a.needs[i]!}:${mode}]\n`);
  };
  if (held.has(g.root)) walk(g.root, 1);
  if (pretty) lines.reverse();
  return lines.join('');
}

/**
 * The job's R with the exact subgraph it holds under `scheduling` (as JGF,
 * the Flux convention), so a child instance can load precisely what it
 * was granted (loadRv1 / loadJgf read it back).
 */
export function rv1WithGraph(graph: ResourceGraph, jobid: number): Rv1 {
  return Rv1.parse({ ...graph.rv1(jobid).toJSON(), scheduling: allocationJgf(graph, jobid) });
}
