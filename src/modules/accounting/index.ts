/**
 * accounting (rank 0): accounts in a tree with shares and limits, users'
 * associations with accounts, usage recorded from every finished job
 * (core-seconds and GPU-seconds), decayed with a half-life, and the fair-share
 * factor of every association (fairshare.ts). Data lives in the instance's
 * SQLite store (store/accounting.ts), keyed by cluster name.
 *
 * Topics: accounting.{account-add,account-modify,account-delete,user-add,
 * user-modify,user-delete} (owner), accounting.{list,usage} (anyone),
 * accounting.check (internal: which account a job is charged to).
 * Events: subscribes to `job-manager.inactive`; publishes `accounting.update`
 * ({factors: {"account:user": factor}}) after every change.
 *
 * Attributes: `cluster` (default "cluster"), `accounting.half-life` (default
 * 7d), `accounting.gpu-weight` (billing seconds per GPU-second, default 0),
 * `accounting.enforce` (true: users must have an association to submit).
 */
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { parseDuration } from '../../jobspec/index.js';
import type { AccountingDb, AccountRow, QosRow, UserRow } from '../../store/index.js';
import type { BrokerModule, ModuleContext, Req } from '../../service/index.js';
import { userId, userName } from '../../users/index.js';
import { assocKey, decay, fairShare, type ShareResult } from './fairshare.js';

/** The account jobs are charged to when the user has no association and accounting is not enforced. */
export const DEFAULT_ACCOUNT = 'root';

interface InactiveJob {
  id: number;
  userid: number;
  account?: string;
  t_run?: number;
  t_inactive: number;
  ncores: number;
  ngpus: number;
}

/** How long finished jobs wait to be recorded together (usage is not latency-critical; readers flush it). */
const RECORD_DELAY_MS = 100;
const NAME = /^[A-Za-z_][\w.-]{0,63}$/;

function name(v: unknown, what: string): string {
  if (typeof v !== 'string' || !NAME.test(v)) throw invalid(`${what} must be a name of letters, digits, . _ - (starting with a letter or _), got ${JSON.stringify(v)}`);
  return v;
}

function limit(v: unknown, what: string): number | null {
  if (v === undefined || v === null || v === -1) return null;
  if (!Number.isInteger(v) || (v as number) < 0) throw invalid(`${what} must be a whole number >= 0 (or -1 for no limit), got ${JSON.stringify(v)}`);
  return v as number;
}

function shares(v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(`shares must be a number >= 0, got ${JSON.stringify(v)}`);
  return v;
}

export class Accounting implements BrokerModule {
  readonly name = 'accounting';
  readonly ranks = 'leader' as const;
  private ctx!: ModuleContext;
  private db!: AccountingDb;
  private halfLife = 7 * 86400;
  private gpuWeight = 0;
  private enforce = false;
  /**
   * Finished jobs waiting to be recorded: one transaction (and one update of the fair-share
   * factors) per RECORD_DELAY_MS, not per job; reads of usage record what waits first.
   */
  private finished: InactiveJob[] = [];
  private recordTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Set by stop(): work deferred to a later turn must not touch the store, which closes next. */
  private stopped = false;

