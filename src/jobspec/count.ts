/**
 * Resource counts in their three forms (RFC 14): an integer, a string (RFC 22
 * idset or RFC 45 range), or a range mapping. Checks the rules the schema
 * alone cannot express, and reduces any form to its minimum.
 */
import { invalid } from '../errors/index.js';
import type { CountOperator, CountRange, ResourceCount } from './types.js';

/** A range reduced to numbers; `max` undefined means unbounded. */
export interface ParsedRange {
  min: number;
  max?: number;
  operator: CountOperator;
  operand: number;
}

const OPERATORS: readonly string[] = ['+', '*', '^'];

export function isOperator(s: unknown): s is CountOperator {
  return typeof s === 'string' && OPERATORS.includes(s);
}

/** Removes one pair of surrounding brackets; undefined when they are unbalanced. */
function unbracket(s: string): string | undefined {
  const open = s.startsWith('[');
  const close = s.endsWith(']');
  if (open !== close) return undefined;
  const inner = open ? s.slice(1, -1) : s;
  return inner.includes('[') || inner.includes(']') ? undefined : inner;
}

/**
 * The smallest id of an RFC 22 idset of positive ids ("4,9,16,25", "[1-3,8]"),
 * or undefined if `s` is not one. Ids must ascend without repeats.
 */
export function idsetMin(s: string): number | undefined {
  const inner = unbracket(s);
  if (inner === undefined || inner === '') return undefined;
  let last = 0;
  let first: number | undefined;
  for (const part of inner.split(',')) {
    const m = /^([1-9]\d*)(?:-([1-9]\d*))?$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || lo <= last) return undefined;
    first ??= lo;
    last = hi;
  }
  return first;
}

/** An RFC 45 range string ("2+", "1-4", "2-32:2:*", "[100+]"), or undefined if `s` is not one. */
export function parseRangeString(s: string): ParsedRange | undefined {
  const inner = unbracket(s);
  if (inner === undefined) return undefined;
  const m = /^([1-9]\d*)(?:(\+)|-([1-9]\d*))?(?::([1-9]\d*)(?::([+*^]))?)?$/.exec(inner);
  if (!m) return undefined;
  const min = Number(m[1]);
  // A bare number is a fixed count; "N+" is unbounded.
  const max = m[2] === '+' ? undefined : m[3] === undefined ? min : Number(m[3]);
  const operand = m[4] === undefined ? 1 : Number(m[4]);
  const operator = isOperator(m[5]) ? m[5] : '+';
  return max === undefined ? { min, operator, operand } : { min, max, operator, operand };
}

/** A broken range rule: the field at fault and what is wrong with it. */
export interface RangeProblem {
  field: 'min' | 'max' | 'operand';
  message: string;
}

/** The rules shared by the mapping and string forms that a schema cannot express. */
export function rangeProblem(r: ParsedRange): RangeProblem | undefined {
  if (r.max !== undefined && r.max < r.min) {
    return { field: 'max', message: `must be >= min ${r.min} (got ${r.max}); swap them or raise max` };
  }
  if ((r.operator === '*' || r.operator === '^') && r.operand < 2) {
    return { field: 'operand', message: `must be >= 2 when operator is "${r.operator}" (got ${r.operand}), otherwise the range never grows` };
  }
  if (r.operator === '^' && r.min < 2) {
    return { field: 'min', message: `must be >= 2 when operator is "^" (got ${r.min}), otherwise the range never grows` };
  }
  return undefined;
}

/** The minimum of a count already accepted by the validator. */
export function countMin(count: ResourceCount): number {
  if (typeof count === 'number') return count;
  if (typeof count === 'string') {
    const min = idsetMin(count) ?? parseRangeString(count)?.min;
    if (min === undefined) throw invalid(`count "${count}" is neither an idset nor a range; validate the jobspec first`);
    return min;
  }
  return (count satisfies CountRange).min;
}
