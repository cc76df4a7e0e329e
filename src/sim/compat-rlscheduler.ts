/**
 * `--compat rlscheduler`: the evaluation setup of Zhang et al., "RLScheduler"
 * (SC20), reproduced step for step so that the event engine is pinned to a
 * published oracle. Deliberately separate from the real policies in
 * src/sched: its "backfilling" is the paper's (shadow time computed once, a
 * strict "ends before the shadow time" test, no extra-processors rule), its
 * clock advances one event at a time while the head waits, and its queues are
 * re-sorted with a stable sort exactly where the reference code sorts them, so
 * that ties resolve the same way.
 */
import { invalid } from '../errors/index.js';
import type { SwfTrace } from './swf.js';

/** Window start indices (0-based, in the filtered list) and length. */
export const RLS_WINDOWS: readonly number[] = [1981, 2756, 4299, 8850, 3316, 2714, 5228, 7762, 4022, 7085];
export const RLS_WINDOW_SIZE = 1024;

export type RlsPolicy = 'fcfs' | 'sjf';

export interface RlsJob {
  id: number;
  submit: number;
  run: number;
  procs: number;
  /** Requested time (the estimate). */
  request: number;
}

export interface RlsWorkload {
  jobs: RlsJob[];
  /** MaxProcs, else MaxNodes. */
  procs: number;
}

export interface RlsResult {
  windows: { start: number; bsld: number }[];
  mean: number;
}

/** Loads a trace with the reference's rules (see docs/validation.md). */
export function rlsWorkload(trace: SwfTrace): RlsWorkload {
  const procs = trace.header.maxProcs ?? trace.header.maxNodes;
  if (procs === undefined) throw invalid(`${trace.name}: the header gives neither MaxProcs nor MaxNodes, which --compat rlscheduler needs for the machine size`);
  const jobs: RlsJob[] = [];
  for (const r of trace.jobs) {
    const request = r.reqTime === -1 ? r.run : r.reqTime;
    const run = r.run < 0 ? 10 : r.run;
    if (run === 0) continue;
    jobs.push({ id: r.id, submit: r.submit, run, procs: Math.max(r.allocProcs, r.reqProcs), request });
  }
  jobs.sort((a, b) => a.id - b.id);
  return { jobs, procs };
}

interface Live extends RlsJob {
  scheduled: number;
}

const fcfsCmp = (a: Live, b: Live) => a.submit - b.submit;
const sjfCmp = (a: Live, b: Live) => a.request - b.request || a.submit - b.submit;
const byRealEnd = (a: Live, b: Live) => a.scheduled + a.run - (b.scheduled + b.run);
const byEstimatedEnd = (a: Live, b: Live) => a.scheduled + a.request - (b.scheduled + b.request);

/** Mean bounded slowdown of one window of `size` jobs from index `first`. */
export function rlsWindow(w: RlsWorkload, first: number, policy: RlsPolicy, backfill: boolean, size = RLS_WINDOW_SIZE): number {
  if (first < 0 || first + size > w.jobs.length) {
    throw invalid(`the trace has ${w.jobs.length} jobs after the rlscheduler filtering; a window at index ${first} needs ${first + size}`);
  }
  const jobs: Live[] = w.jobs.slice(first, first + size).map((j) => ({ ...j, scheduled: -1 }));
  const cmp = policy === 'sjf' ? sjfCmp : fcfsCmp;
  let free = w.procs;
  let now = jobs[0]!.submit;
  let next = 1;
  const queue: Live[] = [jobs[0]!];
  const running: Live[] = [];
  let total = 0;

  const take = (j: Live) => {
    j.scheduled = now;
    free -= j.procs;
    running.push(j);
    // The reference divides each job's score by the window size, then sums in scheduling order.
    total += Math.max(1, (j.scheduled - j.submit + j.run) / Math.max(j.run, 10)) / size;
    queue.splice(queue.indexOf(j), 1);
  };
  // One event: enqueue the next arrival if it comes no later than the next end, else release that job.
  const step = (head: Live) => {
    if (running.length === 0) {
      throw invalid(`job ${head.id} needs ${head.procs} processors but the machine has ${w.procs}: the rlscheduler setup cannot place it`);
    }
    running.sort(byRealEnd);
    const r = running[0]!;
    const release = r.scheduled + r.run;
    const a = next < jobs.length ? jobs[next]! : undefined;
    if (a !== undefined && a.submit <= release) {
      now = Math.max(now, a.submit);
      queue.push(a);
      next++;
    } else {
      now = Math.max(now, release);
      free += r.procs;
      running.shift();
    }
  };

  for (;;) {
    queue.sort(cmp);
    const head = queue[0]!;
    if (!(head.procs <= free)) {
      if (backfill) {
        // Shadow time, computed once: walk running jobs by estimated end until the head fits.
        running.sort(byEstimatedEnd);
        let shadow = now;
        let avail = free;
        for (const r of running) {
          avail += r.procs;
          shadow = r.scheduled + r.request;
          if (avail >= head.procs) break;
        }
        while (!(head.procs <= free)) {
          queue.sort(fcfsCmp);
          for (const j of [...queue]) {
            if (now + j.request < shadow && j.procs <= free) take(j);
          }
          step(head);
        }
      } else {
        while (!(head.procs <= free)) step(head);
      }
    }
    take(head);
    if (queue.length > 0) continue;
    if (next >= jobs.length) break;
    // Queue empty: move forward until a job arrives.
    while (queue.length === 0) {
      let release = Infinity;
      if (running.length > 0) {
        running.sort(byRealEnd);
        release = running[0]!.scheduled + running[0]!.run;
      }
      const a = jobs[next]!;
      if (a.submit <= release) {
        now = Math.max(now, a.submit);
        queue.push(a);
        next++;
      } else {
        now = Math.max(now, release);
        free += running[0]!.procs;
        running.shift();
      }
    }
  }
  return total;
}

/** The ten windows and their mean. */
export function runRlscheduler(trace: SwfTrace, policy: RlsPolicy, backfill: boolean): RlsResult {
  const w = rlsWorkload(trace);
  const last = Math.max(...RLS_WINDOWS) + RLS_WINDOW_SIZE;
  if (w.jobs.length < last) {
    throw invalid(`${trace.name} has ${w.jobs.length} jobs after the rlscheduler filtering; its ten windows need at least ${last}`);
  }
  const windows = RLS_WINDOWS.map((start) => ({ start, bsld: rlsWindow(w, start, policy, backfill) }));
  let sum = 0;
  for (const x of windows) sum += x.bsld;
  return { windows, mean: sum / windows.length };
}
