/**
 * What `fractal pstree` and `fractal top` show of one instance: its size and
 * use (from `sched.status`), its jobs by state (`job-manager.stats`, O(1) on
 * the broker), its start time (`broker.info`), and which of its running jobs
 * run a nested instance (`JobInfo.uri`). The RPCs of one instance go out
 * together; a level's children are asked in parallel.
 */
import { connect, isJobPath, type Fractal } from '../api/index.js';
import { ErrorCodes, FractalError, invalid } from '../errors/index.js';
import { globalUri, open } from './util.js';
import type { JobInfo } from '../protocol/index.js';

export interface Usage {
  nodes: number;
  cores: number;
  gpus: number;
  coresUsed: number;
  gpusUsed: number;
  /** Nodes up and not drained, down, and up but drained: they add up to `nodes`. */
  up: number;
  down: number;
  drained: number;
}

/** Jobs by state group, as users count them: pending (NEW..SCHED), running (RUN, CLEANUP), done (INACTIVE). */
export interface JobCounts {
  pending: number;
  run: number;
  done: number;
}

export interface Snapshot {
  usage: Usage;
  jobs: JobCounts;
  /** Broker start, epoch seconds (absent from brokers older than this field). */
  tStart: number | undefined;
  /** When the snapshot was taken, epoch seconds. */
  t: number;
}

interface SchedRank { ncores: number; ngpus: number; freeCores: number; freeGpus: number; up: boolean; drained: boolean }

/** Rejects with a TIMEOUT error if `p` takes longer than `ms` (an instance that hangs is shown as such). */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FractalError(ErrorCodes.TIMEOUT, `${what} did not answer within ${Math.round(ms / 1000)}s`)), ms);
    // Only a guard: it must not keep a command alive that has nothing else to wait for.
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function usageOf(ranks: SchedRank[]): Usage {
  const u: Usage = { nodes: ranks.length, cores: 0, gpus: 0, coresUsed: 0, gpusUsed: 0, up: 0, down: 0, drained: 0 };
  for (const r of ranks) {
    u.cores += r.ncores;
    u.gpus += r.ngpus;
    u.coresUsed += r.ncores - r.freeCores;
    u.gpusUsed += r.ngpus - r.freeGpus;
    if (!r.up) u.down++;
    else if (r.drained) u.drained++;
    else u.up++;
  }
  return u;
}

export function countsOf(stats: { counts: Record<string, number>; inactive?: number }): JobCounts {
  const c = stats.counts;
  const n = (k: string): number => c[k] ?? 0;
  return { pending: n('NEW') + n('DEPEND') + n('PRIORITY') + n('SCHED'), run: n('RUN') + n('CLEANUP'), done: stats.inactive ?? 0 };
}

/** One instance's size, use, job counts and start time, its RPCs in parallel. */
export async function snapshot(f: Fractal): Promise<Snapshot> {
  const [stats, sched, info] = await Promise.all([
    f.rpc<{ counts: Record<string, number>; inactive?: number }>('job-manager.stats'),
    f.rpc<{ ranks: SchedRank[] }>('sched.status'),
    f.rpc<{ t_start?: number }>('broker.info', {}, 0),
  ]);
  return { usage: usageOf(sched.ranks), jobs: countsOf(stats), tStart: info.t_start, t: Date.now() / 1000 };
}

/** Running jobs that run a nested instance whose URI is recorded, by id. */
export async function instanceJobs(f: Fractal): Promise<JobInfo[]> {
  const running = await f.list({ states: ['running'] });
  return running.filter((j) => j.uri).sort((a, b) => a.id - b.id);
}

/**
 * Connects to a nested instance's URI. A child that is still starting, or
 * that has just ended, answers with an error soon: nobody waits the API's
 * full start-up bound.
 */
export async function connectChild(uri: string, timeoutMs: number): Promise<Fractal> {
  return withTimeout(connect(uri, { startingTimeoutMs: Math.min(timeoutMs, 5000) }), timeoutMs, `the instance at ${uri}`);
}

/** Why a child instance could not be shown, in a few words. */
export function unreachable(e: unknown): string {
  const err = FractalError.from(e);
  if (err.code === ErrorCodes.STARTING) return 'starting';
  if (err.code === ErrorCodes.TIMEOUT) return 'not answering';
  return 'not answering (it may have just ended)';
}

/**
 * The instance a view starts at: the command's own `-r JOBPATH` (`fractal
 * top -r 12`), else the global `-r`/`--uri`, else the current one.
 */
export async function openStart(opts: Record<string, unknown>): Promise<{ f: Fractal; label: string; prefix: string }> {
  const local = opts['remote'];
  if (typeof local === 'string') {
    if (!isJobPath(local)) throw invalid(`-r "${local}" is not a job path: give a job id (12) or ids through nested instances (12/5)`);
    return { f: await connect(local), ...rootLabel(local) };
  }
  return { f: await open(), ...rootLabel(globalUri()) };
}

/** The label of the instance a command was pointed at: `.` (the current one), the job path of -r, or the URI of --uri. */
export function rootLabel(g: string | undefined): { label: string; prefix: string } {
  if (g === undefined) return { label: '.', prefix: '' };
  if (isJobPath(g)) return { label: g, prefix: g + '/' };
  return { label: g, prefix: '' };
}

/** "1 node", "2 nodes". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Box-drawing characters only where the terminal's locale is UTF-8 (LC_ALL, then LC_CTYPE, then LANG). */
export function utf8Locale(env: NodeJS.ProcessEnv = process.env): boolean {
  const loc = env['LC_ALL'] || env['LC_CTYPE'] || env['LANG'] || '';
  return /utf-?8/i.test(loc);
}
