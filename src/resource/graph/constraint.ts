/**
 * Job constraints: RFC 31 constraint objects (`properties`, `hostlist`,
 * `ranks`, `and`, `or`, `not`) compiled into a predicate over execution
 * targets, and the RFC 35 query string syntax (`--requires`) that compiles
 * to them, e.g. `a100 & -host:node[3-4]`.
 */
import { invalid } from '../../errors/index.js';
import { Hostlist } from '../hostlist.js';
import { IdSet } from '../idset.js';

/** What a constraint looks at: one execution target (node). */
export interface ConstraintTarget {
  name: string;
  rank: number;
  /** The value of property `key` (`''` for a bare property), or undefined. */
  property(key: string): string | undefined;
}

export interface CompiledConstraint {
  /** The RFC 31 object it came from. */
  readonly json: Record<string, unknown>;
  test(t: ConstraintTarget): boolean;
}

type Pred = (t: ConstraintTarget) => boolean;

const OPERATORS = ['properties', 'hostlist', 'ranks', 'and', 'or', 'not'];

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

function stringsAt(v: unknown, where: string, example: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw invalid(`constraint ${where}: expected a list of strings such as ${example}, got ${describe(v)}`);
  }
  return v as string[];
}

/** Does the target have property `p` ("name" or "name=value")? */
function hasProperty(t: ConstraintTarget, p: string): boolean {
  const direct = t.property(p);
  if (direct !== undefined) return true;
  const eq = p.indexOf('=');
  if (eq > 0) return t.property(p.slice(0, eq)) === p.slice(eq + 1);
  return false;
}

function compileAt(c: unknown, where: string): Pred {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw invalid(`constraint ${where}: expected an object such as {"properties": ["ssd"]}, got ${describe(c)}`);
  }
  const entries = Object.entries(c as Record<string, unknown>);
  if (entries.length === 0) return () => true; // {} matches anything (RFC 31)
  const preds: Pred[] = entries.map(([op, values]) => {
    const at = `${where}.${op}`;
    switch (op) {
      case 'properties': {
        const props = stringsAt(values, at, '["ssd", "^slowgpu"]');
        for (const p of props) {
          if (p === '' || p === '^') throw invalid(`constraint ${at}: empty property name; name the property, e.g. "ssd"`);
        }
        return (t) => props.every((p) => (p.startsWith('^') ? !hasProperty(t, p.slice(1)) : hasProperty(t, p)));
      }
      case 'hostlist': {
        const lists = stringsAt(values, at, '["node[0-3]"]');
        const hosts = new Set<string>();
        for (const h of lists) {
          try {
            for (const name of Hostlist.parse(h)) hosts.add(name);
          } catch (e) {
            throw invalid(`constraint ${at}: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        return (t) => hosts.has(t.name);
      }
      case 'ranks': {
        const sets = stringsAt(values, at, '["0-3,7"]');
        let ranks = IdSet.empty();
        for (const s of sets) {
          try {
            ranks = ranks.union(IdSet.parse(s));
          } catch (e) {
            throw invalid(`constraint ${at}: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        return (t) => t.rank >= 0 && ranks.has(t.rank);
      }
      case 'and':
      case 'or':
      case 'not': {
        if (!Array.isArray(values)) throw invalid(`constraint ${at}: expected a list of constraint objects, got ${describe(values)}`);
        const subs = (values as unknown[]).map((v, i) => compileAt(v, `${at}[${i}]`));
        if (op === 'and') return (t) => subs.every((s) => s(t));
        if (op === 'or') return subs.length === 0 ? () => true : (t) => subs.some((s) => s(t));
        // not: [] never matches (RFC 31); otherwise none of the values holds.
        return subs.length === 0 ? () => false : (t) => !subs.some((s) => s(t));
      }
      default:
        throw invalid(`constraint ${at}: unknown operator "${op}"; use one of ${OPERATORS.join(', ')}`);
    }
  });
  // Several keys in one object must all hold.
  return preds.length === 1 ? preds[0]! : (t) => preds.every((p) => p(t));
}

/** Compiles an RFC 31 constraint object; EINVAL names the bad part. */
export function compileConstraint(c: unknown): CompiledConstraint {
  const test = compileAt(c, 'constraints');
  return { json: c as Record<string, unknown>, test };
}

// ---- RFC 35 query syntax ------------------------------------------------------

type Token =
  | { kind: 'lparen' | 'rparen' | 'and' | 'or' | 'not'; at: number }
  | { kind: 'term'; negate: boolean; op: string | undefined; value: string; at: number };

const ALIASES: Record<string, string> = {
  host: 'hostlist',
  hosts: 'hostlist',
  hostlist: 'hostlist',
  rank: 'ranks',
  ranks: 'ranks',
  property: 'properties',
  properties: 'properties',
};

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '(' || ch === ')') {
      out.push({ kind: ch === '(' ? 'lparen' : 'rparen', at: i });
      i++;
      continue;
    }
    if (ch === '&' || ch === '|') {
      out.push({ kind: ch === '&' ? 'and' : 'or', at: i });
      i += s[i + 1] === ch ? 2 : 1;
      continue;
    }
    // A term: [-]word, where quoted parts may hold spaces and reserved characters.
    const start = i;
    let negate = false;
    if (ch === '-') {
      negate = true;
      i++;
      if (i >= s.length || /[\s()&|]/.test(s[i]!)) {
        throw invalid(`constraint query "${s}": "-" at position ${start} must be followed by a term, e.g. -host:node1 (it cannot negate a parenthesized expression)`);
      }
    }
    let word = '';
    while (i < s.length && !/[\s()&|]/.test(s[i]!)) {
      const c = s[i]!;
      if (c === "'" || c === '"') {
        const end = s.indexOf(c, i + 1);
        if (end < 0) throw invalid(`constraint query "${s}": unterminated quote at position ${i}; close it with ${c}`);
        word += s.slice(i + 1, end);
        i = end + 1;
      } else {
        word += c;
        i++;
      }
    }
    const raw = s.slice(start, i);
    if (!negate && (raw === 'and' || raw === 'or' || raw === 'not')) {
      out.push({ kind: raw, at: start });
      continue;
    }
    const colon = word.indexOf(':');
    const op = colon > 0 ? word.slice(0, colon) : undefined;
    const value = colon > 0 ? word.slice(colon + 1) : word;
    if (value === '') throw invalid(`constraint query "${s}": term "${raw}" has no value; write operator:value, e.g. host:node1`);
    out.push({ kind: 'term', negate, op, value, at: start });
  }
  return out;
}

