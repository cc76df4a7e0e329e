/**
 * The request tree the matcher walks: a jobspec's `resources` (RFC 14
 * canonical, any nesting and any type names) with counts reduced to
 * min/max/operator/operand and, on every vertex, how many units of each
 * resource type one instance needs underneath it (the pruning filters
 * compare these with the free counts kept on graph vertices).
 */
import { invalid } from '../../errors/index.js';
import type { CountOperator, ResourceVertex } from '../../jobspec/index.js';

export const SLOT = -2;
export const UNKNOWN_TYPE = -1;

export interface Req {
  type: string;
  /** Graph type index; SLOT for slots; UNKNOWN_TYPE when the graph has no such type. */
  t: number;
  min: number;
  /** Infinity when unbounded. */
  max: number;
  op: CountOperator;
  operand: number;
  /** Explicit `exclusive` from the jobspec; undefined when not given. */
  exclusive: boolean | undefined;
  with: Req[];
  label: string | undefined;
  /** Units of type needT[i] that one instance needs below it: needA[i]. */
  needT: number[];
  needA: number[];
  /** The jobspec path of this vertex, for messages: resources[0].with[1]. */
  path: string;
}

/** The next acceptable count after x (RFC 14 operators). */
export function nextCount(r: Pick<Req, 'op' | 'operand'>, x: number): number {
  switch (r.op) {
    case '+':
      return x + r.operand;
    case '*':
      return x * r.operand;
    case '^':
      return x ** r.operand;
  }
}

/** The largest acceptable count <= got, or 0 when got < min. */
export function fitCount(r: Pick<Req, 'min' | 'max' | 'op' | 'operand'>, got: number): number {
  if (got < r.min) return 0;
  const cap = Math.min(got, r.max);
  if (r.op === '+' && r.operand === 1) return cap;
  let best = r.min;
  for (let x = r.min; x <= cap; ) {
    best = x;
    const n = nextCount(r, x);
    if (n <= x) break;
    x = n;
  }
  return best;
}

interface ParsedCount {
  min: number;
  max: number;
  op: CountOperator;
  operand: number;
}

function parseCount(c: unknown, where: string): ParsedCount {
  if (typeof c === 'number') {
    if (!Number.isInteger(c) || c < 1) throw invalid(`${where}.count: must be an integer >= 1 (got ${String(c)})`);
    return { min: c, max: c, op: '+', operand: 1 };
  }
  if (typeof c === 'string') {
    const inner = c.startsWith('[') && c.endsWith(']') ? c.slice(1, -1) : c;
    // RFC 45 range: "N", "N+", "N-M", "N-M:K", "N-M:K:op"
    const m = /^([1-9]\d*)(?:(\+)|-([1-9]\d*))?(?::([1-9]\d*)(?::([+*^]))?)?$/.exec(inner);
    if (m) {
      const min = Number(m[1]);
      const max = m[2] === '+' ? Infinity : m[3] === undefined ? min : Number(m[3]);
      const operand = m[4] === undefined ? 1 : Number(m[4]);
      const op = (m[5] ?? '+') as CountOperator;
      return { min, max, op, operand };
    }
    // RFC 22 idset of acceptable counts: use the smallest.
    const first = /^([1-9]\d*)/.exec(inner);
    if (first && /^[\d,-]+$/.test(inner)) {
      const n = Number(first[1]);
      return { min: n, max: n, op: '+', operand: 1 };
    }
    throw invalid(`${where}.count: "${c}" is neither a range such as "2-8" nor an idset such as "4,8"`);
  }
  if (typeof c === 'object' && c !== null && !Array.isArray(c)) {
    const o = c as Record<string, unknown>;
    const min = o.min;
    if (typeof min !== 'number' || !Number.isInteger(min) || min < 1) {
      throw invalid(`${where}.count.min: must be an integer >= 1 (got ${JSON.stringify(min)})`);
    }
    const max = o.max === undefined ? Infinity : o.max;
    if (typeof max !== 'number' || max < min) throw invalid(`${where}.count.max: must be a number >= min ${min} (got ${JSON.stringify(o.max)})`);
    const op = (o.operator ?? '+') as CountOperator;
    if (op !== '+' && op !== '*' && op !== '^') throw invalid(`${where}.count.operator: must be "+", "*" or "^" (got ${JSON.stringify(o.operator)})`);
    const operand = o.operand === undefined ? 1 : o.operand;
    if (typeof operand !== 'number' || !Number.isInteger(operand) || operand < 1) {
      throw invalid(`${where}.count.operand: must be an integer >= 1 (got ${JSON.stringify(o.operand)})`);
    }
    if ((op === '*' || op === '^') && operand < 2) throw invalid(`${where}.count.operand: must be >= 2 with operator "${op}"`);
    return { min, max, op, operand };
  }
  throw invalid(`${where}.count: must be a number, a range string or {min, max, operator, operand}`);
}

/**
 * Compiles jobspec resources against a graph's type table. `typeIndex`
 * maps a type name to the graph's type index (-1 when absent).
 */
export function compileRequest(resources: readonly ResourceVertex[], typeIndex: (name: string) => number): Req[] {
  if (!Array.isArray(resources) || resources.length === 0) {
    throw invalid('resources: the jobspec requests nothing; list at least one resource, e.g. a node or a slot');
  }
  const build = (v: ResourceVertex, path: string): Req => {
    if (typeof v !== 'object' || v === null || typeof v.type !== 'string' || v.type === '') {
      throw invalid(`${path}.type: every resource needs a type such as "node" or "core"`);
    }
    const c = parseCount(v.count, path);
    const isSlot = v.type === 'slot';
    const kids = (v.with ?? []).map((w, i) => build(w, `${path}.with[${i}]`));
    if (isSlot && kids.length === 0) throw invalid(`${path}: a slot must contain resources (with: [...]), e.g. cores`);
    const seen = new Set<string>();
    for (const k of kids) {
      if (seen.has(k.type)) {
        throw invalid(`${path}.with: resource type "${k.type}" appears twice among siblings; merge them into one entry with the total count`);
      }
      seen.add(k.type);
    }
    const need = new Map<number, number>();
    for (const k of kids) {
      if (k.t >= 0) need.set(k.t, (need.get(k.t) ?? 0) + k.min);
      for (let i = 0; i < k.needT.length; i++) {
        const t = k.needT[i]!;
        need.set(t, (need.get(t) ?? 0) + k.min * k.needA[i]!);
      }
    }
    return {
      type: v.type,
      t: isSlot ? SLOT : typeIndex(v.type),
      min: c.min,
      max: c.max,
      op: c.op,
      operand: c.operand,
      exclusive: v.exclusive,
      with: kids,
      label: v.label,
      needT: [...need.keys()],
      needA: [...need.values()],
      path,
    };
  };
  const top = resources.map((r, i) => build(r, `resources[${i}]`));
  const seen = new Set<string>();
  for (const r of top) {
    if (seen.has(r.type)) throw invalid(`resources: type "${r.type}" appears twice at the top level; merge them into one entry`);
    seen.add(r.type);
  }
  return top;
}

/** Every type name used by a request tree. */
export function requestTypes(reqs: readonly Req[], out = new Set<string>()): Set<string> {
  for (const r of reqs) {
    if (r.t !== SLOT) out.add(r.type);
    requestTypes(r.with, out);
  }
  return out;
}

/** Short text of a request vertex, e.g. core[19] or node[2-4]. */
export function reqText(r: Req): string {
  const count = r.max === r.min ? `${r.min}` : r.max === Infinity ? `${r.min}+` : `${r.min}-${r.max}`;
  return `${r.type}[${count}]`;
}
