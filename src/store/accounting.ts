/**
 * Accounting tables in the instance's SQLite database: accounts (a tree with
 * shares and limits), users' associations with accounts, one usage row per
 * finished job, and the decayed usage per association.
 *
 * Every row carries a `cluster` column so that one shared database (a
 * PostgreSQL server later) can hold several clusters' accounting; the
 * statements use only portable SQL (no SQLite-only functions).
 */
import type { Database as Db, Statement } from 'better-sqlite3';

export interface AccountRow {
  name: string;
  parent: string | null;
  shares: number;
  max_running: number | null;
  max_cores: number | null;
  description: string;
}

export interface UserRow {
  user: string;
  account: string;
  shares: number;
  max_running: number | null;
  max_cores: number | null;
  is_default: number;
}

export interface UsageRow {
  jobid: number;
  user: string;
  account: string;
  t_start: number;
  t_end: number;
  core_seconds: number;
  gpu_seconds: number;
}

/** A quality of service: a priority boost, a limit, and which QOS its jobs may preempt. */
export interface QosRow {
  name: string;
  priority: number;
  max_running: number | null;
  /** Comma-separated QOS names this one may preempt. */
  preempt: string;
  /** What happens to a preempted job of this QOS: requeue or cancel. */
  preempt_mode: 'requeue' | 'cancel';
}

/** Decayed usage of one association (a user in an account) at time `t_ref`. */
export interface DecayedRow {
  account: string;
  user: string;
  usage: number;
  t_ref: number;
}

export const ACCOUNTING_SCHEMA = `
CREATE TABLE IF NOT EXISTS acct_accounts (
  cluster TEXT NOT NULL, name TEXT NOT NULL, parent TEXT, shares REAL NOT NULL DEFAULT 1,
  max_running INTEGER, max_cores INTEGER, description TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (cluster, name));
CREATE TABLE IF NOT EXISTS acct_users (
  cluster TEXT NOT NULL, user TEXT NOT NULL, account TEXT NOT NULL, shares REAL NOT NULL DEFAULT 1,
  max_running INTEGER, max_cores INTEGER, is_default INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (cluster, user, account));
CREATE TABLE IF NOT EXISTS acct_usage (
  cluster TEXT NOT NULL, jobid INTEGER NOT NULL, user TEXT NOT NULL, account TEXT NOT NULL,
  t_start REAL NOT NULL, t_end REAL NOT NULL, core_seconds REAL NOT NULL, gpu_seconds REAL NOT NULL,
  PRIMARY KEY (cluster, jobid));
CREATE INDEX IF NOT EXISTS acct_usage_end ON acct_usage(cluster, t_end);
CREATE TABLE IF NOT EXISTS acct_qos (
  cluster TEXT NOT NULL, name TEXT NOT NULL, priority REAL NOT NULL DEFAULT 0, max_running INTEGER,
  preempt TEXT NOT NULL DEFAULT '', preempt_mode TEXT NOT NULL DEFAULT 'requeue',
  PRIMARY KEY (cluster, name));
CREATE TABLE IF NOT EXISTS acct_decayed (
  cluster TEXT NOT NULL, account TEXT NOT NULL, user TEXT NOT NULL, usage REAL NOT NULL, t_ref REAL NOT NULL,
  PRIMARY KEY (cluster, account, user));
`;

export class AccountingDb {
  private readonly st: Record<string, Statement>;