/**
 * Parses an RFC 35 constraint query into an RFC 31 object. Terms without
 * an operator use `defaultOperator` (Flux's `--requires`: properties);
 * `host:`/`hosts:` mean hostlist and `rank:` ranks; a properties value may
 * list several properties separated by commas.
 */
export function parseConstraintQuery(query: string, defaultOperator = 'properties'): Record<string, unknown> {
  const toks = tokenize(query);
  let pos = 0;
  const peek = (): Token | undefined => toks[pos];
  const fail = (msg: string): never => {
    throw invalid(`constraint query "${query}": ${msg}`);
  };

  const term = (t: Extract<Token, { kind: 'term' }>): Record<string, unknown> => {
    const op = t.op === undefined ? defaultOperator : (ALIASES[t.op] ?? t.op);
    const values = op === 'properties' ? t.value.split(',').filter((v) => v !== '') : [t.value];
    const obj = { [op]: values };
    return t.negate ? { not: [obj] } : obj;
  };

  const unary = (): Record<string, unknown> => {
    const t = peek();
    if (t === undefined) return fail('expression ends too early; add a term after the last operator');
    if (t.kind === 'not') {
      pos++;
      return { not: [unary()] };
    }
    if (t.kind === 'lparen') {
      pos++;
      const e = or();
      if (peek()?.kind !== 'rparen') fail(`missing ")" for the "(" at position ${t.at}`);
      pos++;
      return e;
    }
    if (t.kind === 'term') {
      pos++;
      return term(t);
    }
    return fail(`unexpected "${t.kind === 'rparen' ? ')' : t.kind}" at position ${t.at}; a term or "(" must come here`);
  };

  const and = (): Record<string, unknown> => {
    const parts = [unary()];
    for (;;) {
      const t = peek();
      if (t === undefined || t.kind === 'rparen' || t.kind === 'or') break;
      if (t.kind === 'and') pos++;
      parts.push(unary());
    }
    if (parts.length === 1) return parts[0]!;
    const merged = mergeProperties(parts);
    return merged.length === 1 ? merged[0]! : { and: merged };
  };

  const or = (): Record<string, unknown> => {
    const parts = [and()];
    while (peek()?.kind === 'or') {
      pos++;
      parts.push(and());
    }
    return parts.length === 1 ? parts[0]! : { or: parts };
  };

  if (toks.length === 0) return {};
  const result = or();
  if (pos < toks.length) fail(`unexpected ")" at position ${toks[pos]!.at}; remove it or add the matching "("`);
  return result;
}

/** `a b` with properties → {"properties": ["a", "b"]} rather than an and of two objects. */
function mergeProperties(parts: Record<string, unknown>[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let props: string[] | undefined;
  for (const p of parts) {
    const keys = Object.keys(p);
    if (keys.length === 1 && keys[0] === 'properties' && Array.isArray(p.properties)) {
      if (props === undefined) {
        props = [...(p.properties as string[])];
        out.push({ properties: props });
      } else props.push(...(p.properties as string[]));
    } else out.push(p);
  }
  return out;
}
