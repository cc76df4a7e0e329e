/**
 * The instance's durable store: one SQLite database (WAL) holding job event
 * logs, job records, job output and a small key-value table.
 *
 * Writes are grouped: callers queue writes, and one transaction per event-loop
 * turn commits everything queued (group commit). `flush()` resolves once what
 * was queued before it is on disk, so a submit is acknowledged only after its
 * events are durable against a crash of the process.
 *
 * A commit that fails (full disk, I/O error) drops nothing: the writes stay
 * queued, in order, and are retried on a timer with backoff until a commit
 * succeeds; meanwhile `failure` holds the error (callers refuse new work with
 * it), `flush()` rejects with it, and `afterCommit` hooks wait for the commit
 * that finally makes their writes durable. See docs/decisions.md (ADR 11).
 */
import Database from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { FractalError, ErrorCodes } from '../errors/index.js';
import { AccountingDb } from './accounting.js';
import { ArchiveDb, type ArchiveResult } from './archive.js';

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

/** Something waiting for a commit: a `flush()` (rejected when the commit fails) or an `afterCommit` hook (waits for a retry). */
interface Waiter {
  ok: () => void;
  fail?: ((e: FractalError) => void) | undefined;
}

/** Retry delays after a failed commit: from 100 ms, doubling, at most 2 s (space returns → resumed within 2 s). */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;

export interface StoreOptions {
  /** Where the store reports a failed commit and its recovery (default: stderr, errors swallowed). */
  log?: (msg: string) => void;
  /** The least time between two group commits (ms; default DEFAULT_COMMIT_SPACING_MS, 0: every turn). */
  commitSpacingMs?: number;
}

/** See StoreOptions.commitSpacingMs and docs/decisions.md (ADR 15). */
export const DEFAULT_COMMIT_SPACING_MS = 2;

export class Store {
  private readonly db: Db;
  private readonly st: {
    event: Statement; job: Statement; finish: Statement; output: Statement; kvSet: Statement; kvGet: Statement;
    getJob: Statement; getEvents: Statement; getOutput: Statement; spec: Statement;
  };
  /** Queued writes, in order; `owners[i]` is the job id `queue[i]` writes for (0: none). */
  private queue: Array<() => void> = [];
  private owners: number[] = [];
  /** Jobs whose queued writes must be dropped before the next commit (submissions that failed). */
  private doomed: Set<number> | undefined;
  private waiters: Waiter[] = [];
  /** The next group commit is armed for the end of this turn (`immediate`) or on a timer. */
  private immediate = false;
  private timer: NodeJS.Timeout | undefined;
  /** When the last group commit started (performance.now()), and the least time between two. */
  private lastCommit = -Infinity;
  private readonly spacingMs: number;
  private readonly commitTx: () => void;
  private acct: AccountingDb | undefined;
  private arch: ArchiveDb | undefined;
  private failed: FractalError | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_FIRST_MS;
  private readonly statusFns: Array<(failure: FractalError | undefined) => void> = [];
  private readonly log: (msg: string) => void;
  private closed = false;
  /** Commits that failed since the store was opened (for tests and stats). */
  failedCommits = 0;

  /**
   * Opens (or creates) the database. A file that is not a readable SQLite
   * database fails here with a FractalError that names it and says what to do.
   */
  constructor(readonly path: string, opts: StoreOptions = {}) {
    this.log = opts.log ?? safeStderr;
    this.spacingMs = opts.commitSpacingMs ?? DEFAULT_COMMIT_SPACING_MS;
    try {
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
      // Reading the first page of every table finds a damaged file now, not in the middle of a replay.
      for (const t of ['jobs', 'jobspecs', 'events', 'kv']) this.db.prepare(`SELECT 1 FROM ${t} LIMIT 1`).get();
    } catch (e) {
      throw openError(e, path);
    }
    this.commitTx = this.db.transaction(() => {
      // The queue is emptied only after the transaction committed (see commit()).
      for (const op of this.queue) op();
    });
  }

  private enqueue(owner: number, op: () => void): void {
    this.queue.push(op);
    this.owners.push(owner);
    this.scheduleCommit();
  }

