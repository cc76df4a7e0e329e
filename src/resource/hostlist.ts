/**
 * Hostlist: an ordered list of hostnames (duplicates allowed) and its RFC 29
 * compressed form, e.g. "node[001-100,200],login1".
 *
 * The list is kept expanded (one string per host): callers index it by
 * position (R maps the i-th host to the i-th rank), and even large clusters
 * have only tens of thousands of nodes. Parsing refuses lists that would
 * expand past MAX_HOSTS so that a typo like "n[0-999999999]" fails cleanly
 * instead of exhausting memory.
 */
import { invalid } from '../errors/index.js';
import type { FractalError } from '../errors/index.js';

/** The most hostnames one hostlist may expand to. */
export const MAX_HOSTS = 1_000_000;

const ELEMENT = /^(\d+)(?:-(\d+))?$/;
const DIGITS = /^\d+$/;
/** Longest digit run treated as a number when compressing (stays exact). */
const MAX_NUMBER_DIGITS = 15;

function badHostlist(s: string, problem: string, fix: string): FractalError {
  return invalid(`invalid hostlist "${s}": ${problem}; ${fix}`);
}

/**
 * Why `text` (a hostname, or the prefix or suffix around a bracket) is not
 * allowed, or undefined if it is fine. RFC 29 allows printable, non-whitespace
 * ASCII except "[", "]" and ",".
 */
function badChar(text: string): string | undefined {
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return 'contains whitespace';
    if (c < 0x21 || c > 0x7e) {
      return `contains the character U+${c.toString(16).toUpperCase().padStart(4, '0')}, which is not printable ASCII`;
    }
    if (ch === '[' || ch === ']' || ch === ',') return `contains "${ch}"`;
  }
  return undefined;
}

/** Throws EINVAL unless `host` is a valid single hostname. */
export function checkHostname(host: unknown, where = 'hostname'): asserts host is string {
  if (typeof host !== 'string' || host === '') {
    throw invalid(`invalid ${where} ${JSON.stringify(host) ?? String(host)}: a hostname must be a non-empty string`);
  }
  const why = badChar(host);
  if (why !== undefined) {
    throw invalid(
      `invalid ${where} "${host}": it ${why}; hostnames may use printable ASCII except whitespace, "[", "]" and ","`,
    );
  }
}

/** n written with at least `width` digits, zero-padded on the left. */
function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * The zero-padding width that a bracket group inherits from the digits of its
 * first id (RFC 29): "005" pads to 3, while "5", "0" and "10" do not pad.
 */
function widthOf(digits: string): number {
  return digits.length > 1 && digits.startsWith('0') ? digits.length : 0;
}

/** One way to read a hostname as prefix + number + suffix, for compression. */
interface Template {
  prefix: string;
  suffix: string;
  width: number;
}

/** The number `host` holds between `t.prefix` and `t.suffix`, or undefined. */
function numberIn(host: string, t: Template): number | undefined {
  if (host.length <= t.prefix.length + t.suffix.length) return undefined;
  if (!host.startsWith(t.prefix) || !host.endsWith(t.suffix)) return undefined;
  const mid = host.slice(t.prefix.length, host.length - t.suffix.length);
  if (mid.length > MAX_NUMBER_DIGITS || !DIGITS.test(mid)) return undefined;
  const n = Number(mid);
  // The digits must be exactly what the group's padding would print.
  return pad(n, t.width) === mid ? n : undefined;
}

/**
 * The templates of `host`: one per maximal run of digits in it. Because each
 * run is maximal, a prefix never ends and a suffix never starts with a digit,
 * so matching another host against a template finds the same digit run there.
 */
function templatesOf(host: string): Template[] {
  const out: Template[] = [];
  for (const m of host.matchAll(/\d+/g)) {
    if (m[0].length > MAX_NUMBER_DIGITS) continue;
    const at = m.index;
    out.push({ prefix: host.slice(0, at), suffix: host.slice(at + m[0].length), width: widthOf(m[0]) });
  }
  return out;
}

