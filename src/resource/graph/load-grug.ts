/**
 * Fluxion's GRUG recipes (GraphML "generating resources using GraphML"):
 * a small graph of resource kinds whose edges say "each rack holds 18
 * nodes" (MULTIPLY), or "associate every pdu with the nodes of its rack"
 * (ASSOCIATE_IN, ASSOCIATE_BY_PATH_IN). The recipe is expanded exactly as
 * Fluxion's reader does it (a depth-first walk of the recipe in file
 * order, the same id scopes and node ranks), so vertex names, ids and
 * ranks agree with Fluxion's.
 */
import { invalid } from '../../errors/index.js';
import { GraphStore } from './store.js';

interface XmlElement {
  attrs: Record<string, string>;
  body: string;
}

function attrsOf(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) out[m[1]!] = unescape(m[2]!);
  return out;
}

function unescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function elements(xml: string, tag: string): XmlElement[] {
  const re = new RegExp(`<${tag}\\b([^>]*?)(?:/>|>([\\s\\S]*?)</${tag}\\s*>)`, 'g');
  return [...xml.matchAll(re)].map((m) => ({ attrs: attrsOf(m[1] ?? ''), body: m[2] ?? '' }));
}

function dataOf(body: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of body.matchAll(/<data\b([^>]*?)(?:\/>|>([\s\S]*?)<\/data\s*>)/g)) {
    const key = attrsOf(m[1] ?? '').key;
    if (key !== undefined) out.set(key, unescape((m[2] ?? '').trim()));
  }
  return out;
}

interface RecipeVertex {
  name: string;
  root: boolean;
  type: string;
  basename: string;
  unit: string;
  size: number;
  subsystem: string;
}

interface RecipeEdge {
  source: number;
  target: number;
  subsystem: string;
  relation: string;
  idScope: number;
  idStart: number;
  idStride: number;
  method: string;
  scale: number;
  asTgtSubsystem: string;
  asTgtUplvl: number;
  asSrcUplvl: number;
}

function int(v: string | undefined, where: string): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n)) throw invalid(`GRUG: ${where} must be an integer (got ${JSON.stringify(v)})`);
  return n;
}

/** Expands a GRUG GraphML recipe into a graph. */
export function loadGrug(xml: string): GraphStore {
  const text = xml.replace(/<!--[\s\S]*?-->/g, '');
  const keys = new Map<string, { name: string; def: string | undefined }>();
  for (const k of elements(text, 'key')) {
    const id = k.attrs.id;
    if (id === undefined) continue;
    const d = /<default>([\s\S]*?)<\/default>/.exec(k.body);
    keys.set(id, { name: k.attrs['attr.name'] ?? id, def: d?.[1]?.trim() });
  }
  const value = (data: Map<string, string>, attr: string, fallback: string): string => {
    for (const [id, k] of keys) if (k.name === attr && data.has(id)) return data.get(id)!;
    if (data.has(attr)) return data.get(attr)!;
    for (const k of keys.values()) if (k.name === attr && k.def !== undefined) return k.def;
    return fallback;
  };
  const graphs = elements(text, 'graph');
  if (graphs.length === 0) throw invalid('GRUG: no <graph> element found; is this a GraphML recipe?');
  const body = graphs[0]!.body;
  const vs: RecipeVertex[] = [];
  const index = new Map<string, number>();
  for (const n of elements(body, 'node')) {
    const id = n.attrs.id;
    if (id === undefined) throw invalid('GRUG: a <node> has no id attribute');
    const d = dataOf(n.body);
    const type = value(d, 'type', '');
    if (type === '') throw invalid(`GRUG: node "${id}" has no type; add <data key="type">...</data>`);
    index.set(id, vs.length);
    vs.push({
      name: id,
      root: value(d, 'root', '0') === '1',
      type,
      basename: value(d, 'basename', type),
      unit: value(d, 'unit', ''),
      size: Number(value(d, 'size', '1')),
      subsystem: value(d, 'subsystem', 'containment'),
    });
  }
  const es: RecipeEdge[] = [];
  for (const e of elements(body, 'edge')) {
    const src = index.get(e.attrs.source ?? '');
    const tgt = index.get(e.attrs.target ?? '');
    if (src === undefined || tgt === undefined) {
      throw invalid(`GRUG: edge "${e.attrs.id ?? '?'}" joins unknown nodes "${e.attrs.source ?? ''}" -> "${e.attrs.target ?? ''}"`);
    }
    const d = dataOf(e.body);
    const where = `edge "${e.attrs.id ?? ''}"`;
    es.push({
      source: src,
      target: tgt,
      subsystem: value(d, 'e_subsystem', 'containment'),
      relation: value(d, 'relation', 'contains'),
      idScope: int(value(d, 'id_scope', '0'), `${where} id_scope`),
      idStart: int(value(d, 'id_start', '0'), `${where} id_start`),
      idStride: int(value(d, 'id_stride', '1'), `${where} id_stride`),
      method: value(d, 'gen_method', 'MULTIPLY'),
      scale: int(value(d, 'multi_scale', '1'), `${where} multi_scale`),
      asTgtSubsystem: value(d, 'as_tgt_subsystem', 'containment'),
      asTgtUplvl: int(value(d, 'as_tgt_uplvl', '1'), `${where} as_tgt_uplvl`),
      asSrcUplvl: int(value(d, 'as_src_uplvl', '1'), `${where} as_src_uplvl`),
    });
  }
  return expand(vs, es);
}