  /**
   * Arms the next group commit: at the end of this event-loop turn when the
   * last commit is at least `commitSpacingMs` old (an idle store adds no
   * latency), else once it is (a busy store commits at most that often, and
   * each commit carries more writes). `urgent` (someone waits for an answer:
   * `flush`, `hurry`) always commits at the end of this turn.
   */
  private scheduleCommit(urgent = false): void {
    if (this.failed !== undefined || this.immediate) return;
    const wait = urgent ? 0 : this.lastCommit + this.spacingMs - performance.now();
    if (wait > 0) {
      this.timer ??= setTimeout(this.commitNow, wait);
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.immediate = true;
    setImmediate(this.commitNow);
  }

  /** A client waits for what is queued (a mutating request's answer): commit at the end of this turn. */
  hurry(): void {
    if (this.queue.length > 0 || this.waiters.length > 0) this.scheduleCommit(true);
  }

  private readonly commitNow = (): void => this.commit();

  /** The accounting tables of this database, for cluster `cluster` (made on first use). */
  accounting(cluster: string): AccountingDb {
    if (this.acct?.cluster !== cluster) {
      this.commit();
      this.acct = new AccountingDb(this.db, cluster);
    }
    return this.acct;
  }

  /** The archive of nested instances' history (made on first use). */
  get archive(): ArchiveDb {
    this.arch ??= new ArchiveDb(this.db);
    return this.arch;
  }

  /**
   * Copies the history of a finished nested instance (its database at
   * `dbPath`) into the archive under `prefix` (see archive.ts). Its own
   * transactions, between group commits (never inside one); it does not wait
   * for nor disturb the writes queued meanwhile. Rejects, keeping nothing
   * half-promised, when the store is failing or a chunk cannot be written:
   * the caller keeps the child's files and tries again later.
   */
  archiveChild(prefix: string, dbPath: string): Promise<ArchiveResult> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    return this.archive.copyFrom(prefix, dbPath, () => (this.closed ? new Error('the store was closed') : this.failed));
  }

  /**
   * The error of the last commit when it failed and writes are waiting for a
   * retry; undefined while the store writes normally. Callers refuse new work
   * with it.
   */
  get failure(): FractalError | undefined {
    return this.failed;
  }

  /** Writes queued and not yet committed (kept in memory while the store cannot write). */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Caps the database at its current size plus `extraPages` pages (undefined:
   * no cap). Writes that need more fail with SQLITE_FULL exactly as on a full
   * disk: tests use it to make the store full deterministically.
   */
  limitPages(extraPages: number | undefined): void {
    const now = this.db.pragma('page_count', { simple: true }) as number;
    this.db.pragma(`max_page_count = ${extraPages === undefined ? 1073741823 : now + Math.max(0, Math.floor(extraPages))}`);
  }

  /** `fn` is called with the error when commits start failing, and with undefined when they succeed again. */
  onStatus(fn: (failure: FractalError | undefined) => void): void {
    this.statusFns.push(fn);
  }

