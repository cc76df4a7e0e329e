/**
 * Jobs of nested instances by path, live or archived (docs/hierarchy.md).
 *
 * A path such as `12/5/3` is followed down from the current instance through
 * each running instance job's URI; where a job on the way has ended, its
 * instance's history is in the archive of the deepest instance still running
 * on the path, and the rest of the path is looked up there
 * (`archive.info`, `archive.eventlog`, `archive.list`).
 *
 *   const j = await jobInfoAt('12/5');          // live or archived
 *   const all = await listRecursive({ states: ['all'] });
 */
import { FractalError, ErrorCodes } from '../errors/index.js';
import type { ArchiveListRequest, JobEvent, JobInfo, ListRequest } from '../protocol/index.js';
export type { ArchiveListRequest };
import { connect, isJobPath, type ConnectOptions, type Fractal } from './client.js';

/** A job of any level, with its path from the instance the query started at (`12`, `12/5`). */
export type PathJobInfo = JobInfo & { path: string };

export interface JobInfoResponse {
  job: JobInfo | PathJobInfo;
  jobspec: unknown;
  R: unknown;
}

/**
 * Where a job path leads: to a live instance that has the job (`id` is the
 * last component), or to the archive of the deepest running instance on the
 * path (`rest` is the path relative to it, e.g. `5/3`). The caller closes
 * `instance`.
 */
export type JobLocation =
  | { kind: 'live'; instance: Fractal; id: number; path: string }
  | { kind: 'archived'; instance: Fractal; rest: string; path: string };

function badPath(path: string): FractalError {
  return new FractalError(ErrorCodes.INVALID_ARGUMENT, `"${path}" is not a job path: give job ids separated by "/", e.g. 12 or 12/5 (job 5 of the instance run by job 12)`);
}

/** Follows `path` from the instance `base` (a URI, a job path, or the default instance). */
export async function locateJob(path: string, opts: ConnectOptions = {}, base?: string): Promise<JobLocation> {
  if (!isJobPath(path)) throw badPath(path);
  const parts = path.split('/').map(Number);
  let f = await connect(base, opts);
  try {
    for (let i = 0; i < parts.length - 1; i++) {
      const at = parts.slice(0, i + 1).join('/');
      const info = await f.info(parts[i]!).catch((e: unknown) => { throw missing(e, parts, i); });
      const archived = { kind: 'archived' as const, instance: f, rest: parts.slice(i).join('/'), path };
      if (info.job.state === 'INACTIVE') return archived;
      if (!info.job.uri) throw new FractalError(ErrorCodes.NOT_FOUND, `job ${at} runs no nested instance (it is ${info.job.state}${info.job.state === 'RUN' ? ', or its instance is still starting' : ''}), so it has no job ${path}`);
      let next: Fractal;
      try {
        next = await connect(info.job.uri, opts);
      } catch {
        // Its instance has just ended (the job is cleaning up): its history goes to this level's archive.
        return archived;
      }
      f.close();
      f = next;
    }
    return { kind: 'live', instance: f, id: parts[parts.length - 1]!, path };
  } catch (e) {
    f.close();
    throw e;
  }
}

/** A job not found at level `i` of the path: named by its path ("no job 12/9: the instance of job 12 has no job 9"). */
function missing(e: unknown, parts: number[], i: number): unknown {
  if (i === 0 || !(e instanceof FractalError) || e.code !== ErrorCodes.NOT_FOUND) return e;
  const above = parts.slice(0, i).join('/');
  return new FractalError(ErrorCodes.NOT_FOUND, `no job ${parts.slice(0, i + 1).join('/')}: the instance of job ${above} has no job ${parts[i]} (list its jobs with \`fractal jobs -r ${above} -a\`)`);
}

export function archiveInfo(f: Fractal, path: string): Promise<JobInfoResponse> {
  return f.rpc('archive.info', { path });
}

export async function archiveEventlog(f: Fractal, path: string): Promise<JobEvent[]> {
  return (await f.rpc<{ events: JobEvent[] }>('archive.eventlog', { path })).events;
}


/** Archived jobs; `truncated` when there were more than one answer holds without a limit (10,000: give a limit). */
export async function archiveList(f: Fractal, req: ArchiveListRequest = {}): Promise<PathJobInfo[] & { truncated?: boolean }> {
  const r = await f.rpc<{ jobs: PathJobInfo[]; truncated?: boolean }>('archive.list', req);
  return r.truncated ? Object.assign(r.jobs, { truncated: true }) : r.jobs;
}