function expand(vs: RecipeVertex[], es: RecipeEdge[]): GraphStore {
  const g = new GraphStore(1024);
  const out: number[][] = vs.map(() => []);
  es.forEach((e, k) => out[e.source]!.push(k));
  const color = new Uint8Array(vs.length);
  const hier: number[] = [];
  const genSrc = new Map<number, number[]>();
  const roots = new Map<string, number>();
  const paths = new Map<number, Map<string, string>>();
  const byType = new Map<string, number[]>();
  let nodeRank = -1;

  const pathOf = (v: number, sub: string): string => paths.get(v)?.get(sub) ?? '';
  const setPath = (v: number, sub: string, p: string): void => {
    let m = paths.get(v);
    if (m === undefined) paths.set(v, (m = new Map()));
    m.set(sub, p);
  };

  const genId = (e: RecipeEdge, i: number, sz: number, j: number): number => {
    let scope = e.idScope;
    if (scope < 0) return -1;
    if (scope === 0) return e.idStart + i;
    if (scope > hier.length) scope = hier.length;
    let wrap = 1;
    for (let h = 0; h < scope; h++) wrap *= hier[h]!;
    return e.idStart + ((j % wrap) * sz * e.idStride) + i * e.idStride;
  };

  const emit = (u: number, e: RecipeEdge | undefined, src: number, i: number, sz: number, j: number): number => {
    const r = vs[u]!;
    if (src < 0) {
      const existing = roots.get(r.subsystem);
      if (existing !== undefined) return existing;
    }
    const id = src < 0 || e === undefined ? 0 : genId(e, i, sz, j);
    const rank = r.type === 'node' ? ++nodeRank : -1;
    const t = g.typeIndexFor(r.type);
    const b = g.intern(r.basename);
    let v: number;
    if (r.subsystem === 'containment' && (src < 0 || e?.subsystem === 'containment')) {
      v = src < 0 && g.root >= 0 ? g.addDetached(t, b, id, rank, r.size) : g.addRaw(t, b, id, rank, r.size, src);
    } else {
      v = g.addDetached(t, b, id, rank, r.size);
      if (src >= 0) g.addAuxEdge(e?.subsystem ?? r.subsystem, src, v, e?.relation);
    }
    if (r.unit !== '') g.unit[v] = g.intern(r.unit);
    if (src < 0) roots.set(r.subsystem, v);
    setPath(v, r.subsystem, `${src < 0 ? '' : pathOf(src, r.subsystem)}/${g.name(v)}`);
    let a = byType.get(r.type);
    if (a === undefined) byType.set(r.type, (a = []));
    a.push(v);
    return v;
  };

  const associate = (e: RecipeEdge, src: number, tgt: number, targets: number[]): void => {
    setPath(tgt, e.subsystem, `${pathOf(src, e.subsystem)}/${g.name(tgt)}`);
    g.addAuxEdge(e.subsystem, src, tgt, e.relation);
    targets.push(tgt);
  };

  const prefix = (path: string, up: number): string | undefined => {
    const slashes = [...path].filter((c) => c === '/').length;
    if (up >= slashes) return undefined;
    let pos = 0;
    for (let occ = 0; occ !== slashes - up + 1; occ++) {
      const k = path.indexOf('/', pos);
      if (k < 0) break;
      pos = k + 1;
    }
    let p = path.slice(0, pos);
    if (!p.endsWith('/')) p += '/';
    return p;
  };

  const treeEdge = (k: number): void => {
    const e = es[k]!;
    const s = e.source;
    const t = e.target;
    if (vs[s]!.root && (genSrc.get(s) ?? []).length === 0) genSrc.set(s, [emit(s, undefined, -1, 0, 1, 0)]);
    const targets: number[] = [];
    genSrc.set(t, targets);
    const sources = genSrc.get(s) ?? [];
    switch (e.method) {
      case 'MULTIPLY':
        sources.forEach((src, j) => {
          for (let i = 0; i < e.scale; i++) {
            const v = emit(t, e, src, i, e.scale, j);
            targets.push(v);
          }
        });
        hier.unshift(e.scale);
        break;
      case 'ASSOCIATE_IN':
        for (const src of sources) for (const tgt of byType.get(vs[t]!.type) ?? []) associate(e, src, tgt, targets);
        break;
      case 'ASSOCIATE_BY_PATH_IN':
        for (const src of sources) {
          for (const tgt of byType.get(vs[t]!.type) ?? []) {
            const a = prefix(pathOf(tgt, e.asTgtSubsystem), e.asTgtUplvl);
            const b = prefix(pathOf(src, e.asTgtSubsystem), e.asSrcUplvl);
            if (a === b) associate(e, src, tgt, targets);
          }
        }
        break;
      default:
        throw invalid(`GRUG: unknown gen_method "${e.method}"; use MULTIPLY, ASSOCIATE_IN or ASSOCIATE_BY_PATH_IN`);
    }
  };

  const visit = (u: number): void => {
    color[u] = 1;
    for (const k of out[u]!) {
      const v = es[k]!.target;
      if (color[v] === 0) {
        treeEdge(k);
        visit(v);
      }
    }
    color[u] = 2;
    if (hier.length > 0) hier.shift();
  };
  for (let u = 0; u < vs.length; u++) if (color[u] === 0) visit(u);
  if (g.root < 0) throw invalid('GRUG: the recipe generated no containment root; mark the top vertex with <data key="root">1</data>');
  return g;
}
