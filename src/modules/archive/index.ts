/**
 * archive: keeps the history of nested instances (docs/hierarchy.md). When a
 * job that ran an instance has ended (exec tells us with `archive.collect`,
 * after the job's end is durable), the child's database in its state
 * directory (`<statedir>/jobs/<id>/fractal.db`) is copied into this
 * instance's store under the job's id, then the child's directory is
 * removed. At start, directories of jobs that are no longer active (ended
 * while this broker was down, or whose archive failed) are collected too.
 *
 * Queries: `archive.list` (jobs under a path, with states, limit, depth),
 * `archive.info` and `archive.eventlog` (one job by path, e.g. `12/5`).
 *
 * A module of its own rather than more of the job manager: it owns no job
 * life cycle, only reads and fills the archive tables, and the job manager
 * is already the largest module (SEAMS.md asks to split it, not grow it).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import type { ArchiveListRequest, JobInfo, JobStateName } from '../../protocol/index.js';
import type { ArchivedJob, Store } from '../../store/index.js';
import { shortRunDir, type BrokerModule, type ModuleContext } from '../../service/index.js';

/** Retry delays of an archive that failed (full disk, child still running): from 5 s, doubling, at most 5 min. */
const RETRY_FIRST_MS = 5000;
const RETRY_MAX_MS = 300_000;

/** Archived jobs in one `archive.list` answer without a limit (a larger `limit` is the caller's choice). */
export const LIST_MAX = 10000;

const PATH_RE = /^\d+(\/\d+)*$/;
const STATE_WORDS = new Set(['new', 'depend', 'priority', 'sched', 'run', 'cleanup', 'inactive', 'pending', 'running', 'active', 'all']);


/** An archived job as clients see it: a JobInfo with its path (`12/5`). */
export type ArchivedJobInfo = JobInfo & { path: string };

export class Archive implements BrokerModule {
  readonly name = 'archive';
  readonly ranks = 'leader' as const;
  private ctx!: ModuleContext;
  private store!: Store;
  /** Job ids waiting to be archived, in order; `queued` has the same ids. */
  private readonly queue: Array<{ id: number; dir: string }> = [];
  private readonly queued = new Set<number>();
  private running = false;
  private readonly retries = new Map<number, { timer: NodeJS.Timeout; delay: number }>();
  private stopping = false;
  /** Archives done since start (tests and logs). */
  archived = 0;

  start(ctx: ModuleContext): void {
    if (!ctx.store) throw new Error('archive needs the instance store (rank 0)');
    this.ctx = ctx;
    this.store = ctx.store;
    ctx.register([
      { topic: 'archive.collect', internal: true, handler: (r) => this.collect(r.payload as { id?: unknown; dir?: unknown }) },
      { topic: 'archive.list', handler: (r) => this.list((r.payload ?? {}) as ArchiveListRequest) },
      { topic: 'archive.info', handler: (r) => this.info(r.payload as { path?: unknown }) },
      { topic: 'archive.eventlog', handler: (r) => this.eventlog(r.payload as { path?: unknown }) },
    ]);
    void this.scan();
  }

  stop(): void {
    this.stopping = true;
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
  }

