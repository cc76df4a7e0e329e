/**
 * From SWF records to simulator jobs, with the choices every simulator has to
 * make about missing values written down in one place (docs/scheduling.md):
 * processors = allocated, else requested; jobs that never ran (run time < 0)
 * or ask for no processors are dropped; the estimate is the requested time,
 * else the run time; `exact` estimates use the run time.
 */
import { invalid } from '../errors/index.js';
import type { SwfTrace } from './swf.js';

export interface SimJob {
  /** The trace's job number (for the CSV); the simulator identifies jobs by position. */
  id: number;
  submit: number;
  procs: number;
  /** Actual run time in the trace. */
  run: number;
  /** Time limit used by the scheduler (the run time estimate). */
  estimate: number;
}

export type EstimateKind = 'user' | 'exact';
export const ESTIMATE_KINDS: readonly EstimateKind[] = ['user', 'exact'];

export interface WorkloadOptions {
  /** `user`: the requested time (default); `exact`: the actual run time. */
  estimates?: EstimateKind;
}

export interface Workload {
  jobs: SimJob[];
  /** Jobs left out, by reason. */
  dropped: Map<string, number>;
  /** Processors of the machine from the header: MaxProcs, else MaxNodes, else the largest job. */
  maxProcs: number;
  /** Where maxProcs came from. */
  maxProcsFrom: 'MaxProcs' | 'MaxNodes' | 'largest job';
}

export function parseEstimateKind(v: string): EstimateKind {
  if (v === 'user' || v === 'exact') return v;
  throw invalid(`--estimates must be "user" (requested times) or "exact" (run times), not "${v}"`);
}

export function toWorkload(trace: SwfTrace, opts: WorkloadOptions = {}): Workload {
  const exact = (opts.estimates ?? 'user') === 'exact';
  const jobs: SimJob[] = [];
  const dropped = new Map<string, number>();
  const drop = (why: string) => dropped.set(why, (dropped.get(why) ?? 0) + 1);
  let largest = 0;
  for (const r of trace.jobs) {
    const procs = r.allocProcs > 0 ? r.allocProcs : r.reqProcs;
    if (r.run < 0) { drop('no run time (never ran)'); continue; }
    if (!(procs > 0)) { drop('no processor count'); continue; }
    const estimate = exact ? r.run : r.reqTime > 0 ? r.reqTime : r.run;
    jobs.push({ id: r.id, submit: r.submit, procs: Math.ceil(procs), run: r.run, estimate });
    if (procs > largest) largest = procs;
  }
  const h = trace.header;
  if (h.maxProcs !== undefined) return { jobs, dropped, maxProcs: h.maxProcs, maxProcsFrom: 'MaxProcs' };
  if (h.maxNodes !== undefined) return { jobs, dropped, maxProcs: h.maxNodes, maxProcsFrom: 'MaxNodes' };
  return { jobs, dropped, maxProcs: Math.max(1, Math.ceil(largest)), maxProcsFrom: 'largest job' };
}
