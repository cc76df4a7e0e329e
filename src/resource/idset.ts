/**
 * IdSet: an immutable set of non-negative integer ids (ranks, core ids, GPU
 * ids) and its RFC 22 string form, e.g. "0-3,7,9-10".
 *
 * Sets are stored as sorted, disjoint ranges so that a set like 0-999999 costs
 * two numbers, not a million; only toArray() and iteration enumerate ids.
 */
import { invalid } from '../errors/index.js';
import type { FractalError } from '../errors/index.js';

/** Largest id accepted: keeps `hi + 1` (used when merging ranges) exact. */
export const MAX_ID = Number.MAX_SAFE_INTEGER - 1;

const ELEMENT = /^(\d+)(?:-(\d+))?$/;

function badIdset(s: string, problem: string, fix: string): FractalError {
  return invalid(`invalid idset "${s}": ${problem}; ${fix}`);
}

function checkId(id: number, what: string): void {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) {
    throw invalid(`invalid ${what} ${String(id)}: ids must be integers from 0 to ${MAX_ID}`);
  }
}

/**
 * Builds canonical flat ranges from [lo, hi] pairs in any order, possibly
 * overlapping. Pairs are sorted by lo only when needed (the common input is
 * already sorted), then merged when they overlap or touch.
 */
function normalize(pairs: [number, number][]): number[] {
  let sorted = true;
  for (let k = 1; k < pairs.length; k++) {
    if (pairs[k]![0] < pairs[k - 1]![0]) {
      sorted = false;
      break;
    }
  }
  if (!sorted) pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) appendRange(out, lo, hi);
  return out;
}

/**
 * Appends [lo, hi] to flat ranges whose last range starts at or before lo,
 * merging when the new range overlaps or touches the last one.
 */
function appendRange(out: number[], lo: number, hi: number): void {
  const n = out.length;
  if (n > 0 && lo <= out[n - 1]! + 1) {
    if (hi > out[n - 1]!) out[n - 1] = hi;
  } else {
    out.push(lo, hi);
  }
}

export class IdSet implements Iterable<number> {
  /**
   * Flat ranges [lo0, hi0, lo1, hi1, ...], inclusive, sorted, disjoint and
   * never touching (hi_k + 1 < lo_k+1). Each set therefore has exactly one
   * representation, which makes equals() an array compare and encode()
   * canonical.
   */
  readonly #r: readonly number[];
  readonly #size: number;
  /** Cumulative sizes before each range, built on first nth() call. */
  #before: number[] | undefined;
  /** encode() result cache: R encoding encodes the same sets many times. */
  #encoded: string | undefined;

  private constructor(ranges: number[]) {
    this.#r = ranges;
    let size = 0;
    for (let k = 0; k < ranges.length; k += 2) size += ranges[k + 1]! - ranges[k]! + 1;
    this.#size = size;
  }

  /**
   * Parses an RFC 22 idset string: "", "7", "0-3,7,9-10", optionally wrapped
   * in square brackets. Unsorted, overlapping and zero-padded elements are
   * accepted and normalized; anything else throws EINVAL naming the problem.
   */
  static parse(s: string): IdSet {
    if (typeof s !== 'string') {
      throw invalid(`invalid idset: expected a string such as "0-3,7", got ${typeof s}`);
    }
    let body = s;
    if (body.startsWith('[') || body.endsWith(']')) {
      if (body.length < 2 || !body.startsWith('[') || !body.endsWith(']')) {
        throw badIdset(s, 'unbalanced square brackets', 'brackets may only enclose the whole set, e.g. "[0-3,7]"');
      }
      body = body.slice(1, -1);
    }
    if (body === '') return EMPTY;
    const pairs: [number, number][] = [];
    for (const el of body.split(',')) {
      if (el === '') {
        throw badIdset(s, 'empty element (extra comma)', 'separate ids and ranges with single commas, e.g. "0-3,7"');
      }
      const m = ELEMENT.exec(el);
      if (!m) {
        throw badIdset(
          s,
          `element "${el}" is not an id or a low-high range`,
          'use only decimal digits, "-" and ",", e.g. "0-3,7"',
        );
      }
      const lo = Number(m[1]);
      const hi = m[2] === undefined ? lo : Number(m[2]);
      if (!(lo <= MAX_ID && hi <= MAX_ID)) {
        throw badIdset(s, `element "${el}" has an id that is too large`, `ids must be at most ${MAX_ID}`);
      }
      if (hi < lo) {
        throw badIdset(s, `range end ${hi} is below start ${lo}`, `write ranges low-high, e.g. "${hi}-${lo}"`);
      }
      pairs.push([lo, hi]);
    }
    return new IdSet(normalize(pairs));
  }