  /** At start: child directories of jobs that are not active any more are archived now. */
  private async scan(): Promise<void> {
    const jobsDir = join(this.ctx.broker.statedir, 'jobs');
    let names: string[];
    try {
      names = await readdir(jobsDir);
    } catch {
      return; // no nested instance ever ran here
    }
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const id = Number(name);
      const rec = this.store.getJob(id);
      if (rec && rec.state !== 'INACTIVE') continue; // exec collects it when it ends
      this.enqueue(id, join(jobsDir, name));
    }
  }

  private collect(p: { id?: unknown; dir?: unknown }): unknown {
    if (!Number.isSafeInteger(p?.id) || (p.id as number) <= 0) throw invalid('archive.collect needs {id: a job id, dir: its instance directory}');
    if (typeof p.dir !== 'string' || p.dir === '') throw invalid('archive.collect needs {id, dir: the job\'s instance directory}');
    this.enqueue(p.id as number, p.dir);
    return {};
  }

  private enqueue(id: number, dir: string): void {
    if (this.queued.has(id) || this.stopping) return;
    const r = this.retries.get(id);
    if (r) { clearTimeout(r.timer); this.retries.delete(id); }
    this.queued.add(id);
    this.queue.push({ id, dir });
    if (!this.running) void this.drain();
  }

  /** One archive at a time (the store attaches one child database at a time). */
  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.stopping) {
        const { id, dir } = this.queue.shift()!;
        this.queued.delete(id);
        let delay = 0;
        try {
          if (!(await this.one(id, dir))) delay = this.nextDelay(id);
        } catch (e) {
          delay = this.nextDelay(id);
          this.ctx.log(`cannot archive the instance of job ${id} (${dir}): ${(e as Error).message}; its directory is kept and archived again in ${Math.round(delay / 1000)}s`);
        }
        if (delay > 0 && !this.stopping) {
          const timer = setTimeout(() => { this.retries.delete(id); this.enqueue(id, dir); }, delay);
          timer.unref();
          this.retries.set(id, { timer, delay });
        } else {
          this.retries.delete(id);
        }
      }
    } finally {
      this.running = false;
    }
  }

  private nextDelay(id: number): number {
    const prev = this.retries.get(id)?.delay;
    return prev === undefined ? RETRY_FIRST_MS : Math.min(RETRY_MAX_MS, prev * 2);
  }

  /** Archives one child directory; false when it must wait (an instance in it still answers). */
  private async one(id: number, dir: string): Promise<boolean> {
    const dirs: string[] = [];
    if (!(await this.tree(String(id), dir, dirs))) return false;
    // Only once the copies are committed: the child's files, and the short socket directories its brokers may have made.
    await rm(dir, { recursive: true, force: true });
    for (const d of dirs) await rm(shortRunDir(d), { recursive: true, force: true });
    return true;
  }

  /**
   * Archives the instance whose state directory is `dir` under `prefix`,
   * and first the directories of its own nested instances that it had not
   * archived itself (it was killed before their jobs ended): those would
   * otherwise be removed with it. False when one of them still answers.
   */
  private async tree(prefix: string, dir: string, dirs: string[]): Promise<boolean> {
    dirs.push(dir);
    const db = join(dir, 'fractal.db');
    if (!existsSync(db)) return true;
    if (await instanceAlive(dir)) {
      this.ctx.log(`the instance of job ${prefix} still answers at its URI although its job ended; archiving it later`);
      return false;
    }
    let subs: string[] = [];
    try { subs = await readdir(join(dir, 'jobs')); } catch { /* it ran no nested instance */ }
    for (const s of subs) {
      if (/^\d+$/.test(s) && !(await this.tree(`${prefix}/${s}`, join(dir, 'jobs', s), dirs))) return false;
    }
    const t0 = Date.now();
    const r = await this.store.archiveChild(prefix, db);
    this.archived++;
    // Said only when it took long enough to notice (the broker's log is the terminal of `fractal start`).
    const ms = Date.now() - t0;
    if (ms >= 1000) this.ctx.log(`kept the history of job ${prefix}'s instance: ${r.jobs} job(s), ${r.nested} of deeper levels (${ms} ms)`);
    return true;
  }

  // ---- queries ------------------------------------------------------------------

  private list(p: ArchiveListRequest): unknown {
    const path = p.path ?? '';
    if (typeof path !== 'string' || (path !== '' && !PATH_RE.test(path))) throw invalid(`path must be a job path such as "12" or "12/5" (got ${JSON.stringify(p.path)})`);
    if (p.depth !== undefined && (!Number.isInteger(p.depth) || p.depth < 1)) throw invalid(`depth must be an integer >= 1 (1: only the jobs of the instance the path names), got ${JSON.stringify(p.depth)}`);
    if (p.limit !== undefined && (!Number.isInteger(p.limit) || p.limit < 0)) throw invalid(`limit must be an integer >= 0 (0: no limit), got ${JSON.stringify(p.limit)}`);
    if (p.userid !== undefined && !Number.isInteger(p.userid)) throw invalid(`userid must be an integer, got ${JSON.stringify(p.userid)}`);
    if (p.states !== undefined && (!Array.isArray(p.states) || p.states.some((x) => typeof x !== 'string'))) throw invalid('states must be a list of state names, e.g. ["inactive"]');
    const states = (p.states ?? ['all']).map((s) => s.toLowerCase());
    const bad = states.find((s) => !STATE_WORDS.has(s));
    if (bad !== undefined) throw invalid(`unknown job state "${bad}": use new, depend, priority, sched, run, cleanup, inactive, or a group: pending, running, active, inactive, all`);
    // Archived jobs are all inactive: a filter without inactive jobs lists none.
    if (!states.includes('inactive') && !states.includes('all')) return { jobs: [] };
    // An archive may hold millions of jobs: without a limit, one answer holds at most LIST_MAX (and says so).
    const limit = p.limit ? p.limit : LIST_MAX + 1;
    const recs = this.store.archive.list({
      under: path, ...(p.depth !== undefined ? { depth: p.depth } : {}), ...(p.userid !== undefined ? { userid: p.userid } : {}), limit,
    });
    if (!p.limit && recs.length > LIST_MAX) return { jobs: recs.slice(0, LIST_MAX).map(toInfo), truncated: true };
    return { jobs: recs.map(toInfo) };
  }

  private lookup(p: { path?: unknown }): ArchivedJob {
    const path = p?.path;
    if (typeof path !== 'string' || !PATH_RE.test(path)) throw invalid(`path must be a job path such as "12/5" (got ${JSON.stringify(path)})`);
    if (!path.includes('/')) throw invalid(`"${path}" names a job of this instance, not an archived one: archived jobs have paths such as "${path}/1" (the jobs of the instance job ${path} ran)`);
    const j = this.store.archive.job(path);
    if (!j) {
      const parent = path.slice(0, path.lastIndexOf('/'));
      const why = this.store.archive.hasInstance(parent)
        ? `the instance job ${parent} ran had no job ${path.slice(parent.length + 1)}`
        : `no history of an instance run by job ${parent} is kept here (it ran none, or it is still running or being archived)`;
      throw new FractalError(ErrorCodes.NOT_FOUND, `no job ${path}: ${why}; list archived jobs with \`fractal jobs -a --recursive\``);
    }
    return j;
  }

  private info(p: { path?: unknown }): unknown {
    const j = this.lookup(p);
    let jobspec: unknown = null;
    try { jobspec = (JSON.parse(j.jobspec) as { jobspec?: unknown }).jobspec ?? null; } catch { /* an empty or old row */ }
    return { job: toInfo(j), jobspec, R: j.R ? JSON.parse(j.R) as unknown : null };
  }

  private eventlog(p: { path?: unknown }): unknown {
    const j = this.lookup(p);
    return { events: this.store.archive.events(j.path) };
  }
}

