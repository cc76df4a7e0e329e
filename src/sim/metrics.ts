/**
 * Metrics of a simulated schedule: wait time, bounded slowdown
 * max(1, (wait + run) / max(run, 10 s)), utilization and makespan, plus the
 * per-job CSV. Pure functions over a SimResult.
 */
import type { SimResult } from './engine.js';

/** The threshold (seconds) of bounded slowdown: shorter jobs count as this long. */
export const BSLD_TAU = 10;

export function boundedSlowdown(wait: number, run: number, tau = BSLD_TAU): number {
  return Math.max(1, (wait + run) / Math.max(run, tau));
}

export interface Distribution {
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export interface Metrics {
  jobs: number;
  /** Jobs killed at their time limit. */
  killed: number;
  /** First submit to last end, in seconds. */
  makespan: number;
  /** Core-seconds used / (cores x makespan). */
  utilization: number;
  wait: Distribution;
  bsld: Distribution;
}

/** Nearest-rank percentile of sorted values (q in [0, 1]). */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[k]!;
}

export function distribution(values: Float64Array): Distribution {
  const n = values.length;
  if (n === 0) return { mean: NaN, p50: NaN, p90: NaN, p95: NaN, p99: NaN, max: NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const s = Float64Array.from(values).sort();
  return { mean: sum / n, p50: percentile(s, 0.5), p90: percentile(s, 0.9), p95: percentile(s, 0.95), p99: percentile(s, 0.99), max: s[n - 1]! };
}

/** Per-job wait, run and bounded slowdown. */
export function perJob(r: SimResult): { wait: Float64Array; run: Float64Array; bsld: Float64Array } {
  const n = r.jobs.length;
  const wait = new Float64Array(n), run = new Float64Array(n), bsld = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    wait[i] = r.start[i]! - r.jobs[i]!.submit;
    run[i] = r.end[i]! - r.start[i]!;
    bsld[i] = boundedSlowdown(wait[i]!, run[i]!);
  }
  return { wait, run, bsld };
}

export function computeMetrics(r: SimResult): Metrics {
  const n = r.jobs.length;
  const { wait, run, bsld } = perJob(r);
  let first = Infinity, last = -Infinity, area = 0, killed = 0;
  for (let i = 0; i < n; i++) {
    const j = r.jobs[i]!;
    if (j.submit < first) first = j.submit;
    if (r.end[i]! > last) last = r.end[i]!;
    area += j.procs * run[i]!;
    killed += r.killed[i]!;
  }
  const makespan = n > 0 ? last - first : 0;
  return {
    jobs: n,
    killed,
    makespan,
    utilization: makespan > 0 ? area / (r.capacity * makespan) : 0,
    wait: distribution(wait),
    bsld: distribution(bsld),
  };
}

/** The per-job CSV: id,submit,start,end,procs,estimate,run,wait,bsld,killed (in trace order). */
export function jobsCsv(r: SimResult): string {
  const { wait, run, bsld } = perJob(r);
  const lines = ['id,submit,start,end,procs,estimate,run,wait,bsld,killed'];
  for (let i = 0; i < r.jobs.length; i++) {
    const j = r.jobs[i]!;
    lines.push(`${j.id},${j.submit},${r.start[i]},${r.end[i]},${j.procs},${j.estimate},${run[i]},${wait[i]},${round(bsld[i]!)},${r.killed[i]}`);
  }
  return lines.join('\n') + '\n';
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