/** "1,2,3,5,4" → "1-3,5,4": ascending consecutive runs become ranges. */
function encodeIdlist(nums: number[], width: number): string {
  const parts: string[] = [];
  let k = 0;
  while (k < nums.length) {
    const lo = nums[k]!;
    let e = k;
    while (e + 1 < nums.length && nums[e + 1] === nums[e]! + 1) e++;
    parts.push(e === k ? pad(lo, width) : `${pad(lo, width)}-${pad(nums[e]!, width)}`);
    k = e + 1;
  }
  return parts.join(',');
}

/** Splits at commas outside brackets, checking that brackets balance. */
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let k = 0; k < s.length; k++) {
    const ch = s[k];
    if (ch === '[') {
      if (depth > 0) throw badHostlist(s, `nested "[" at position ${k}`, 'brackets cannot be nested: write "n[1-3]"');
      depth = 1;
    } else if (ch === ']') {
      if (depth === 0) throw badHostlist(s, `"]" at position ${k} has no matching "["`, 'remove it or add the "["');
      depth = 0;
    } else if (ch === ',' && depth === 0) {
      terms.push(s.slice(start, k));
      start = k + 1;
    }
  }
  if (depth > 0) throw badHostlist(s, 'a "[" is never closed', 'add the missing "]"');
  terms.push(s.slice(start));
  return terms;
}

export class Hostlist implements Iterable<string> {
  readonly #hosts: readonly string[];
  #encoded: string | undefined;

  private constructor(hosts: readonly string[]) {
    this.#hosts = hosts;
  }