  /** The set of the given ids (any order, duplicates allowed). */
  static fromArray(ids: Iterable<number>): IdSet {
    const arr = Array.from(ids);
    for (const id of arr) checkId(id, 'id');
    let sorted = true;
    for (let k = 1; k < arr.length; k++) {
      if (arr[k]! < arr[k - 1]!) {
        sorted = false;
        break;
      }
    }
    if (!sorted) arr.sort((a, b) => a - b);
    const out: number[] = [];
    for (const id of arr) appendRange(out, id, id);
    return new IdSet(out);
  }

  /** The ids lo..hi inclusive. */
  static range(lo: number, hi: number): IdSet {
    checkId(lo, 'range start');
    checkId(hi, 'range end');
    if (hi < lo) {
      throw invalid(`invalid range ${lo}-${hi}: end ${hi} is below start ${lo}; pass the low id first`);
    }
    return new IdSet([lo, hi]);
  }

  static empty(): IdSet {
    return EMPTY;
  }

  /**
   * The canonical RFC 22 form, e.g. "0-3,7". With `brackets`, sets of more
   * than one id are wrapped: "[0-3,7]".
   */
  encode(opts?: { brackets?: boolean }): string {
    if (this.#encoded === undefined) {
      const parts: string[] = [];
      const r = this.#r;
      for (let k = 0; k < r.length; k += 2) {
        const lo = r[k]!;
        const hi = r[k + 1]!;
        parts.push(lo === hi ? String(lo) : `${lo}-${hi}`);
      }
      this.#encoded = parts.join(',');
    }
    return opts?.brackets === true && this.#size > 1 ? `[${this.#encoded}]` : this.#encoded;
  }

  toString(): string {
    return this.encode();
  }

  get size(): number {
    return this.#size;
  }

  isEmpty(): boolean {
    return this.#size === 0;
  }

  has(id: number): boolean {
    if (!Number.isInteger(id)) return false;
    const r = this.#r;
    // Binary search over ranges for the last range with lo <= id.
    let a = 0;
    let b = r.length / 2 - 1;
    while (a <= b) {
      const mid = (a + b) >> 1;
      if (r[2 * mid]! <= id) a = mid + 1;
      else b = mid - 1;
    }
    return b >= 0 && id <= r[2 * b + 1]!;
  }

  first(): number | undefined {
    return this.#r[0];
  }

  last(): number | undefined {
    return this.#r[this.#r.length - 1];
  }

  toArray(): number[] {
    const out: number[] = [];
    for (const id of this) out.push(id);
    return out;
  }

  *[Symbol.iterator](): Iterator<number> {
    const r = this.#r;
    for (let k = 0; k < r.length; k += 2) {
      for (let id = r[k]!, hi = r[k + 1]!; id <= hi; id++) yield id;
    }
  }

  equals(o: IdSet): boolean {
    const a = this.#r;
    const b = o.#r;
    if (a.length !== b.length) return false;
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
    return true;
  }

  isSubsetOf(o: IdSet): boolean {
    const a = this.#r;
    const b = o.#r;
    let j = 0;
    for (let k = 0; k < a.length; k += 2) {
      const lo = a[k]!;
      const hi = a[k + 1]!;
      // Skip ranges of o that end before this range starts; the next one
      // must cover all of lo..hi since o's ranges never touch.
      while (j < b.length && b[j + 1]! < lo) j += 2;
      if (j >= b.length || b[j]! > lo || b[j + 1]! < hi) return false;
    }
    return true;
  }