  /**
   * Commits everything queued now (normally called by the scheduler of
   * writes). Never throws: a failure keeps the writes queued, rejects the
   * pending `flush()` calls and arms the retry timer. While the store is
   * failing, only that timer commits.
   */
  commit(): void {
    this.immediate = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.failed === undefined) this.attempt();
  }

  private attempt(): void {
    if (this.doomed) this.dropDoomed();
    if (this.queue.length > 0) {
      try {
        this.lastCommit = performance.now();
        this.commitTx();
      } catch (e) {
        this.onFailure(e);
        return;
      }
      this.queue = [];
      this.owners = [];
    }
    if (this.failed !== undefined) this.onRecovered();
    const w = this.waiters;
    this.waiters = [];
    for (const x of w) x.ok();
  }

  private onFailure(e: unknown): void {
    this.failedCommits++;
    const err = writeError(e, this.path);
    const first = this.failed === undefined;
    this.failed = err;
    if (first) {
      this.log(`fractal store: cannot write (${err.message}); ${this.queue.length} write(s) kept in memory, retrying`);
      for (const fn of this.statusFns) fn(err);
    }
    // flush() callers hear of it now; afterCommit hooks wait for the retry that succeeds.
    const keep: Waiter[] = [];
    const reject: Waiter[] = [];
    for (const x of this.waiters) (x.fail ? reject : keep).push(x);
    this.waiters = keep;
    for (const x of reject) x.fail!(err);
    clearTimeout(this.retryTimer);
    if (this.closed) return;
    this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.attempt(); }, this.retryMs);
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  private onRecovered(): void {
    this.failed = undefined;
    this.retryMs = RETRY_FIRST_MS;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.log('fractal store: writing again; the writes kept in memory are now on disk');
    for (const fn of this.statusFns) fn(undefined);
  }

  /**
   * Resolves when every write queued so far is committed. Rejects with the
   * store's error when the commit carrying them fails (at once if the store
   * is failing now): the writes stay queued, the caller decides (a submit
   * discards its jobs' writes with `discardJobs`).
   */
  flush(): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.queue.length === 0 && this.waiters.length === 0) return Promise.resolve();
    this.scheduleCommit(true);
    return new Promise((ok, fail) => this.waiters.push({ ok, fail }));
  }

  /**
   * Calls `fn` once every write queued so far (and in this event-loop turn) is
   * committed, after the earlier hooks and flushes, in order. A failed commit
   * does not drop it: it waits for the retry that succeeds. This is how what
   * a client is told waits for the commit that made it true.
   */
  afterCommit(fn: () => void): void {
    this.waiters.push({ ok: fn });
    this.scheduleCommit();
  }

  /**
   * Drops the queued (uncommitted) writes of these jobs before the next
   * commit: the submission that made them failed and the jobs are forgotten.
   * Writes already committed stay (a submit's writes are all in one commit,
   * so there are none).
   */
  discardJobs(ids: Iterable<number>): void {
    this.doomed ??= new Set();
    for (const id of ids) this.doomed.add(id);
  }

  private dropDoomed(): void {
    const doomed = this.doomed!;
    this.doomed = undefined;
    const q: Array<() => void> = [];
    const o: number[] = [];
    for (let i = 0; i < this.queue.length; i++) {
      const owner = this.owners[i]!;
      if (owner !== 0 && doomed.has(owner)) continue;
      q.push(this.queue[i]!);
      o.push(owner);
    }
    this.queue = q;
    this.owners = o;
  }

  appendEvent(jobid: number, seq: number, ev: StoredEvent): void {
    const ctx = ev.context === undefined ? null : JSON.stringify(ev.context);
    this.enqueue(jobid, () => this.st.event.run(jobid, seq, ev.timestamp, ev.name, ctx));
  }

  putJob(rec: JobRecord): void {
    const copy = { ...rec, jobspec: '' };
    const spec = rec.jobspec;
    this.enqueue(rec.id, () => {
      this.st.job.run(copy);
      if (spec !== '') this.st.spec.run(rec.id, spec);
    });
  }

  /** Updates a job's row except its stored jobspec (which keeps the submitted text). */
  finishJob(rec: JobRecord): void {
    const { jobspec: _ignored, ...copy } = rec;
    this.enqueue(rec.id, () => this.st.finish.run(copy));
  }

  appendOutput(jobid: number, seq: number, rec: OutputRecord): void {
    this.enqueue(jobid, () => this.st.output.run(jobid, seq, rec.rank, rec.stream, rec.data, rec.eof ? 1 : 0));
  }

  kvPut(key: string, value: unknown): void {
    const v = JSON.stringify(value);
    this.enqueue(0, () => this.st.kvSet.run(key, v));
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

  /** How many stored jobs are in `state` (indexed: cheap even with a million jobs). */
  countJobs(state: string): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM jobs WHERE state = ?').get(state) as { n: number }).n;
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

  // ---- paged output reads (readers never load a job's whole output) ----------

  private outPageStmt: Statement | undefined;
  private outNextStmt: Statement | undefined;

  /**
   * Output records of a job from sequence number `from` on, in order, until
   * about `maxBytes` of data (at least one record when there is one).
   * Rows are iterated, so no more than one page is ever in memory.
   */
  outputPage(jobid: number, from: number, maxBytes: number): Array<OutputRecord & { seq: number }> {
    this.outPageStmt ??= this.db.prepare('SELECT seq, rank, stream, data, eof FROM output WHERE jobid = ? AND seq >= ? ORDER BY seq');
    const out: Array<OutputRecord & { seq: number }> = [];
    let bytes = 0;
    for (const row of this.outPageStmt.iterate(jobid, from) as IterableIterator<{ seq: number; rank: number; stream: 'stdout' | 'stderr'; data: string; eof: number }>) {
      out.push(row.eof ? { seq: row.seq, rank: row.rank, stream: row.stream, data: row.data, eof: true } : { seq: row.seq, rank: row.rank, stream: row.stream, data: row.data });
      bytes += row.data.length;
      if (bytes >= maxBytes) break; // leaving the loop ends the statement's iteration
    }
    return out;
  }

  /** The sequence number after a job's last stored output record (0 when none). */
  outputNextSeq(jobid: number): number {
    this.outNextStmt ??= this.db.prepare('SELECT MAX(seq) AS m FROM output WHERE jobid = ?');
    const r = this.outNextStmt.get(jobid) as { m: number | null };
    return r.m === null ? 0 : r.m + 1;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.attempt();
    if (this.queue.length > 0) this.log(`fractal store: closing with ${this.queue.length} write(s) that could not be saved (${this.failed?.message ?? 'unknown error'}); jobs that were running are recovered from their executors at the next start`);
    this.db.close();
  }
}