/** An archived job not found, named by the whole path asked for (the archive names it relative to its instance). */
function notArchived(e: unknown, loc: { rest: string; path: string }): unknown {
  if (!(e instanceof FractalError) || e.code !== ErrorCodes.NOT_FOUND || loc.rest === loc.path) return e;
  const at = loc.path.slice(0, loc.path.length - loc.rest.length - 1);
  return new FractalError(ErrorCodes.NOT_FOUND, `no job ${loc.path}: in the archive of the instance run by job ${at}, ${e.message}`);
}

/** `fractal job info PATH`: the job's record, jobspec and R, from its live instance or from the archive. */
export async function jobInfoAt(path: string, opts: ConnectOptions = {}, base?: string): Promise<JobInfoResponse> {
  const loc = await locateJob(path, opts, base);
  try {
    if (loc.kind === 'live') return await loc.instance.info(loc.id).catch((e: unknown) => { throw missing(e, path.split('/').map(Number), path.split('/').length - 1); });
    const r = await archiveInfo(loc.instance, loc.rest).catch((e: unknown) => { throw notArchived(e, loc); });
    return { ...r, job: { ...r.job, path } };
  } finally {
    loc.instance.close();
  }
}

/** `fractal job eventlog PATH`: each event of the job's log; `follow` only for jobs still live. */
export async function eventlogAt(path: string, onEvent: (ev: JobEvent) => void, follow = false, opts: ConnectOptions = {}, base?: string): Promise<void> {
  const loc = await locateJob(path, opts, base);
  try {
    if (loc.kind === 'live') return await loc.instance.watch(loc.id, onEvent, follow).catch((e: unknown) => { throw missing(e, path.split('/').map(Number), path.split('/').length - 1); });
    const evs = await archiveEventlog(loc.instance, loc.rest).catch((e: unknown) => { throw notArchived(e, loc); });
    for (const ev of evs) onEvent(ev);
  } finally {
    loc.instance.close();
  }
}

export interface RecursiveListRequest extends Omit<ListRequest, 'ids'> {
  /** Levels to list: 1 = only this instance; absent = every level. */
  level?: number;
  /** Told of each archive that had more jobs than one answer holds without a limit (its path, '' for this instance). */
  onTruncated?: (path: string) => void;
}

const SHOWS_INACTIVE = new Set(['inactive', 'all']);
const SHOWS_RUNNING = new Set(['run', 'running', 'active', 'all']);

/**
 * Jobs of this instance and of every nested instance below it, each with its
 * path: running instances are asked live (through their jobs' URIs); with
 * inactive states, ended instances' jobs come from the archives. An instance
 * that ends while it is being listed is skipped (its jobs move to the archive).
 */
export async function listRecursive(req: RecursiveListRequest = {}, opts: ConnectOptions = {}, base?: string): Promise<PathJobInfo[]> {
  const { level, onTruncated, ...list } = req;
  if (level !== undefined && (!Number.isInteger(level) || level < 1)) throw new FractalError(ErrorCodes.INVALID_ARGUMENT, `level must be an integer >= 1 (1: only this instance), got ${JSON.stringify(level)}`);
  const states = (list.states ?? ['active']).map((s) => s.toLowerCase());
  const out: PathJobInfo[] = [];
  const walk = async (f: Fractal, prefix: string, at: number): Promise<void> => {
    const jobs = await f.list(list);
    for (const j of jobs) out.push({ ...j, path: prefix + String(j.id) });
    if (level !== undefined && at >= level) return;
    if (states.some((s) => SHOWS_INACTIVE.has(s))) {
      // This instance's archive holds the jobs of its ended children, at its levels 2 and below.
      const a = await archiveList(f, {
        states: list.states ?? ['active'], ...(level !== undefined ? { depth: level - at + 1 } : {}),
        ...(list.userid !== undefined ? { userid: list.userid } : {}), ...(list.limit ? { limit: list.limit } : {}),
      });
      for (const j of a) out.push({ ...j, path: prefix + j.path });
      if (a.truncated) onTruncated?.(prefix.replace(/\/$/, ''));
    }
    const running = states.some((s) => SHOWS_RUNNING.has(s)) ? jobs : await f.list({ ...list, states: ['running'], limit: 0 });
    for (const j of running) {
      if (!j.uri || (j.state !== 'RUN' && j.state !== 'CLEANUP')) continue;
      let c: Fractal;
      try {
        c = await connect(j.uri, opts);
      } catch {
        continue; // it has just ended
      }
      try {
        await walk(c, `${prefix}${j.id}/`, at + 1);
      } catch (e) {
        if (!(e instanceof FractalError) || (e.code !== ErrorCodes.CONNECTION && e.code !== ErrorCodes.STARTING)) throw e;
      } finally {
        c.close();
      }
    }
  };
  const f = await connect(base, opts);
  try {
    await walk(f, '', 1);
  } finally {
    f.close();
  }
  return out;
}
