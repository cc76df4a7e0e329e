/**
 * The archive of nested instances' history (docs/hierarchy.md): the job rows
 * and event logs of every instance that ran as a job of this one, or below
 * it, copied from the child's own database when it ended. A job is named by
 * its path relative to this instance: `12/5` is job 5 of the instance run by
 * our job 12, `12/5/3` job 3 of the instance run by that job 5.
 *
 * Rows are keyed by (parent, id), parent being the path of the instance that
 * ran the job ('12', '12/5'), so that one job is a primary-key lookup and the
 * jobs under a path are an index range. The copy is done by SQLite itself
 * (ATTACH + INSERT ... SELECT) in chunks of ids, one transaction per chunk,
 * yielding to the event loop between chunks: nothing of the child's history
 * passes through JavaScript, so memory stays bounded whatever its size, and
 * the broker keeps answering meanwhile. Every insert replaces, so a copy that
 * failed half-way (disk full, broker killed) is simply done again.
 */
import type { Database as Db, Statement } from 'better-sqlite3';
import type { JobRecord, StoredEvent } from './store.js';

export const ARCHIVE_SCHEMA = `
CREATE TABLE IF NOT EXISTS archive_jobs (
  parent TEXT NOT NULL, id INTEGER NOT NULL, depth INTEGER NOT NULL,
  userid INTEGER NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
  urgency INTEGER NOT NULL, priority INTEGER NOT NULL, t_submit REAL NOT NULL,
  t_run REAL, t_inactive REAL, nnodes INTEGER NOT NULL, ntasks INTEGER NOT NULL, ncores INTEGER NOT NULL,
  result TEXT, returncode INTEGER, exception TEXT, nodelist TEXT, jobspec TEXT NOT NULL, R TEXT, waitstatus INTEGER,
  duration REAL NOT NULL DEFAULT 0,
  PRIMARY KEY (parent, id));
CREATE TABLE IF NOT EXISTS archive_events (
  parent TEXT NOT NULL, jobid INTEGER NOT NULL, seq INTEGER NOT NULL, timestamp REAL NOT NULL,
  name TEXT NOT NULL, context TEXT,
  PRIMARY KEY (parent, jobid, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS archive_instances (
  path TEXT PRIMARY KEY, t_archived REAL NOT NULL, njobs INTEGER NOT NULL) WITHOUT ROWID;
`;

/** An archived job: its row, and its path relative to this instance (`12/5`). */
export interface ArchivedJob extends JobRecord {
  path: string;
}

export interface ArchiveFilter {
  /** Only jobs below this path ('' or undefined: every archived job). */
  under?: string;
  /** Only jobs at most this many levels below `under` (1: the jobs of the instance `under` names). */
  depth?: number;
  states?: string[];
  userid?: number;
  limit?: number;
}

export interface ArchiveResult {
  jobs: number;
  events: number;
  /** Jobs of deeper instances (the child's own archive) copied with it. */
  nested: number;
}

/** Jobs per copy transaction: ~25 ms of work here (5,000 events), so the broker answers between chunks. */
export const ARCHIVE_CHUNK = 500;

const COLS = ['userid', 'name', 'state', 'urgency', 'priority', 't_submit', 't_run', 't_inactive', 'nnodes', 'ntasks', 'ncores', 'result', 'returncode', 'exception', 'nodelist', 'jobspec', 'R', 'waitstatus', 'duration'] as const;
const CHILD = 'fractal_child';

/** Path components of a job path ('' has none). */
export function pathDepth(path: string): number {
  return path === '' ? 0 : path.split('/').length;
}

export class ArchiveDb {
  private readonly st: { job: Statement; events: Statement };
  private copying = false;

  constructor(private readonly db: Db) {
    db.exec(ARCHIVE_SCHEMA);
    const cols = ['parent', 'id', 'depth', ...COLS].map((c) => 'a.' + c).join(', ');
    this.st = {
      job: db.prepare(`SELECT ${cols} FROM archive_jobs a WHERE a.parent = ? AND a.id = ?`),
      events: db.prepare('SELECT timestamp, name, context FROM archive_events WHERE parent = ? AND jobid = ? ORDER BY seq'),
    };
  }

  /** One archived job by path (`12/5`), or undefined. */
  job(path: string): ArchivedJob | undefined {
    const [parent, id] = splitPath(path);
    const r = this.st.job.get(parent, id) as (JobRecord & { parent: string; depth: number }) | undefined;
    return r ? toArchived(r) : undefined;
  }

  /** The event log of an archived job, in order (empty when none was kept). */
  events(path: string): StoredEvent[] {
    const [parent, id] = splitPath(path);
    const rows = this.st.events.all(parent, id) as { timestamp: number; name: string; context: string | null }[];
    return rows.map((r) => (r.context === null ? { timestamp: r.timestamp, name: r.name } : { timestamp: r.timestamp, name: r.name, context: JSON.parse(r.context) as Record<string, unknown> }));
  }