/** Writes a line to stderr; a full disk or a closed pipe under stderr must never take the process down. */
export function safeStderr(msg: string): void {
  try {
    process.stderr.write(msg.endsWith('\n') ? msg : msg + '\n');
  } catch { /* counted by the process's stderr error handler, if any */ }
}

const SPACE_CODES = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT']);

/** Free bytes for unprivileged writers on the file system that holds `dir`, or undefined. */
function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/**
 * A failed commit as the FractalError clients see. Space and I/O errors
 * (SQLITE_FULL, SQLITE_IOERR_* on a file system with no room left, ENOSPC)
 * start with "ENOSPC: the state directory's file system is full" and name the
 * directory; other failures say what failed and where.
 */
export function writeError(e: unknown, dbPath: string): FractalError {
  const dir = dirname(dbPath);
  const code = String((e as { code?: unknown })?.code ?? '');
  const msg = e instanceof Error ? e.message : String(e);
  const free = freeBytes(dir);
  const full = SPACE_CODES.has(code) || (code.startsWith('SQLITE_IOERR') && free !== undefined && free < 1024 * 1024);
  if (full) {
    return new FractalError(ErrorCodes.NO_SPACE, `ENOSPC: the state directory's file system is full (${dir}): free space there or give the instance a larger --state-dir; running jobs keep running and their state is kept in memory and written as soon as space returns (${code || msg})`);
  }
  if (code.startsWith('SQLITE_IOERR')) {
    return new FractalError(ErrorCodes.IO, `EIO: the state database ${dbPath} cannot be written (${code}: ${msg}): check the disk under ${dir} (dmesg); the broker retries by itself and keeps the writes in memory meanwhile`);
  }
  return new FractalError(ErrorCodes.INTERNAL, `the state database ${dbPath} cannot be written (${code ? code + ': ' : ''}${msg}); the broker keeps the writes in memory and retries; see the broker log`);
}

/** An error opening the store at start as a one-line message that names the file and what to do. */
export function openError(e: unknown, dbPath: string): FractalError {
  if (e instanceof FractalError) return e;
  const code = String((e as { code?: unknown })?.code ?? '');
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new FractalError(ErrorCodes.CORRUPT, `the state database ${dbPath} is damaged (${code}: ${msg}): move it aside (mv ${dbPath} ${dbPath}.damaged; also its -wal and -shm files) to start with an empty state, or restore it from a backup, then start again`);
  }
  if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH' || /cannot open database/i.test(msg)) {
    return new FractalError(ErrorCodes.PERMISSION, `cannot open the state database ${dbPath} (${code ? code + ': ' : ''}${msg}): check that ${dirname(dbPath)} exists and that ${dbPath} is readable and writable by the instance owner`);
  }
  if (SPACE_CODES.has(code) || code.startsWith('SQLITE_IOERR')) {
    const w = writeError(e, dbPath);
    return new FractalError(w.code, `cannot open the state database: ${w.message.replace(/; running jobs keep running.*$/, '')}`);
  }
  return new FractalError(ErrorCodes.INTERNAL, `cannot open the state database ${dbPath} (${code ? code + ': ' : ''}${msg}): move it aside or restore it from a backup if this persists`);
}
