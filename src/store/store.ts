/**
 * The instance's durable store: one SQLite database (WAL) holding job event
 * logs, job records, job output and a small key-value table.
 *
 * Writes are grouped: callers queue writes, and one transaction per event-loop
 * turn commits everything queued (group commit). `flush()` resolves once what
 * was queued before it is on disk, so a submit is acknowledged only after its
 * events are durable against a crash of the process.
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { AccountingDb } from './accounting.js';

export interface StoredEvent {
  timestamp: number;
  name: string;
  context?: Record<string, unknown>;
}

/** The summary row kept for every job; the event log stays the source of truth. */
export interface JobRecord {
  id: number;
  userid: number;
  name: string;
  state: string;
  urgency: number;
  priority: number;
  t_submit: number;
  t_run: number | null;
  t_inactive: number | null;
  nnodes: number;
  ntasks: number;
  ncores: number;
  result: string | null;
  returncode: number | null;
  exception: string | null;
  nodelist: string | null;
  jobspec: string;
  R: string | null;
  waitstatus: number | null;
  /** Time limit in seconds (0 = none). */
  duration: number;
}

export interface OutputRecord {
  rank: number;
  stream: 'stdout' | 'stderr';
  data: string;
  eof?: boolean;
}

export interface JobFilter {
  states?: string[];
  userid?: number;
  limit?: number;
  /** Only jobs with id greater than this (paging). */
  after?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  jobid INTEGER NOT NULL, seq INTEGER NOT NULL, timestamp REAL NOT NULL,
  name TEXT NOT NULL, context TEXT,
  PRIMARY KEY (jobid, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY, userid INTEGER NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
  urgency INTEGER NOT NULL, priority INTEGER NOT NULL, t_submit REAL NOT NULL,
  t_run REAL, t_inactive REAL, nnodes INTEGER NOT NULL, ntasks INTEGER NOT NULL, ncores INTEGER NOT NULL,
  result TEXT, returncode INTEGER, exception TEXT, nodelist TEXT, jobspec TEXT NOT NULL, R TEXT, waitstatus INTEGER,
  duration REAL NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS output (
  jobid INTEGER NOT NULL, seq INTEGER NOT NULL, rank INTEGER NOT NULL, stream TEXT NOT NULL,
  data TEXT NOT NULL, eof INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (jobid, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobspecs (id INTEGER PRIMARY KEY, jobspec TEXT NOT NULL);
`;

const JOB_COLS = ['id', 'userid', 'name', 'state', 'urgency', 'priority', 't_submit', 't_run', 't_inactive', 'nnodes', 'ntasks', 'ncores', 'result', 'returncode', 'exception', 'nodelist', 'jobspec', 'R', 'waitstatus', 'duration'] as const;

export class Store {
  private readonly db: Db;
  private readonly st: {
    event: Statement; job: Statement; finish: Statement; output: Statement; kvSet: Statement; kvGet: Statement;
    getJob: Statement; getEvents: Statement; getOutput: Statement; spec: Statement;
  };
  private queue: Array<() => void> = [];
  private waiters: Array<() => void> = [];
  private scheduled = false;
  private readonly commitTx: () => void;
  private acct: AccountingDb | undefined;

  constructor(readonly path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable against process crashes (kill -9) in WAL mode; only an
    // OS crash or power loss can lose the last transactions.
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.st = {
      event: this.db.prepare('INSERT OR REPLACE INTO events (jobid, seq, timestamp, name, context) VALUES (?, ?, ?, ?, ?)'),
      job: this.db.prepare(`INSERT OR REPLACE INTO jobs (${JOB_COLS.join(',')}) VALUES (${JOB_COLS.map((c) => '@' + c).join(',')})`),
      finish: this.db.prepare(`UPDATE jobs SET ${JOB_COLS.filter((c) => c !== 'id' && c !== 'jobspec').map((c) => `${c} = @${c}`).join(', ')} WHERE id = @id`),
      output: this.db.prepare('INSERT OR REPLACE INTO output (jobid, seq, rank, stream, data, eof) VALUES (?, ?, ?, ?, ?, ?)'),
      kvSet: this.db.prepare('INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)'),
      kvGet: this.db.prepare('SELECT value FROM kv WHERE key = ?'),
      // The submitted jobspec (with its environment, kilobytes) lives in its own table, so that
      // the state updates of a job rewrite a small row: 100,000 cancels wrote ~2 KB each before.
      // Rows of older databases keep theirs in jobs.jobspec.
      getJob: this.db.prepare(`SELECT ${JOB_COLS.filter((c) => c !== 'jobspec').map((c) => 'j.' + c).join(', ')}, COALESCE(s.jobspec, j.jobspec) AS jobspec FROM jobs j LEFT JOIN jobspecs s ON s.id = j.id WHERE j.id = ?`),
      spec: this.db.prepare('INSERT OR REPLACE INTO jobspecs (id, jobspec) VALUES (?, ?)'),
      getEvents: this.db.prepare('SELECT timestamp, name, context FROM events WHERE jobid = ? ORDER BY seq'),
      getOutput: this.db.prepare('SELECT rank, stream, data, eof FROM output WHERE jobid = ? ORDER BY seq'),
    };
    this.commitTx = this.db.transaction(() => {
      const q = this.queue;
      this.queue = [];
      for (const op of q) op();
    });
  }

  private enqueue(op: () => void): void {
    this.queue.push(op);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.commit());
    }
  }

  /** The accounting tables of this database, for cluster `cluster` (made on first use). */
  accounting(cluster: string): AccountingDb {
    if (this.acct?.cluster !== cluster) {
      this.commit();
      this.acct = new AccountingDb(this.db, cluster);
    }
    return this.acct;
  }

  /** Commits everything queued now (normally called by the scheduler of writes). */
  commit(): void {
    this.scheduled = false;
    if (this.queue.length > 0) {
      const q = this.queue;
      try {
        this.commitTx();
      } catch (e) {
        // One bad write must not take the others (or the broker) down: redo them one by one.
        process.stderr.write(`fractal store: a grouped write failed (${(e as Error).message}); retrying one by one\n`);
        for (const op of q) {
          try { op(); } catch (e2) { process.stderr.write(`fractal store: write dropped: ${(e2 as Error).message}\n`); }
        }
      }
    }
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  /** Resolves when every write queued so far is committed. */
  flush(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  appendEvent(jobid: number, seq: number, ev: StoredEvent): void {
    const ctx = ev.context === undefined ? null : JSON.stringify(ev.context);
    this.enqueue(() => this.st.event.run(jobid, seq, ev.timestamp, ev.name, ctx));
  }

  putJob(rec: JobRecord): void {
    const copy = { ...rec, jobspec: '' };
    const spec = rec.jobspec;
    this.enqueue(() => {
      this.st.job.run(copy);
      if (spec !== '') this.st.spec.run(rec.id, spec);
    });
  }

  /** Updates a job's row except its stored jobspec (which keeps the submitted text). */
  finishJob(rec: JobRecord): void {
    const { jobspec: _ignored, ...copy } = rec;
    this.enqueue(() => this.st.finish.run(copy));
  }

  appendOutput(jobid: number, seq: number, rec: OutputRecord): void {
    this.enqueue(() => this.st.output.run(jobid, seq, rec.rank, rec.stream, rec.data, rec.eof ? 1 : 0));
  }

  kvPut(key: string, value: unknown): void {
    const v = JSON.stringify(value);
    this.enqueue(() => this.st.kvSet.run(key, v));
  }

  kvGet<T>(key: string): T | undefined {
    const row = this.st.kvGet.get(key) as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  getJob(id: number): JobRecord | undefined {
    return this.st.getJob.get(id) as JobRecord | undefined;
  }

  events(jobid: number): StoredEvent[] {
    const rows = this.st.getEvents.all(jobid) as { timestamp: number; name: string; context: string | null }[];
    return rows.map((r) => (r.context === null ? { timestamp: r.timestamp, name: r.name } : { timestamp: r.timestamp, name: r.name, context: JSON.parse(r.context) as Record<string, unknown> }));
  }

  output(jobid: number): OutputRecord[] {
    const rows = this.st.getOutput.all(jobid) as { rank: number; stream: 'stdout' | 'stderr'; data: string; eof: number }[];
    return rows.map((r) => (r.eof ? { rank: r.rank, stream: r.stream, data: r.data, eof: true } : { rank: r.rank, stream: r.stream, data: r.data }));
  }

  listJobs(f: JobFilter = {}): JobRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.states && f.states.length > 0) {
      where.push(`state IN (${f.states.map(() => '?').join(',')})`);
      args.push(...f.states);
    }
    if (f.userid !== undefined) { where.push('userid = ?'); args.push(f.userid); }
    if (f.after !== undefined) { where.push('id > ?'); args.push(f.after); }
    const sql = `SELECT * FROM jobs${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC${f.limit ? ' LIMIT ' + Math.floor(f.limit) : ''}`;
    return this.db.prepare(sql).all(...args) as JobRecord[];
  }

  /** Ids of jobs not yet INACTIVE, for replay at restart. */
  activeJobIds(): number[] {
    return (this.db.prepare("SELECT id FROM jobs WHERE state != 'INACTIVE' ORDER BY id").all() as { id: number }[]).map((r) => r.id);
  }

  maxJobId(): number {
    const r = this.db.prepare('SELECT MAX(id) AS m FROM jobs').get() as { m: number | null };
    return r.m ?? 0;
  }

  /** Events of every job in (jobid, seq) order, in pages, for journal backlogs. */
  *allEvents(pageSize = 5000): Generator<{ jobid: number; event: StoredEvent }> {
    const stmt = this.db.prepare('SELECT jobid, seq, timestamp, name, context FROM events WHERE (jobid, seq) > (?, ?) ORDER BY jobid, seq LIMIT ?');
    let lastJob = -1, lastSeq = -1;
    for (;;) {
      const rows = stmt.all(lastJob, lastSeq, pageSize) as { jobid: number; seq: number; timestamp: number; name: string; context: string | null }[];
      for (const r of rows) {
        const event: StoredEvent = r.context === null ? { timestamp: r.timestamp, name: r.name } : { timestamp: r.timestamp, name: r.name, context: JSON.parse(r.context) as Record<string, unknown> };
        yield { jobid: r.jobid, event };
      }
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1]!;
      lastJob = last.jobid;
      lastSeq = last.seq;
    }
  }

  close(): void {
    this.commit();
    this.db.close();
  }
}