  /** Archived jobs under a path, by path order of their instance then id, most recent id first. */
  list(f: ArchiveFilter = {}): ArchivedJob[] {
    const where: string[] = [];
    const args: unknown[] = [];
    const under = f.under ?? '';
    if (under !== '') {
      // Every parent path below `under`: itself, or starting with `under/` ('/' + 1 is '0').
      where.push('(parent = ? OR (parent >= ? AND parent < ?))');
      args.push(under, under + '/', under + '0');
    }
    if (f.depth !== undefined) { where.push('depth <= ?'); args.push(pathDepth(under) + f.depth); }
    if (f.states && f.states.length > 0) { where.push(`state IN (${f.states.map(() => '?').join(',')})`); args.push(...f.states); }
    if (f.userid !== undefined) { where.push('userid = ?'); args.push(f.userid); }
    const sql = `SELECT parent, id, depth, ${COLS.join(', ')} FROM archive_jobs${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY parent, id DESC${f.limit ? ' LIMIT ' + Math.floor(f.limit) : ''}`;
    return (this.db.prepare(sql).all(...args) as (JobRecord & { parent: string; depth: number })[]).map(toArchived);
  }

  /** True when the history of the instance run by job `path` is here. */
  hasInstance(path: string): boolean {
    return this.db.prepare('SELECT 1 FROM archive_instances WHERE path = ?').get(path) !== undefined;
  }

  /** Instances archived so far (paths), for tests and `stats`. */
  instances(): { path: string; t_archived: number; njobs: number }[] {
    return this.db.prepare('SELECT path, t_archived, njobs FROM archive_instances ORDER BY path').all() as { path: string; t_archived: number; njobs: number }[];
  }