const SIGNALS = new Map(Object.entries(constants.signals).map(([k, v]) => [v, k]));

function toInfo(r: ArchivedJob): ArchivedJobInfo {
  const sig = r.waitstatus !== null && (r.waitstatus & 0x7f) !== 0 ? SIGNALS.get(r.waitstatus & 0x7f) : undefined;
  return {
    id: r.id, path: r.path, userid: r.userid, name: r.name, state: r.state as JobStateName, urgency: r.urgency, priority: r.priority,
    t_submit: r.t_submit, t_run: r.t_run ?? undefined, t_inactive: r.t_inactive ?? undefined, nnodes: r.nnodes, ntasks: r.ntasks, ncores: r.ncores,
    nodelist: r.nodelist ?? undefined, duration: r.duration, result: r.result ?? undefined, returncode: r.returncode ?? undefined,
    waitstatus: r.waitstatus ?? undefined, exception: r.exception ? (JSON.parse(r.exception) as JobInfo['exception']) : undefined,
    signal: sig,
  };
}

/**
 * True when the instance of this directory still answers on its socket (its
 * rank 0 wrote its URI to `uri`): a job can end (node failure) while its
 * instance's broker runs on; its files must not be taken from under it.
 */
async function instanceAlive(dir: string): Promise<boolean> {
  let uri: string;
  try {
    uri = (await readFile(join(dir, 'uri'), 'utf8')).trim();
  } catch {
    return false;
  }
  if (!uri.startsWith('local://')) return false;
  const path = uri.slice('local://'.length);
  return new Promise((resolve) => {
    const s = netConnect(path);
    const done = (alive: boolean) => { clearTimeout(t); s.destroy(); resolve(alive); };
    const t = setTimeout(() => done(false), 2000);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

