/**
 * One frame of `fractal top`, as lines of text: a header (the instance, its
 * use, jobs by state, throughput, uptime), then the jobs, running first, then
 * pending. Pure: the same frame is printed once (`--once`, not a terminal)
 * or drawn again and again on the alternate screen.
 */
import type { JobInfo } from '../protocol/index.js';
import { safeText } from './safe-text.js';
import { shortDuration, username } from './util.js';
import type { Snapshot } from './instance-view.js';

export interface Frame {
  /** The instance's label: `.`, a job path (`12/5`), or a URI. */
  label: string;
  uri: string;
  snap: Snapshot;
  /** The previous frame's snapshot of the same instance, for the throughput. */
  prev: Snapshot | undefined;
  /** Running jobs, then pending ones, in display order. */
  jobs: JobInfo[];
  /** Index of the selected job in `jobs` (-1: none shown, as in plain output). */
  selected: number;
  message: string;
  /** Terminal size; undefined for plain output (no truncation, no selection, no key help). */
  size: { columns: number; rows: number } | undefined;
}

const ST: Record<string, string> = { NEW: 'N', DEPEND: 'D', PRIORITY: 'P', SCHED: 'S', RUN: 'R', CLEANUP: 'C' };

/** Running first (oldest first), then pending by priority, as a queue is read. */
export function orderJobs(running: JobInfo[], pending: JobInfo[]): JobInfo[] {
  return [
    ...[...running].sort((a, b) => a.id - b.id),
    ...[...pending].sort((a, b) => b.priority - a.priority || a.id - b.id),
  ];
}

/** Jobs finished per second between two snapshots; undefined on the first frame (or after a restart of the counter). */
export function throughput(snap: Snapshot, prev: Snapshot | undefined): number | undefined {
  if (!prev || snap.t <= prev.t || snap.jobs.done < prev.jobs.done) return undefined;
  return (snap.jobs.done - prev.jobs.done) / (snap.t - prev.t);
}

function header(f: Frame): string[] {
  const s = f.snap;
  const u = s.usage;
  const rate = throughput(s, f.prev);
  const where = f.label === f.uri ? safeText(f.uri) : `${safeText(f.label)} (${safeText(f.uri)})`;
  const uptime = s.tStart !== undefined ? `   uptime ${shortDuration(Math.max(0, s.t - s.tStart))}` : '';
  return [
    `fractal top: ${where}${uptime}`,
    `cores ${u.coresUsed}/${u.cores} used   gpus ${u.gpusUsed}/${u.gpus} used   nodes ${u.up} up ${u.down} down ${u.drained} drained`,
    `jobs ${s.jobs.run} run ${s.jobs.pending} pending ${s.jobs.done} done   throughput ${rate === undefined ? '-' : rate.toFixed(1)} jobs/s`,
  ];
}

const COLUMNS = `  ${'JOBID'.padStart(7)} ${'USER'.padEnd(8)} ${'NAME'.padEnd(12)} ST ${'NNODES'.padStart(6)} ${'NCORES'.padStart(6)} ${'RUNTIME'.padStart(8)}`;

function jobLine(j: JobInfo, now: number): string {
  const runtime = j.t_run !== undefined && j.t_run !== null ? shortDuration(Math.max(0, now - j.t_run)) : '-';
  // `+`: the job runs a nested instance (Enter shows it).
  return `${j.uri ? '+' : ' '} ${String(j.id).padStart(7)} ${safeText(username(j.userid)).slice(0, 8).padEnd(8)} ${safeText(j.name).slice(0, 12).padEnd(12)} ${(ST[j.state] ?? j.state).padEnd(2)} ${String(j.nnodes).padStart(6)} ${String(j.ncores).padStart(6)} ${runtime.padStart(8)}`;
}

/** The frame's lines. On a terminal: cut to its size, the selected job in reverse video, kept in view. */
export function renderFrame(f: Frame): string[] {
  const lines = header(f);
  lines.push('', COLUMNS);
  const now = f.snap.t;
  if (!f.size) {
    for (const j of f.jobs) lines.push(jobLine(j, now));
    if (f.message) lines.push('', f.message);
    return lines;
  }
  const footer = f.message || 'up/down select   Enter open a + job\'s instance   Backspace back   q quit';
  const room = Math.max(1, f.size.rows - lines.length - 1);
  const first = f.selected < room ? 0 : f.selected - room + 1;
  const cut = (s: string): string => s.slice(0, f.size!.columns);
  for (let i = first; i < Math.min(f.jobs.length, first + room); i++) {
    const text = cut(jobLine(f.jobs[i]!, now));
    lines.push(i === f.selected ? `\x1b[7m${text.padEnd(Math.min(f.size.columns, COLUMNS.length))}\x1b[0m` : text);
  }
  while (lines.length < f.size.rows - 1) lines.push('');
  lines.push(cut(footer));
  return lines.map((l) => (l.startsWith('\x1b[7m') ? l : cut(l)));
}