  /**
   * Copies the history of the instance whose database is `dbPath` under
   * `prefix` (our job id, e.g. '12'): its jobs and their event logs, and its
   * own archive (deeper levels) with `prefix/` prepended. Resolves once all
   * of it is committed; rejects (nothing is removed, a retry redoes it) when
   * a chunk fails. `canWrite` is asked before each chunk (the store's group
   * commit must not be inside a transaction, nor failing).
   */
  async copyFrom(prefix: string, dbPath: string, canWrite: () => Error | undefined): Promise<ArchiveResult> {
    if (this.copying) throw new Error('an archive copy is already running');
    this.copying = true;
    const check = () => {
      const why = canWrite();
      if (why) throw why;
      // ATTACH and DETACH cannot run inside a transaction (the group commit's are synchronous: none is open between turns).
      if (this.db.inTransaction) throw new Error('the store is inside a transaction');
    };
    let attached = false;
    try {
      check();
      this.db.prepare(`ATTACH DATABASE ? AS ${CHILD}`).run(dbPath);
      attached = true;
      const tables = new Set((this.db.prepare(`SELECT name FROM ${CHILD}.sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name));
      const res: ArchiveResult = { jobs: 0, events: 0, nested: 0 };
      const depth = pathDepth(prefix) + 1;
      if (tables.has('jobs')) {
        const spec = tables.has('jobspecs') ? 'COALESCE(s.jobspec, j.jobspec)' : 'j.jobspec';
        const join = tables.has('jobspecs') ? `LEFT JOIN ${CHILD}.jobspecs s ON s.id = j.id` : '';
        // A job still active in a child that was killed never ends: it is archived as ended, with a `lost` exception
        // naming its last event (the row's state is written only at submit and at the end; the log has the rest).
        const last = tables.has('events') ? `COALESCE((SELECT e.name FROM ${CHILD}.events e WHERE e.jobid = j.id ORDER BY e.seq DESC LIMIT 1), 'submit')` : "'submit'";
        const lost = `json_object('type', 'lost', 'severity', 0, 'note', 'its instance was killed or crashed after the job''s "' || ${last} || '" event: how the job ended is not known')`;
        const sel = COLS.map((c) => {
          if (c === 'jobspec') return spec;
          if (c === 'state') return "'INACTIVE'";
          if (c === 'result') return "CASE WHEN j.state = 'INACTIVE' THEN j.result ELSE 'FAILED' END";
          if (c === 'exception') return `CASE WHEN j.state = 'INACTIVE' THEN j.exception ELSE ${lost} END`;
          return 'j.' + c;
        }).join(', ');
        const insJobs = this.db.prepare(`INSERT OR REPLACE INTO archive_jobs (parent, id, depth, ${COLS.join(', ')}) SELECT ?, j.id, ?, ${sel} FROM ${CHILD}.jobs j ${join} WHERE j.id > ? AND j.id <= ?`);
        const insEvents = tables.has('events')
          ? this.db.prepare(`INSERT OR REPLACE INTO archive_events (parent, jobid, seq, timestamp, name, context) SELECT ?, jobid, seq, timestamp, name, context FROM ${CHILD}.events WHERE jobid > ? AND jobid <= ?`)
          : undefined;
        const max = (this.db.prepare(`SELECT MAX(id) AS m FROM ${CHILD}.jobs`).get() as { m: number | null }).m ?? 0;
        for (let lo = 0; lo < max; lo += ARCHIVE_CHUNK) {
          if (lo > 0) await turn();
          check();
          const hi = lo + ARCHIVE_CHUNK;
          this.db.transaction(() => {
            res.jobs += insJobs.run(prefix, depth, lo, hi).changes;
            if (insEvents) res.events += insEvents.run(prefix, lo, hi).changes;
          })();
        }
      }
      if (tables.has('archive_jobs')) res.nested = await this.copyNested(prefix, tables.has('archive_events'), check);
      check();
      // The caller removes the child's files once this resolves: the last commit syncs the WAL (FULL), which makes
      // every chunk before it durable against power loss too, not only against a crash of the process (NORMAL).
      this.db.pragma('synchronous = FULL');
      try {
        this.db.transaction(() => {
          if (tables.has('archive_instances')) {
            this.db.prepare(`INSERT OR REPLACE INTO archive_instances (path, t_archived, njobs) SELECT ? || '/' || path, t_archived, njobs FROM ${CHILD}.archive_instances`).run(prefix);
          }
          this.db.prepare('INSERT OR REPLACE INTO archive_instances (path, t_archived, njobs) VALUES (?, ?, ?)').run(prefix, Date.now() / 1000, res.jobs);
        })();
      } finally {
        this.db.pragma('synchronous = NORMAL');
      }
      return res;
    } finally {
      if (attached) {
        try { this.db.prepare(`DETACH DATABASE ${CHILD}`).run(); } catch { /* the store was closed meanwhile */ }
      }
      this.copying = false;
    }
  }

  /** The child's own archive (its children's jobs), under `prefix/`, in chunks by (parent, id). */
  private async copyNested(prefix: string, withEvents: boolean, check: () => void): Promise<number> {
    const add = pathDepth(prefix);
    const colList = COLS.join(', ');
    // Two forms of each statement, bounded and to the end: an `? IS NULL OR` upper bound would keep SQLite
    // from using it as the end of the index range, and every chunk would scan to the end of the table.
    const jobsSql = `INSERT OR REPLACE INTO archive_jobs (parent, id, depth, ${colList}) SELECT ? || '/' || parent, id, depth + ?, ${colList} FROM ${CHILD}.archive_jobs WHERE (parent, id) > (?, ?)`;
    const evSql = `INSERT OR REPLACE INTO archive_events (parent, jobid, seq, timestamp, name, context) SELECT ? || '/' || parent, jobid, seq, timestamp, name, context FROM ${CHILD}.archive_events WHERE (parent, jobid) > (?, ?)`;
    const ins = { upTo: this.db.prepare(`${jobsSql} AND (parent, id) <= (?, ?)`), rest: this.db.prepare(jobsSql) };
    const insEv = withEvents ? { upTo: this.db.prepare(`${evSql} AND (parent, jobid) <= (?, ?)`), rest: this.db.prepare(evSql) } : undefined;
    const bound = this.db.prepare(`SELECT parent, id FROM ${CHILD}.archive_jobs WHERE (parent, id) > (?, ?) ORDER BY parent, id LIMIT 1 OFFSET ${ARCHIVE_CHUNK - 1}`);
    let lo: [string, number] = ['', -1];
    let n = 0;
    for (let first = true; ; first = false) {
      if (!first) await turn();
      check();
      const b = bound.get(lo[0], lo[1]) as { parent: string; id: number } | undefined;
      this.db.transaction(() => {
        if (b) {
          n += ins.upTo.run(prefix, add, lo[0], lo[1], b.parent, b.id).changes;
          insEv?.upTo.run(prefix, lo[0], lo[1], b.parent, b.id);
        } else {
          n += ins.rest.run(prefix, add, lo[0], lo[1]).changes;
          insEv?.rest.run(prefix, lo[0], lo[1]);
        }
      })();
      if (!b) return n;
      lo = [b.parent, b.id];
    }
  }
}

function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/** '12/5/3' → ['12/5', 3]. */
function splitPath(path: string): [string, number] {
  const i = path.lastIndexOf('/');
  return [path.slice(0, i), Number(path.slice(i + 1))];
}

function toArchived(r: JobRecord & { parent: string; depth: number }): ArchivedJob {
  const { parent, depth: _d, ...rec } = r;
  return { ...rec, path: `${parent}/${rec.id}` };
}