  stop(): void {
    // The store is still open while modules stop: record what finished in this turn now.
    if (this.finished.length > 0) this.recordFinished();
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.recordTimer);
  }

  start(ctx: ModuleContext): void {
    this.ctx = ctx;
    if (!ctx.store) throw new Error('accounting needs the instance store (rank 0)');
    const a = ctx.broker.attrs;
    this.db = ctx.store.accounting(name(a['cluster'] ?? 'cluster', '-o cluster'));
    if (a['accounting.half-life'] !== undefined) this.halfLife = parseDuration(a['accounting.half-life']);
    if (!(this.halfLife > 0)) throw invalid('-o accounting.half-life must be a duration > 0, e.g. 7d');
    if (a['accounting.gpu-weight'] !== undefined) this.gpuWeight = Number(a['accounting.gpu-weight']);
    if (!(this.gpuWeight >= 0)) throw invalid('-o accounting.gpu-weight must be a number >= 0');
    this.enforce = a['accounting.enforce'] === 'true';
    ctx.register([
      { topic: 'accounting.account-add', ownerOnly: true, handler: (r) => this.putAccount(r.payload, false) },
      { topic: 'accounting.account-modify', ownerOnly: true, handler: (r) => this.putAccount(r.payload, true) },
      { topic: 'accounting.account-delete', ownerOnly: true, handler: (r) => this.deleteAccount(r.payload as { name: string }) },
      { topic: 'accounting.user-add', ownerOnly: true, handler: (r) => this.putUser(r.payload, false) },
      { topic: 'accounting.user-modify', ownerOnly: true, handler: (r) => this.putUser(r.payload, true) },
      { topic: 'accounting.user-delete', ownerOnly: true, handler: (r) => this.deleteUser(r.payload as { user: string; account: string }) },
      { topic: 'accounting.qos-add', ownerOnly: true, handler: (r) => this.putQos(r.payload, false) },
      { topic: 'accounting.qos-modify', ownerOnly: true, handler: (r) => this.putQos(r.payload, true) },
      { topic: 'accounting.qos-delete', ownerOnly: true, handler: (r) => this.deleteQos(r.payload as { name: string }) },
      { topic: 'accounting.list', handler: () => this.list() },
      { topic: 'accounting.usage', handler: (r) => this.usage(r) },
      { topic: 'accounting.check', internal: true, handler: (r) => this.check(r.payload as { userid: number; account?: string }) },
    ]);
    ctx.subscribe('job-manager.inactive', (_t, p) => {
      if (this.finished.push(p as InactiveJob) === 1 && !this.retryTimer) {
        this.recordTimer = setTimeout(() => { this.recordTimer = undefined; this.recordFinished(); }, RECORD_DELAY_MS);
      }
    });
    // Tell the job manager the current factors once it is up.
    setImmediate(() => { if (!this.stopped) this.publish(); });
  }

  // ---- accounts and users --------------------------------------------------------------

  private putAccount(p: unknown, modify: boolean): unknown {
    const q = (p ?? {}) as Partial<AccountRow> & { name?: unknown };
    const n = name(q.name, 'the account name');
    const old = this.db.accounts().find((a) => a.name === n);
    if (modify && !old) throw new FractalError(ErrorCodes.NOT_FOUND, `no account "${n}" (see \`fractal account list\`)`);
    if (!modify && old) throw new FractalError(ErrorCodes.BUSY, `account "${n}" exists; change it with \`fractal account modify\``);
    if (n === DEFAULT_ACCOUNT) throw invalid(`"${DEFAULT_ACCOUNT}" is the implicit root of the account tree; choose another name`);
    let parent = q.parent === undefined ? (old?.parent ?? null) : q.parent;
    if (parent === DEFAULT_ACCOUNT || parent === '') parent = null;
    if (parent !== null) {
      name(parent, 'the parent account');
      const all = this.db.accounts();
      if (!all.some((a) => a.name === parent)) throw new FractalError(ErrorCodes.NOT_FOUND, `no parent account "${parent}"; add it first`);
      for (let a: string | null = parent; a !== null; a = all.find((x) => x.name === a)?.parent ?? null) {
        if (a === n) throw invalid(`account "${n}" cannot be under "${parent}": that would make a cycle`);
      }
    }
    const row: AccountRow = {
      name: n, parent,
      shares: shares(q.shares, old?.shares ?? 1),
      max_running: q.max_running === undefined ? (old?.max_running ?? null) : limit(q.max_running, 'max running jobs'),
      max_cores: q.max_cores === undefined ? (old?.max_cores ?? null) : limit(q.max_cores, 'max cores'),
      description: typeof q.description === 'string' ? q.description : (old?.description ?? ''),
    };
    this.db.putAccount(row);
    this.publish();
    return row;
  }

  private deleteAccount(p: { name: string }): unknown {
    const n = name(p?.name, 'the account name');
    if (!this.db.accounts().some((a) => a.name === n)) throw new FractalError(ErrorCodes.NOT_FOUND, `no account "${n}"`);
    const kids = this.db.accounts().filter((a) => a.parent === n).map((a) => a.name);
    const users = this.db.users().filter((u) => u.account === n).map((u) => u.user);
    if (kids.length || users.length) {
      throw new FractalError(ErrorCodes.BUSY, `account "${n}" still has ${[...kids.map((k) => `account ${k}`), ...users.map((u) => `user ${u}`)].join(', ')}; delete or move them first`);
    }
    this.db.deleteAccount(n);
    this.publish();
    return {};
  }

  private putUser(p: unknown, modify: boolean): unknown {
    const q = (p ?? {}) as Partial<UserRow> & { default?: boolean };
    const user = name(q.user, 'the user name');
    const account = name(q.account, 'the account');
    if (!this.db.accounts().some((a) => a.name === account)) throw new FractalError(ErrorCodes.NOT_FOUND, `no account "${account}"; add it with \`fractal account add ${account}\``);
    const mine = this.db.users().filter((u) => u.user === user);
    const old = mine.find((u) => u.account === account);
    if (modify && !old) throw new FractalError(ErrorCodes.NOT_FOUND, `user ${user} has no association with account ${account}`);
    if (!modify && old) throw new FractalError(ErrorCodes.BUSY, `user ${user} is already in account ${account}; change it with \`fractal account modify-user\``);
    const row: UserRow = {
      user, account,
      shares: shares(q.shares, old?.shares ?? 1),
      max_running: q.max_running === undefined ? (old?.max_running ?? null) : limit(q.max_running, 'max running jobs'),
      max_cores: q.max_cores === undefined ? (old?.max_cores ?? null) : limit(q.max_cores, 'max cores'),
      // The first association is the default one.
      is_default: q.default === true || (mine.length === 0) || (q.default === undefined && old?.is_default === 1) ? 1 : 0,
    };
    this.db.putUser(row);
    this.publish();
    return row;
  }

  private deleteUser(p: { user: string; account: string }): unknown {
    const user = name(p?.user, 'the user name');
    const account = name(p?.account, 'the account');
    if (!this.db.users().some((u) => u.user === user && u.account === account)) {
      throw new FractalError(ErrorCodes.NOT_FOUND, `user ${user} has no association with account ${account}`);
    }
    this.db.deleteUser(user, account);
    this.publish();
    return {};
  }

  // ---- quality of service ------------------------------------------------------------------

  private putQos(p: unknown, modify: boolean): unknown {
    const q = (p ?? {}) as Partial<QosRow> & { preempt?: unknown };
    const n = name(q.name, 'the QOS name');
    const all = this.db.qos();
    const old = all.find((x) => x.name === n);
    if (modify && !old) throw new FractalError(ErrorCodes.NOT_FOUND, `no QOS "${n}" (see \`fractal qos list\`)`);
    if (!modify && old) throw new FractalError(ErrorCodes.BUSY, `QOS "${n}" exists; change it with \`fractal qos modify\``);
    let preempt = old?.preempt ?? '';
    if (q.preempt !== undefined) {
      if (!Array.isArray(q.preempt)) throw invalid('preempt must be a list of QOS names');
      for (const x of q.preempt) {
        name(x, 'a preemptable QOS');
        if (x === n) throw invalid(`QOS "${n}" cannot preempt itself`);
        if (!all.some((y) => y.name === x)) throw new FractalError(ErrorCodes.NOT_FOUND, `no QOS "${String(x)}" to preempt; add it first`);
      }
      preempt = (q.preempt as string[]).join(',');
    }
    const mode = q.preempt_mode ?? old?.preempt_mode ?? 'requeue';
    if (mode !== 'requeue' && mode !== 'cancel') throw invalid(`preempt mode must be requeue or cancel (got ${JSON.stringify(mode)})`);
    const priority = q.priority ?? old?.priority ?? 0;
    if (typeof priority !== 'number' || !Number.isFinite(priority) || priority < 0) throw invalid(`a QOS priority is a number >= 0, got ${JSON.stringify(priority)}`);
    const row: QosRow = {
      name: n, priority, preempt, preempt_mode: mode,
      max_running: q.max_running === undefined ? (old?.max_running ?? null) : limit(q.max_running, 'max running jobs'),
    };
    this.db.putQos(row);
    this.publish();
    return row;
  }

  private deleteQos(p: { name: string }): unknown {
    const n = name(p?.name, 'the QOS name');
    const all = this.db.qos();
    if (!all.some((q) => q.name === n)) throw new FractalError(ErrorCodes.NOT_FOUND, `no QOS "${n}"`);
    const users = all.filter((q) => q.preempt.split(',').includes(n)).map((q) => q.name);
    if (users.length) throw new FractalError(ErrorCodes.BUSY, `QOS ${users.join(', ')} may preempt "${n}"; change them first`);
    this.db.deleteQos(n);
    this.publish();
    return {};
  }

  // ---- usage and fair share ----------------------------------------------------------------

  /** Records the finished jobs that wait for the timer, for a reader that must see them. */
  private recordNow(): void {
    if (this.finished.length === 0 || this.retryTimer) return;
    clearTimeout(this.recordTimer);
    this.recordTimer = undefined;
    this.recordFinished();
  }

  private recordFinished(): void {
    const jobs = this.finished;
    this.finished = [];
    const decayed = new Map(this.db.decayed().map((d) => [assocKey(d.account, d.user), d]));
    const usage = [];
    for (const j of jobs) {
      if (j.t_run === undefined || !(j.t_inactive > j.t_run)) continue;
      const user = userName(j.userid);
      const account = j.account ?? DEFAULT_ACCOUNT;
      const seconds = j.t_inactive - j.t_run;
      const core = seconds * j.ncores, gpu = seconds * j.ngpus;
      const prev = decayed.get(assocKey(account, user));
      const now = Math.max(j.t_inactive, prev?.t_ref ?? 0);
      const d = { account, user, usage: (prev ? decay(prev.usage, prev.t_ref, now, this.halfLife) : 0) + core + this.gpuWeight * gpu, t_ref: now };
      decayed.set(assocKey(account, user), d);
      usage.push({ jobid: j.id, user, account, t_start: j.t_run, t_end: j.t_inactive, core_seconds: core, gpu_seconds: gpu });
    }
    if (usage.length === 0) return;
    try {
      this.db.recordUsage(usage, [...decayed.values()]);
    } catch (e) {
      // A full disk (or another write failure) must neither kill the broker nor lose the usage:
      // the transaction rolled back, so the same jobs are recorded again later (docs/reliability.md).
      this.finished = [...jobs, ...this.finished];
      if (!this.retryTimer) {
        this.ctx.log(`usage of ${jobs.length} finished job(s) not recorded yet (${(e as Error).message}); retrying`);
        this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.recordFinished(); }, 1000);
      }
      return;
    }
    this.publish();
  }

  /** Fair share of every association now. */
  private shares(now = Date.now() / 1000): ReturnType<typeof fairShare> {
    const usage = new Map(this.db.decayed().map((d) => [assocKey(d.account, d.user), decay(d.usage, d.t_ref, now, this.halfLife)]));
    return fairShare(
      this.db.accounts(),
      this.db.users().map((u) => ({ user: u.user, account: u.account, shares: u.shares, usage: usage.get(assocKey(u.account, u.user)) ?? 0 })),
    );
  }

  private publish(): void {
    const fs = this.shares();
    // Keyed "account:uid": the job manager knows jobs by uid.
    const factors: Record<string, number> = {};
    for (const [k, r] of fs.assocs) {
      const i = k.indexOf(':');
      factors[`${k.slice(0, i)}:${userId(k.slice(i + 1))}`] = r.factor;
    }
    const qos: Record<string, { priority: number; preempt: string[]; mode: string }> = {};
    for (const q of this.db.qos()) qos[q.name] = { priority: q.priority, preempt: q.preempt ? q.preempt.split(',') : [], mode: q.preempt_mode };
    // Limits, for the job manager: by "account:uid", by account, by QOS.
    const lim = (x: { max_running: number | null; max_cores?: number | null }) => ({ max_running: x.max_running, max_cores: x.max_cores ?? null });
    const has = (x: { max_running: number | null; max_cores?: number | null }) => x.max_running !== null || (x.max_cores ?? null) !== null;
    const limits = {
      assoc: Object.fromEntries(this.db.users().filter(has).map((u) => [`${u.account}:${userId(u.user)}`, lim(u)])),
      account: Object.fromEntries(this.db.accounts().filter(has).map((a) => [a.name, lim(a)])),
      qos: Object.fromEntries(this.db.qos().filter(has).map((q) => [q.name, lim(q)])),
    };
    this.ctx.publish('accounting.update', { factors, qos, limits });
  }

  private list(): unknown {
    this.recordNow();
    const fs = this.shares();
    const decayed = new Map(this.db.decayed().map((d) => [assocKey(d.account, d.user), decay(d.usage, d.t_ref, Date.now() / 1000, this.halfLife)]));
    const share = (r: ShareResult | undefined) => ({ norm_shares: r?.shares ?? 0, norm_usage: r?.usage ?? 0, fairshare: r?.factor ?? 0 });
    return {
      cluster: this.db.cluster,
      halfLife: this.halfLife,
      accounts: this.db.accounts().map((a) => ({ ...a, ...share(fs.accounts.get(a.name)) })),
      qos: this.db.qos(),
      users: this.db.users().map((u) => ({ ...u, ...share(fs.assocs.get(assocKey(u.account, u.user))), decayed: decayed.get(assocKey(u.account, u.user)) ?? 0 })),
    };
  }

  private usage(req: Req): unknown {
    this.recordNow();
    const p = (req.payload ?? {}) as { from?: number; to?: number; by?: string };
    const to = p.to ?? Date.now() / 1000 + 1;
    const from = p.from ?? 0;
    if (!Number.isFinite(from) || !Number.isFinite(to) || to <= from) throw invalid('usage needs a period with from < to (epoch seconds)');
    const by = p.by ?? 'user';
    if (!['user', 'account', 'association'].includes(by)) throw invalid(`usage --by must be user, account or association (got "${by}")`);
    const rows = new Map<string, { key: string; jobs: number; core_seconds: number; gpu_seconds: number }>();
    for (const u of this.db.usageBetween(from, to)) {
      // Only the part of each job inside the period counts.
      const len = u.t_end - u.t_start;
      const part = len > 0 ? (Math.min(u.t_end, to) - Math.max(u.t_start, from)) / len : 1;
      const key = by === 'user' ? u.user : by === 'account' ? u.account : assocKey(u.account, u.user);
      const r = rows.get(key) ?? { key, jobs: 0, core_seconds: 0, gpu_seconds: 0 };
      r.jobs++;
      r.core_seconds += u.core_seconds * part;
      r.gpu_seconds += u.gpu_seconds * part;
      rows.set(key, r);
    }
    return { from, to, by, rows: [...rows.values()].sort((a, b) => b.core_seconds - a.core_seconds) };
  }

  /** The account a job of `userid` is charged to (its request, else the user's default). */
  private check(p: { userid: number; account?: string; qos?: string }): unknown {
    if (p?.qos !== undefined && !this.db.qos().some((q) => q.name === p.qos)) {
      throw new FractalError(ErrorCodes.NOT_FOUND, `no QOS "${String(p.qos)}"; the instance has ${this.db.qos().map((q) => q.name).join(', ') || 'none'} (see \`fractal qos list\`)`);
    }
    const user = userName(p?.userid);
    const mine = this.db.users().filter((u) => u.user === user);
    if (p.account !== undefined) {
      const account = name(p.account, '--account');
      if (mine.some((u) => u.account === account)) return { account, user };
      if (!this.enforce && mine.length === 0 && (account === DEFAULT_ACCOUNT || this.db.accounts().some((a) => a.name === account))) return { account, user };
      throw new FractalError(ErrorCodes.PERMISSION, `user ${user} may not charge account "${account}"${mine.length ? `; use one of ${mine.map((u) => u.account).join(', ')}` : ''} (see \`fractal account list\`)`);
    }
    const dflt = mine.find((u) => u.is_default === 1) ?? mine[0];
    if (dflt) return { account: dflt.account, user };
    if (this.enforce) throw new FractalError(ErrorCodes.PERMISSION, `user ${user} has no account in this instance; an administrator adds one with \`fractal account add-user ${user} ACCOUNT\``);
    return { account: DEFAULT_ACCOUNT, user };
  }
}