  /**
   * Parses an RFC 29 hostlist: comma separated expressions of the form
   * prefix[idlist]suffix, each part optional, e.g. "foo[0-4]-eth2,login1".
   * Idlists keep their order and duplicates; the zero padding of the first
   * id applies to all ids ("[00-2]" is 00,01,02).
   */
  static parse(s: string): Hostlist {
    if (typeof s !== 'string') {
      throw invalid(`invalid hostlist: expected a string such as "node[1-4]", got ${typeof s}`);
    }
    const hosts: string[] = [];
    for (const term of splitTerms(s)) {
      if (term === '') continue; // an empty expression is an empty list
      const open = term.indexOf('[');
      if (open === -1) {
        const why = badChar(term);
        if (why !== undefined) throw badHostlist(s, `"${term}" ${why}`, 'hostnames may use printable ASCII except whitespace');
        hosts.push(term);
        if (hosts.length > MAX_HOSTS) throw tooMany(s);
        continue;
      }
      const close = term.indexOf(']');
      const prefix = term.slice(0, open);
      const body = term.slice(open + 1, close);
      const suffix = term.slice(close + 1);
      if (suffix.includes('[')) {
        throw badHostlist(s, `"${term}" has more than one [idlist]`, 'use one bracket group per expression, e.g. "r1-n[1-4]"');
      }
      for (const part of [prefix, suffix]) {
        const why = badChar(part);
        if (why !== undefined) throw badHostlist(s, `"${part}" in "${term}" ${why}`, 'hostnames may use printable ASCII except whitespace');
      }
      if (body === '') throw badHostlist(s, `"${term}" has an empty []`, 'put ids inside the brackets, e.g. "n[1-4]"');
      let width: number | undefined;
      for (const el of body.split(',')) {
        const m = ELEMENT.exec(el);
        if (!m) {
          throw badHostlist(
            s,
            `"${el}" in "[${body}]" is not an id or a low-high range`,
            'write ids as decimal numbers and ranges as low-high, e.g. "n[1-4,7]"',
          );
        }
        width ??= widthOf(m[1]!);
        const lo = Number(m[1]);
        const hi = m[2] === undefined ? lo : Number(m[2]);
        if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) {
          throw badHostlist(s, `"${el}" has a number that is too large`, 'use ids below 2^53');
        }
        if (hi < lo) {
          throw badHostlist(s, `range end ${m[2]} is below start ${m[1]}`, `write ranges low-high, e.g. "${m[2]}-${m[1]}"`);
        }
        if (hosts.length + (hi - lo + 1) > MAX_HOSTS) throw tooMany(s);
        for (let n = lo; n <= hi; n++) hosts.push(prefix + pad(n, width) + suffix);
      }
    }
    return new Hostlist(hosts);
  }

  /** A hostlist of the given names, in order. Each must be a valid hostname. */
  static fromArray(hosts: readonly string[]): Hostlist {
    for (const h of hosts) checkHostname(h);
    return new Hostlist([...hosts]);
  }

  static empty(): Hostlist {
    return EMPTY;
  }

  /**
   * The compressed form, preserving order: adjacent hosts that differ only in
   * one number (with the same padding) share a bracket group, e.g.
   * [n1,n2,n3,login,n5] → "n[1-3],login,n5". Equal lists give equal strings.
   */
  encode(): string {
    if (this.#encoded !== undefined) return this.#encoded;
    const hosts = this.#hosts;
    const terms: string[] = [];
    let i = 0;
    while (i < hosts.length) {
      const first = hosts[i]!;
      // Greedily extend a group from host i, keeping every template (choice
      // of digit run) that still matches; "rack1-n2" can vary either number.
      let alive = templatesOf(first);
      let end = i + 1;
      while (end < hosts.length && alive.length > 1) {
        const next = alive.filter((t) => numberIn(hosts[end]!, t) !== undefined);
        if (next.length === 0) break;
        alive = next;
        end++;
      }
      // Prefer the last digit run when several fit (e.g. identical hosts).
      const t = alive[alive.length - 1];
      if (t === undefined) {
        terms.push(first);
        i++;
        continue;
      }
      const nums: number[] = [];
      for (let k = i; k < end; k++) nums.push(numberIn(hosts[k]!, t)!);
      // Once one template is left, extend with it alone (the common case).
      for (; end < hosts.length; end++) {
        const n = numberIn(hosts[end]!, t);
        if (n === undefined) break;
        nums.push(n);
      }
      if (nums.length === 1) {
        terms.push(first);
        i++;
        continue;
      }
      terms.push(`${t.prefix}[${encodeIdlist(nums, t.width)}]${t.suffix}`);
      i = end;
    }
    this.#encoded = terms.join(',');
    return this.#encoded;
  }

  toString(): string {
    return this.encode();
  }

  get size(): number {
    return this.#hosts.length;
  }

  /** The i-th hostname (0-based). Throws if i is out of range. */
  nth(i: number): string {
    const h = Number.isInteger(i) && i >= 0 ? this.#hosts[i] : undefined;
    if (h === undefined) {
      const n = this.#hosts.length;
      const valid = n === 0 ? 'the list is empty' : `the list has ${n} hosts, valid indexes are 0 to ${n - 1}`;
      throw invalid(`hostlist index ${String(i)} is out of range: ${valid}`);
    }
    return h;
  }

  /** The position of the first occurrence of host, or -1. */
  indexOf(host: string): number {
    return this.#hosts.indexOf(host);
  }

  toArray(): string[] {
    return [...this.#hosts];
  }

  [Symbol.iterator](): Iterator<string> {
    return this.#hosts[Symbol.iterator]();
  }

  /** Same hostnames in the same order. */
  equals(o: Hostlist): boolean {
    const a = this.#hosts;
    const b = o.#hosts;
    if (a.length !== b.length) return false;
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
    return true;
  }
}

function tooMany(s: string): FractalError {
  return badHostlist(s, `it expands to more than ${MAX_HOSTS} hostnames`, 'check the ranges for a typo');
}

const EMPTY: Hostlist = Hostlist.fromArray([]);