  constructor(private readonly db: Db, readonly cluster: string) {
    db.exec(ACCOUNTING_SCHEMA);
    const p = (sql: string): Statement => db.prepare(sql);
    this.st = {
      accounts: p('SELECT name, parent, shares, max_running, max_cores, description FROM acct_accounts WHERE cluster = ? ORDER BY name'),
      putAccount: p('INSERT OR REPLACE INTO acct_accounts (cluster, name, parent, shares, max_running, max_cores, description) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      delAccount: p('DELETE FROM acct_accounts WHERE cluster = ? AND name = ?'),
      users: p('SELECT user, account, shares, max_running, max_cores, is_default FROM acct_users WHERE cluster = ? ORDER BY user, account'),
      putUser: p('INSERT OR REPLACE INTO acct_users (cluster, user, account, shares, max_running, max_cores, is_default) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      delUser: p('DELETE FROM acct_users WHERE cluster = ? AND user = ? AND account = ?'),
      clearDefault: p('UPDATE acct_users SET is_default = 0 WHERE cluster = ? AND user = ?'),
      usage: p('INSERT OR IGNORE INTO acct_usage (cluster, jobid, user, account, t_start, t_end, core_seconds, gpu_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      usageBetween: p('SELECT jobid, user, account, t_start, t_end, core_seconds, gpu_seconds FROM acct_usage WHERE cluster = ? AND t_end >= ? AND t_start < ? ORDER BY t_end'),
      qos: p('SELECT name, priority, max_running, preempt, preempt_mode FROM acct_qos WHERE cluster = ? ORDER BY priority DESC, name'),
      putQos: p('INSERT OR REPLACE INTO acct_qos (cluster, name, priority, max_running, preempt, preempt_mode) VALUES (?, ?, ?, ?, ?, ?)'),
      delQos: p('DELETE FROM acct_qos WHERE cluster = ? AND name = ?'),
      decayed: p('SELECT account, user, usage, t_ref FROM acct_decayed WHERE cluster = ?'),
      putDecayed: p('INSERT OR REPLACE INTO acct_decayed (cluster, account, user, usage, t_ref) VALUES (?, ?, ?, ?, ?)'),
    };
  }

  accounts(): AccountRow[] {
    return this.st['accounts']!.all(this.cluster) as AccountRow[];
  }

  putAccount(a: AccountRow): void {
    this.st['putAccount']!.run(this.cluster, a.name, a.parent, a.shares, a.max_running, a.max_cores, a.description);
  }

  deleteAccount(name: string): void {
    this.st['delAccount']!.run(this.cluster, name);
  }

  users(): UserRow[] {
    return this.st['users']!.all(this.cluster) as UserRow[];
  }

  /** Adds or replaces an association; `is_default` clears the user's other default first. */
  putUser(u: UserRow): void {
    this.db.transaction(() => {
      if (u.is_default) this.st['clearDefault']!.run(this.cluster, u.user);
      this.st['putUser']!.run(this.cluster, u.user, u.account, u.shares, u.max_running, u.max_cores, u.is_default);
    })();
  }

  deleteUser(user: string, account: string): void {
    this.st['delUser']!.run(this.cluster, user, account);
  }

  /** Records finished jobs' usage and the associations' new decayed totals, in one transaction. */
  recordUsage(usage: readonly UsageRow[], decayed: readonly DecayedRow[]): void {
    this.db.transaction(() => {
      for (const u of usage) this.st['usage']!.run(this.cluster, u.jobid, u.user, u.account, u.t_start, u.t_end, u.core_seconds, u.gpu_seconds);
      for (const d of decayed) this.st['putDecayed']!.run(this.cluster, d.account, d.user, d.usage, d.t_ref);
    })();
  }

  /** Usage rows of jobs that ran (at least partly) in [from, to). */
  usageBetween(from: number, to: number): UsageRow[] {
    return this.st['usageBetween']!.all(this.cluster, from, to) as UsageRow[];
  }

  qos(): QosRow[] {
    return this.st['qos']!.all(this.cluster) as QosRow[];
  }

  putQos(q: QosRow): void {
    this.st['putQos']!.run(this.cluster, q.name, q.priority, q.max_running, q.preempt, q.preempt_mode);
  }

  deleteQos(name: string): void {
    this.st['delQos']!.run(this.cluster, name);
  }

  decayed(): DecayedRow[] {
    return this.st['decayed']!.all(this.cluster) as DecayedRow[];
  }
}
