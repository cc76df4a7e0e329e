/**
 * Sizes and limits of the wire: the largest frame a connection accepts (an
 * instance option, `-o max-frame=SIZE`), the much smaller limit before an
 * overlay peer has authenticated, and byte sizes as users write them.
 */
import { invalid } from '../errors/index.js';

/** The hard ceiling of the format (and what a client accepts from the instance it chose to talk to). */
export const MAX_FRAME = 256 * 1024 * 1024;
/** Default for frames a broker accepts: far above any real message (job lists, jobspecs), far below MAX_FRAME. */
export const DEFAULT_MAX_FRAME = 64 * 1024 * 1024;
/** Before an overlay peer's hello succeeded: the hello is ~150 bytes. */
export const PREAUTH_MAX_FRAME = 4096;

const limits = {
  maxFrame: DEFAULT_MAX_FRAME,
  log: (msg: string): void => { process.stderr.write(`fractal: ${msg}\n`); },
};

/** Process-wide settings for accepted connections (a broker sets them from its options at start). */
export function setFrameLimits(o: { maxFrame?: number | undefined; log?: ((msg: string) => void) | undefined }): void {
  if (o.maxFrame !== undefined) limits.maxFrame = o.maxFrame;
  if (o.log) limits.log = o.log;
}

export function defaultMaxFrame(): number {
  return limits.maxFrame;
}

export function protocolLog(msg: string): void {
  limits.log(msg);
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4 };

/** `1G`, `512K`, `64MiB`, `1048576` → bytes (binary units). */
export function parseSize(s: string | number, what = 'size'): number {
  if (typeof s === 'number') {
    if (Number.isSafeInteger(s) && s > 0) return s;
    throw invalid(`${what}: ${s} is not a positive whole number of bytes`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(s);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw invalid(`${what}: "${s}" is not a size; write e.g. 1G, 512M, 64K or a number of bytes`);
  return n;
}

/** 1073741824 → "1 GiB", 1536 → "1.5 KiB". */
export function formatSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
