/**
 * Flux Standard Duration (RFC 23): `N[SUFFIX]` with N a non-negative decimal
 * number and an optional unit; `inf` / `infinity` (any case) mean no limit.
 */
import { invalid } from '../errors/index.js';

const UNITS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

// Decimal forms accepted by strtod, minus the sign (negative durations are
// refused) and minus hex floats / nan (never useful for a time limit).
const FSD = /^(\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(ms|s|m|h|d)?$/;
const INFINITE = /^inf(inity)?$/i;

/**
 * The longest finite time limit Fractal accepts: 365 days. Longer than any
 * site's limit in practice (Slurm sites cap MaxTime at days or weeks; longer
 * services run with no limit), far below where seconds-as-doubles or
 * millisecond timers lose precision. A job that must run longer asks for no
 * limit: `inf` on the command line, 0 in a jobspec.
 */
export const MAX_DURATION = 365 * 86400;

/**
 * A problem with `seconds` as a time limit, or undefined when it is fine:
 * a finite number of seconds from 0 (unlimited) to MAX_DURATION.
 */
export function durationLimitProblem(seconds: number): string | undefined {
  if (typeof seconds !== 'number' || Number.isNaN(seconds) || seconds < 0) return 'must be a number of seconds >= 0';
  if (seconds === Infinity) return 'must be finite; write 0 for no limit';
  if (seconds <= MAX_DURATION) return undefined;
  // Huge values read better in plain seconds than as 1.2e+303d.
  const shown = seconds < 1e9 ? formatDuration(seconds) : `${seconds} s`;
  return `${shown} is more than the maximum time limit of ${formatDuration(MAX_DURATION)} (${MAX_DURATION} s); give a shorter limit, or no limit (inf on the command line, 0 in a jobspec)`;
}

const HINT = 'use a number with an optional unit s, m, h or d (or ms), e.g. 30s, 10m, 1.5h, or inf for no limit';

/** A duration in seconds (float). Numbers are taken as seconds already. */
export function parseDuration(s: string | number): number {
  if (typeof s === 'number') {
    if (Number.isNaN(s) || s < 0) throw invalid(`invalid duration ${s}: must be a number of seconds >= 0; ${HINT}`);
    return s;
  }
  if (typeof s !== 'string') throw invalid(`invalid duration: expected a string or number (got ${typeof s}); ${HINT}`);
  const text = s.trim();
  if (INFINITE.test(text)) return Infinity;
  if (text.startsWith('-')) throw invalid(`invalid duration "${s}": must not be negative; ${HINT}`);
  const m = FSD.exec(text);
  if (!m) throw invalid(`invalid duration "${s}": ${HINT}`);
  const suffix = m[2];
  const number = suffix === undefined ? text : text.slice(0, text.length - suffix.length);
  const value = Number(number) * (suffix === undefined ? 1 : (UNITS[suffix] ?? 1));
  if (!Number.isFinite(value)) throw invalid(`invalid duration "${s}": too large; use inf for no limit`);
  return value;
}

// Largest first; a unit is used only when the value is >= 1 of it.
const FORMAT_UNITS: readonly (readonly [string, number])[] = [
  ['d', 86400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
];

/** Whether `v` has at most one decimal (up to float noise). */
function oneDecimal(v: number): boolean {
  const t = v * 10;
  return Math.abs(t - Math.round(t)) <= 1e-9 * Math.abs(t);
}

/**
 * Short human form: the largest unit in which the value is an integer or has
 * one decimal ("30s", "10m", "1.5h", "2d"); "0s" for zero, "inf" for Infinity.
 * Values no unit expresses that way are given in plain seconds ("0.25s",
 * "4444.44s"), which `parseDuration` reads back exactly.
 */
export function formatDuration(seconds: number): string {
  if (Number.isNaN(seconds) || seconds < 0) {
    throw invalid(`cannot format duration ${seconds}: must be a number of seconds >= 0`);
  }
  if (seconds === Infinity) return 'inf';
  if (seconds === 0) return '0s';
  for (const [suffix, mult] of FORMAT_UNITS) {
    const v = seconds / mult;
    if (v >= 1 && oneDecimal(v)) return `${Math.round(v * 10) / 10}${suffix}`;
  }
  if (oneDecimal(seconds)) return `${Math.round(seconds * 10) / 10}s`;
  return `${seconds}s`;
}