  union(o: IdSet): IdSet {
    if (o.#size === 0) return this;
    if (this.#size === 0) return o;
    const a = this.#r;
    const b = o.#r;
    const out: number[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      if (j >= b.length || (i < a.length && a[i]! <= b[j]!)) {
        appendRange(out, a[i]!, a[i + 1]!);
        i += 2;
      } else {
        appendRange(out, b[j]!, b[j + 1]!);
        j += 2;
      }
    }
    return new IdSet(out);
  }

  intersect(o: IdSet): IdSet {
    const a = this.#r;
    const b = o.#r;
    const out: number[] = [];
    let i = 0;
    let j = 0;
    while (i < a.length && j < b.length) {
      const lo = Math.max(a[i]!, b[j]!);
      const hi = Math.min(a[i + 1]!, b[j + 1]!);
      if (lo <= hi) out.push(lo, hi);
      // Advance whichever range ends first; the other may overlap more.
      if (a[i + 1]! < b[j + 1]!) i += 2;
      else j += 2;
    }
    return new IdSet(out);
  }

  subtract(o: IdSet): IdSet {
    if (o.#size === 0 || this.#size === 0) return this;
    const a = this.#r;
    const b = o.#r;
    const out: number[] = [];
    let j = 0;
    for (let i = 0; i < a.length; i += 2) {
      let cur = a[i]!;
      const hi = a[i + 1]!;
      while (j < b.length && b[j + 1]! < cur) j += 2;
      // Cut every range of o that overlaps cur..hi out of it. A range of o
      // that extends past hi may also cut the next range of this, so j is
      // not advanced past it.
      let k = j;
      while (k < b.length && b[k]! <= hi) {
        if (b[k]! > cur) out.push(cur, b[k]! - 1);
        cur = Math.max(cur, b[k + 1]! + 1);
        if (cur > hi) break;
        k += 2;
      }
      if (cur <= hi) out.push(cur, hi);
      j = k;
    }
    return new IdSet(out);
  }

  /** The n lowest ids. Throws if the set has fewer than n ids. */
  take(n: number): IdSet {
    if (!Number.isInteger(n) || n < 0) {
      throw invalid(`cannot take ${String(n)} ids: the count must be a non-negative integer`);
    }
    if (n > this.#size) {
      throw invalid(`cannot take ${n} ids from idset "${this.encode()}" which has only ${this.#size}; ask for at most ${this.#size}`);
    }
    if (n === this.#size) return this;
    const r = this.#r;
    const out: number[] = [];
    let left = n;
    for (let k = 0; k < r.length && left > 0; k += 2) {
      const lo = r[k]!;
      const len = r[k + 1]! - lo + 1;
      const use = Math.min(len, left);
      out.push(lo, lo + use - 1);
      left -= use;
    }
    return new IdSet(out);
  }

  /** The i-th lowest id (0-based). Throws if i is out of range. */
  nth(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.#size) {
      const valid = this.#size === 0 ? 'it is empty' : `valid indexes are 0 to ${this.#size - 1}`;
      throw invalid(`idset index ${String(i)} is out of range for "${this.encode()}": ${valid}`);
    }
    const r = this.#r;
    if (this.#before === undefined) {
      const before: number[] = [];
      let count = 0;
      for (let k = 0; k < r.length; k += 2) {
        before.push(count);
        count += r[k + 1]! - r[k]! + 1;
      }
      this.#before = before;
    }
    const before = this.#before;
    // Last range whose cumulative start is <= i.
    let a = 0;
    let b = before.length - 1;
    while (a < b) {
      const mid = (a + b + 1) >> 1;
      if (before[mid]! <= i) a = mid;
      else b = mid - 1;
    }
    return r[2 * a]! + (i - before[a]!);
  }
}

const EMPTY: IdSet = IdSet.fromArray([]);
