/**
 * job-manager: owns every job's life cycle. Each job is driven by its event
 * log (Flux RFC 21): `post` appends an event, applies it with the pure
 * reducer, persists it, tells watchers, then runs `action`, which performs
 * the idempotent side effect the new state calls for (ask the scheduler for
 * resources, ask exec to start, free, clean). Restart replays stored logs.
 *
 * Topics: job-manager.{submit,list,info,eventlog,journal,wait,cancel,raise,
 * urgency,update,queue-*,stats}.
 */
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { durationLimitProblem, parseDuration, type JobRequest } from '../../jobspec/index.js';
import { MAX_TIMER_MS } from '../../timers/index.js';
import {
  ROLE_OWNER, type Cred, type ExecStartResponse, type JobEvent, type JobInfo, type ListRequest, type SchedAllocRequest, type SchedAllocResponse, type SchedAnnotations, type WaitResponse, type JobStateName,
} from '../../protocol/index.js';
import type { JobRecord, Store } from '../../store/index.js';
import { Rv1 } from '../../resource/index.js';
import { DEFERRED, type BrokerModule, type ModuleContext, type Req, type ServiceEntry } from '../../service/index.js';
import { applyEvent, describeStatus, newJob, resultOf, returnCodeOf, signalName, signalOf, type Job } from './job.js';
import { evaluate, fromDescription, parseDependencies, type Dependency } from './deps.js';
import { MultiFactor, accountOf, priorityPlugin, type PriorityPlugin } from './priority.js';
import { EnvPool } from './env-pool.js';
import { Limits, checkQueued, queuedLimits, type LimitTables, type QueuedLimits } from './limits.js';

/** Runtime bookkeeping of requests in flight (not job state: never persisted). */
interface Flight {
  alloc?: boolean;
  exec?: boolean;
  free?: boolean;
  cancelAlloc?: boolean;
  killSent?: boolean;
}

/** Something a client or another module is told, held until the commit that makes it true: a job event for watchers, or a callback. */
type Note = { id: number; ev: JobEvent } | (() => void);

/** Requests that change state: refused at once while the store cannot write, answered only once their changes are durable. */
const MUTATING = new Set(['job-manager.cancel', 'job-manager.raise', 'job-manager.urgency', 'job-manager.update', 'job-manager.memo', 'job-manager.queue-enable', 'job-manager.queue-start']);
/** Requests whose immediate answers report state: answered once what they report is durable. */
const REPORTING = new Set(['job-manager.wait']);

interface SubmitPayload {
  jobspec: Record<string, unknown>;
  request: JobRequest;
  name: string;
  urgency: number;
  flags: number;
}

const MAX_PRIORITY = 4294967295;
/** Unreaped failed results kept for `wait --all` (ids only); older ones are counted, not detailed. */
const MAX_UNREAPED = 100000;
/** Failed results detailed in one `wait --all` answer (the count covers all). */
const REAP_DETAILS = 1000;
/** Jobs canceled per event-loop turn by one cancel request. */
const CANCEL_SLICE = 2000;

/** `job-manager.wait` with `all: true`: the failures it reaped. */
interface WaitAllResponse {
  failed: number;
  /** The first REAP_DETAILS failed results, by id. */
  jobs: WaitResponse[];
}
const STATE_GROUPS: Record<string, JobStateName[]> = {
  pending: ['DEPEND', 'PRIORITY', 'SCHED'],
  running: ['RUN', 'CLEANUP'],
  active: ['NEW', 'DEPEND', 'PRIORITY', 'SCHED', 'RUN', 'CLEANUP'],
  inactive: ['INACTIVE'],
  all: ['NEW', 'DEPEND', 'PRIORITY', 'SCHED', 'RUN', 'CLEANUP', 'INACTIVE'],
};

export function expandStates(states: string[] | undefined): Set<JobStateName> {
  const out = new Set<JobStateName>();
  for (const s of states ?? ['active']) {
    const k = s.toLowerCase();
    const group = STATE_GROUPS[k];
    if (group) group.forEach((g) => out.add(g));
    else if ((STATE_GROUPS['all'] as string[]).includes(s.toUpperCase())) out.add(s.toUpperCase() as JobStateName);
    else throw invalid(`unknown job state "${s}": use new, depend, priority, sched, run, cleanup, inactive, or a group: pending, running, active, inactive, all`);
  }
  return out;
}

export class JobManager implements BrokerModule {
  readonly name = 'job-manager';
  readonly ranks = 'leader' as const;
  private ctx!: ModuleContext;
  private store!: Store;
  private readonly jobs = new Map<number, Job>();
  private readonly flight = new Map<number, Flight>();
  /** Environments of jobs not started yet, once per distinct content (env-pool.ts). */
  private readonly envs = new EnvPool();
  /** The scheduler's latest annotations of pending jobs (runtime only, as in Flux). */
  private readonly annotations = new Map<number, SchedAnnotations>();
  private nextId = 1;
  /** Jobs that reached INACTIVE (stored ones counted at start), so that stats stay O(1). */
  private inactive = 0;
  private priority!: PriorityPlugin;
  private readonly limits = new Limits();
  private queued!: QueuedLimits;
  /** Pending jobs held back by a limit, with the limit. */
  private readonly limitHeld = new Map<number, string>();
  private reprioritizeTimer: NodeJS.Timeout | undefined;
  /** target job id → jobs waiting on it. */
  private readonly depWaiters = new Map<number, Array<{ id: number; dep: Dependency }>>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly waiters = new Map<number, Req[]>();
  private readonly waitAll: Array<{ req: Req; userid: number | undefined }> = [];
  /** Failed jobs whose result no waiter has collected yet (id → userid): the next `wait --all` reaps them. */
  private readonly unreaped = new Map<number, number>();
  /** Unreaped failures forgotten past MAX_UNREAPED, per user: still counted (not detailed) by `wait --all`. */
  private readonly unreapedOverflow = new Map<number, number>();
  private readonly logWatchers = new Map<number, Set<Req>>();
  private readonly journals = new Set<Req>();
  private readonly drainWaiters: Req[] = [];
  private readonly idleWaiters: Req[] = [];
  /** Active jobs in total, running (RUN/CLEANUP), and active per user: kept incrementally for waiters. */
  private nRunning = 0;
  private readonly activeByUser = new Map<number, number>();
  /** Active jobs per state except NEW (those are the rest of `jobs`), so that stats and queue status cost O(1). */
  private readonly byState = new Map<JobStateName, number>();
  private finishedSinceGc = 0;
  private queueEnabled = true;
  private queueDisabledReason = '';
  private queueStarted = true;
  private stopping = false;
  /** Jobs whose submission is not durable yet: no action runs for them (they may still be forgotten). */
  private readonly unsaved = new Set<number>();
  /** Jobs that became INACTIVE and whose final writes are not durable yet (answered from memory meanwhile). */
  private readonly retiring = new Map<number, Job>();
  /** What waits for the next successful commit, in order (see `release`). */
  private notes: Note[] = [];

  async start(ctx: ModuleContext): Promise<void> {
    this.ctx = ctx;
    if (!ctx.store) throw new Error('job-manager needs the instance store (rank 0)');
    this.store = ctx.store;
    // When the store writes again, the actions held back meanwhile (new allocations, new starts) go ahead.
    this.store.onStatus((failure) => { if (failure === undefined && !this.stopping) for (const id of [...this.jobs.keys()]) this.action(id); });
    this.priority = priorityPlugin(ctx.broker.attrs);
    this.queued = queuedLimits(ctx.broker.attrs);
    this.startPriorityUpdates(ctx);
    ctx.subscribe('accounting.update', (_t, p) => {
      this.limits.set((p as { limits?: LimitTables }).limits ?? {});
      for (const id of [...this.limitHeld.keys()]) this.action(id);
    });
    this.nextId = Math.max(this.store.maxJobId(), this.store.kvGet<number>('job-manager.last-id') ?? 0) + 1;
    this.inactive = this.store.countJobs('INACTIVE');
    const q = this.store.kvGet<{ enabled: boolean; reason: string; started: boolean }>('job-manager.queue');
    if (q) { this.queueEnabled = q.enabled; this.queueDisabledReason = q.reason; this.queueStarted = q.started; }
    ctx.register(this.durableAnswers([
      { topic: 'job-manager.submit', internal: true, handler: (r) => this.submit(r) },
      { topic: 'job-manager.list', handler: (r) => this.list(r.payload as ListRequest, r.cred) },
      { topic: 'job-manager.info', handler: (r) => this.info(r.payload as { id: number }) },
      { topic: 'job-manager.eventlog', handler: (r) => this.eventlog(r) },
      { topic: 'job-manager.journal', handler: (r) => this.journal(r) },
      { topic: 'job-manager.wait', handler: (r) => this.wait(r) },
      { topic: 'job-manager.cancel', handler: (r) => this.cancel(r.payload as { ids?: number[]; all?: boolean; note?: string }, r.cred) },
      { topic: 'job-manager.kill', handler: (r) => this.kill(r.payload as { id: number; signal?: string }, r.cred) },
      { topic: 'job-manager.raise', handler: (r) => this.raise(r.payload as { id: number; type: string; severity: number; note: string }, r.cred) },
      { topic: 'job-manager.urgency', handler: (r) => this.setUrgency(r.payload as { id: number; urgency: number }, r.cred) },
      { topic: 'job-manager.update', handler: (r) => this.update(r.payload as { id: number; updates: Record<string, unknown> }, r.cred) },
      { topic: 'job-manager.memo', handler: (r) => this.memo(r.payload as { id: number; memo: Record<string, unknown> }, r.cred) },
      { topic: 'job-manager.queue-status', handler: () => this.queueStatus() },
      { topic: 'job-manager.queue-enable', ownerOnly: true, handler: (r) => this.queueEnable(r.payload as { enable: boolean; reason?: string }) },
      { topic: 'job-manager.queue-start', ownerOnly: true, handler: (r) => this.queueStart(r.payload as { start: boolean }) },
      { topic: 'job-manager.queue-drain', handler: (r) => this.queueWait(r, this.drainWaiters) },
      { topic: 'job-manager.queue-idle', handler: (r) => this.queueWait(r, this.idleWaiters) },
      { topic: 'job-manager.stats', handler: () => this.stats() },
      { topic: 'job-manager.preempt', internal: true, handler: (r) => this.preempt(r.payload as { id: number; by: number; requeue: boolean }) },
    ]));
    await this.restart();
  }

  stop(): void {
    this.stopping = true;
    if (this.reprioritizeTimer) clearInterval(this.reprioritizeTimer);
    for (const t of this.timers.values()) clearTimeout(t);
  }

  // ---- priorities ------------------------------------------------------------------

  /**
   * Multifactor priorities change with time (age) and usage (fair share):
   * recompute pending jobs' priorities every `priority.interval` (default
   * 60 s), and soon after the accounting module publishes new factors.
   */
  private startPriorityUpdates(ctx: ModuleContext): void {
    const p = this.priority;
    if (!(p instanceof MultiFactor)) return;
    const interval = ctx.broker.attrs['priority.interval'] !== undefined ? parseDuration(ctx.broker.attrs['priority.interval']) : 60;
    // setInterval cannot hold more than ~24.8 days (longer, or inf, would fire every millisecond).
    if (!(interval > 0) || interval * 1000 > MAX_TIMER_MS) throw invalid('-o priority.interval must be a duration > 0 and at most 24d, e.g. 60s');
    let dirty = false;
    ctx.subscribe('accounting.update', (_t, payload) => {
      const u = payload as { factors?: Record<string, number>; qos?: Record<string, { priority: number }> };
      p.factors = new Map(Object.entries(u.factors ?? {}));
      p.qosPriority = new Map(Object.entries(u.qos ?? {}).map(([k, v]) => [k, v.priority]));
      dirty = true;
    });
    void ctx.rpc<{ ranks: { ncores: number }[] }>('resource.acquire', {}).then((inv) => {
      p.totalCores = inv.ranks.reduce((a, r) => a + r.ncores, 0);
    }).catch(() => {});
    this.reprioritizeTimer = setInterval(() => {
      if (dirty || p.timeDependent) this.reprioritize();
      dirty = false;
    }, interval * 1000);
    this.reprioritizeTimer.unref();
  }

  /** Recomputes the priority of every pending job; the scheduler hears of the changes in one message. */
  private reprioritize(): void {
    const changed: [number, number][] = [];
    for (const job of this.jobs.values()) {
      if (job.state !== 'SCHED' || job.urgency === 0 || job.urgency === 31) continue;
      const prio = this.computePriority(job);
      if (prio === job.priority) continue;
      this.post(job, 'priority', { priority: prio });
      if (this.flight.get(job.id)?.alloc) changed.push([job.id, prio]);
    }
    if (changed.length) this.ctx.rpc('sched.prioritize', { jobs: changed }).catch(() => {});
  }

  // ---- the event log ------------------------------------------------------------

  private post(job: Job, name: string, context?: Record<string, unknown>): Job {
    const ev: JobEvent = context === undefined ? { timestamp: Date.now() / 1000, name } : { timestamp: Date.now() / 1000, name, context };
    const seq = job.seq;
    const next = applyEvent(job, ev);
    this.jobs.set(job.id, next);
    this.store.appendEvent(job.id, seq, ev);
    this.notify(next, ev);
    if (next.state !== job.state) {
      this.count(job, -1);
      this.count(next, +1);
      this.onStateChange(next, job.state);
    }
    this.action(next.id);
    return this.jobs.get(job.id) ?? next;
  }

  /** Adds (+1) or removes (-1) a job's contribution to the counters waiters look at. */
  private count(job: Job, d: 1 | -1): void {
    if (job.state === 'INACTIVE' || job.state === 'NEW') return;
    this.byState.set(job.state, (this.byState.get(job.state) ?? 0) + d);
    if (job.state === 'RUN' || job.state === 'CLEANUP') {
      this.nRunning += d;
      this.limits.count(job, d);
      // A running job left: jobs held by a limit may go now.
      if (d < 0 && this.limitHeld.size) for (const id of [...this.limitHeld.keys()]) setImmediate(() => this.action(id));
    }
    this.activeByUser.set(job.userid, (this.activeByUser.get(job.userid) ?? 0) + d);
  }

  /** Watchers hear of an event once it is durable (the commit after `post` queued it), in order. */
  private notify(job: Job, ev: JobEvent): void {
    this.release({ id: job.id, ev });
  }

  /**
   * Holds `n` until the next successful commit (which carries every write
   * queued before it), then delivers it in order. While the store cannot
   * write, notes wait in memory with the writes they describe.
   */
  private release(n: Note): void {
    if (this.notes.push(n) === 1) this.store.afterCommit(this.deliverNotes);
  }

  private readonly deliverNotes = (): void => {
    const notes = this.notes;
    this.notes = [];
    for (const n of notes) {
      if (typeof n === 'function') { n(); continue; }
      for (const r of this.journals) r.respond({ id: n.id, event: n.ev }, true);
      const ws = this.logWatchers.get(n.id);
      if (ws) for (const r of ws) r.respond(n.ev, true);
    }
  };

  /** Resolves once everything changed so far is durable (after the notes queued before it); a client waits, so the commit comes this turn. */
  private durable(): Promise<void> {
    const done = new Promise<void>((resolve) => this.release(resolve));
    this.store.hurry();
    return done;
  }

  /**
   * State-changing requests are refused with the store's error while it
   * cannot write (nothing changes), and answered only after their changes
   * are durable; `wait` answers likewise wait for durability.
   */
  private durableAnswers(entries: ServiceEntry[]): ServiceEntry[] {
    return entries.map((e) => {
      const mutating = MUTATING.has(e.topic);
      if (!mutating && !REPORTING.has(e.topic)) return e;
      const h = e.handler;
      return {
        ...e,
        handler: async (r: Req) => {
          if (mutating && this.store.failure) throw this.store.failure;
          const out = await h(r);
          if (out !== DEFERRED) await this.durable();
          return out;
        },
      };
    });
  }

  private onStateChange(job: Job, _from: JobStateName): void {
    if (job.state === 'RUN') this.resolveDependents(job);
    if (job.state === 'INACTIVE') this.onInactive(job);
    else if (job.state === 'CLEANUP' && this.idleWaiters.length) this.checkQueueWaiters();
  }

  // ---- actions: the side effects each state calls for (idempotent) ----------------

  private action(id: number): void {
    const job = this.jobs.get(id);
    if (!job || this.stopping || this.unsaved.has(id)) return;
    const f = this.flightOf(id);
    // While the store cannot write, no new work starts (held SCHED/RUN jobs go on when it recovers, see start()).
    const writable = this.store.failure === undefined;
    switch (job.state) {
      case 'DEPEND':
        if (job.deps.length === 0) this.post(job, 'depend');
        break;
      case 'PRIORITY':
        this.post(job, 'priority', { priority: this.computePriority(job) });
        break;
      case 'SCHED':
        if (!f.alloc && this.queueStarted && job.priority > 0 && writable) {
          const over = this.limits.check(job);
          if (over !== undefined) this.limitHeld.set(job.id, over);
          else {
            this.limitHeld.delete(job.id);
            this.requestAlloc(job, f);
          }
        }
        else if (f.alloc && !f.cancelAlloc && (job.priority === 0 || !this.queueStarted)) this.cancelAlloc(job, f);
        break;
      case 'RUN':
        if (!f.exec && (writable || job.started)) this.startExec(job, f);
        break;
      case 'CLEANUP':
        this.cleanup(job, f);
        break;
      default:
        break;
    }
  }

  private flightOf(id: number): Flight {
    let f = this.flight.get(id);
    if (!f) { f = {}; this.flight.set(id, f); }
    return f;
  }

  private computePriority(job: Job): number {
    if (job.urgency === 0) return 0;
    if (job.urgency === 31) return MAX_PRIORITY;
    return Math.max(1, Math.min(MAX_PRIORITY - 1, Math.round(this.priority.priority(job, Date.now() / 1000))));
  }

  private requestAlloc(job: Job, f: Flight): void {
    f.alloc = true;
    let resp: SchedAllocResponse | undefined;
    const onData = (p: unknown): void => {
      const r = p as SchedAllocResponse;
      if (r.type === 'annotate') this.annotations.set(job.id, { ...r.annotations.sched });
      else resp = r;
    };
    const payload: SchedAllocRequest = { id: job.id, priority: job.priority, userid: job.userid, t_submit: job.t_submit, request: job.request, jobspec: job.jobspec };
    this.ctx.rpcStream('sched.alloc', payload, onData)
      .then(() => {
        f.alloc = false;
        f.cancelAlloc = false;
        this.annotations.delete(job.id);
        const cur = this.jobs.get(job.id);
        if (!cur || resp === undefined) return;
        if (resp.type === 'success') {
          if (cur.state === 'SCHED') this.post(cur, 'alloc', { R: resp.R as Record<string, unknown> });
          else this.ctx.rpc('sched.free', { id: job.id, R: resp.R }).catch(() => {}); // raced with an exception: give it back
        } else if (resp.type === 'denied') {
          this.post(cur, 'exception', { type: 'alloc', severity: 0, userid: 0, note: resp.note });
        } else {
          this.action(job.id);
        }
      })
      .catch((e: unknown) => {
        f.alloc = false;
        this.annotations.delete(job.id);
        const cur = this.jobs.get(job.id);
        if (cur && cur.state !== 'INACTIVE') this.post(cur, 'exception', { type: 'alloc', severity: 0, userid: 0, note: `scheduler error: ${FractalError.from(e).message}` });
      });
  }

  private cancelAlloc(job: Job, f: Flight): void {
    f.cancelAlloc = true;
    this.ctx.rpc('sched.cancel', { id: job.id }).catch(() => {});
  }

  private startExec(job: Job, f: Flight, reattach = false): void {
    f.exec = true;
    const onResp = (p: unknown) => {
      const r = p as ExecStartResponse;
      const cur = this.jobs.get(job.id);
      if (!cur) return;
      switch (r.type) {
        case 'start': if (!cur.started) this.post(cur, 'start'); break;
        case 'finish': if (!cur.finished) this.post(cur, 'finish', { status: r.status }); break;
        case 'exception': this.post(cur, 'exception', { type: r.etype, severity: r.severity, userid: 0, note: r.note }); break;
        case 'release': {
          f.exec = false;
          if (!cur.released) this.post(this.jobs.get(job.id) ?? cur, 'release', { ranks: 'all', final: true });
          // The executor keeps the result until the job's end is durable (however long the disk stays full).
          this.release(() => { this.ctx.rpc('exec.done', { id: job.id }).catch(() => {}); });
          break;
        }
      }
    };
    this.ctx.rpcStream('exec.start', {
      id: job.id, userid: job.userid, R: job.R, jobspec: this.fullJobspec(job), request: job.request, reattach, started: job.started,
    }, onResp).catch((e: unknown) => {
      f.exec = false;
      const cur = this.jobs.get(job.id);
      if (!cur || cur.state === 'INACTIVE') return;
      if (!cur.exception) this.post(cur, 'exception', { type: 'exec', severity: 0, userid: 0, note: FractalError.from(e).message });
      const now = this.jobs.get(job.id);
      if (now && !now.released) this.post(now, 'release', { ranks: 'all', final: true });
    });
  }

  private cleanup(job: Job, f: Flight): void {
    if (f.alloc) {
      if (!f.cancelAlloc) this.cancelAlloc(job, f);
      return;
    }
    if (f.exec) {
      if (!f.killSent) {
        f.killSent = true;
        this.ctx.rpc('exec.kill', { id: job.id, signal: 'SIGTERM' }).catch(() => {});
      }
      return;
    }
    if (job.R && job.started && !job.released) {
      // Shells ran before a restart and have not been collected: reattach.
      this.startExec(job, f, true);
      return;
    }
    if (job.R && !job.freed) {
      if (f.free) return;
      f.free = true;
      this.ctx.rpc('sched.free', { id: job.id, R: job.R })
        .catch(() => {})
        .finally(() => {
          f.free = false;
          const cur = this.jobs.get(job.id);
          if (cur && !cur.freed) this.post(cur, 'free');
        });
      return;
    }
    if (job.requeue) {
      // A fresh run: forget the in-flight flags of the one that was preempted (kill sent, ...).
      this.flight.delete(job.id);
      this.post(job, 'requeue');
      return;
    }
    this.post(job, 'clean');
  }

  private onInactive(job: Job): void {
    this.finishedSinceGc++;
    this.inactive++;
    this.limitHeld.delete(job.id);
    const t = this.timers.get(job.id);
    if (t) { clearTimeout(t); this.timers.delete(job.id); }
    this.store.finishJob(this.record(job));
    this.envs.drop(job.id);
    this.jobs.delete(job.id);
    this.flight.delete(job.id);
    this.retiring.set(job.id, job);
    this.resolveDependents(job);
    // Waiters, followers and the accounting hear of the end once it is durable.
    this.release(() => {
      this.retiring.delete(job.id);
      if (job.t_run !== undefined && job.t_inactive !== undefined) {
        // Usage for accounting: what the job held, for as long as it ran.
        let ncores = job.request.nslots * job.request.coresPerSlot, ngpus = job.request.nslots * job.request.gpusPerSlot;
        try {
          const R = Rv1.parse(job.R);
          ncores = R.ncores;
          ngpus = R.ngpus;
        } catch { /* no R: the request's counts */ }
        this.ctx.publish('job-manager.inactive', { id: job.id, userid: job.userid, account: accountOf(job), t_run: job.t_run, t_inactive: job.t_inactive, ncores, ngpus });
      }
      const info = this.waitResult(job);
      const collected = this.waiters.get(job.id) ?? [];
      for (const r of collected) r.respond(info);
      this.waiters.delete(job.id);
      if (!info.success && collected.length === 0) this.addUnreaped(job);
      const ws = this.logWatchers.get(job.id);
      if (ws) for (const r of ws) r.respond(null);
      this.logWatchers.delete(job.id);
      this.checkQueueWaiters();
    });
  }

  // ---- dependencies ---------------------------------------------------------------

  private addDependencies(job: Job, deps: Dependency[]): Job {
    let cur = job;
    for (const dep of deps) {
      if (dep.scheme === 'begin-time') {
        if (dep.value * 1000 <= Date.now()) continue;
        cur = this.post(cur, 'dependency-add', { description: dep.description });
        this.armBeginTime(cur.id, dep);
        continue;
      }
      const verdict = this.dependencyVerdict(dep);
      if (verdict === true) continue;
      cur = this.post(cur, 'dependency-add', { description: dep.description });
      if (verdict === false) {
        cur = this.post(cur, 'exception', { type: 'dependency', severity: 0, userid: 0, note: `dependency ${dep.description} can never be satisfied` });
        continue;
      }
      const list = this.depWaiters.get(dep.value) ?? [];
      list.push({ id: cur.id, dep });
      this.depWaiters.set(dep.value, list);
    }
    return cur;
  }

  private armBeginTime(id: number, dep: Dependency): void {
    const ms = Math.max(0, dep.value * 1000 - Date.now());
    // setTimeout caps at ~24.8 days; re-arm for longer waits.
    const t = setTimeout(() => {
      this.timers.delete(id);
      if (dep.value * 1000 > Date.now()) return this.armBeginTime(id, dep);
      const cur = this.jobs.get(id);
      if (cur && cur.deps.includes(dep.description)) this.post(cur, 'dependency-remove', { description: dep.description });
    }, Math.min(ms, 2 ** 31 - 1));
    this.timers.set(id, t);
  }

  private dependencyVerdict(dep: Dependency): boolean | undefined {
    const active = this.jobs.get(dep.value);
    if (active) return evaluate(dep, { state: active.state, success: false, started: active.started });
    const rec = this.stored(dep.value);
    if (!rec) throw invalid(`dependency ${dep.description}: there is no job ${dep.value} in this instance`);
    return evaluate(dep, { state: rec.state, success: rec.result === 'COMPLETED', started: rec.t_run !== null });
  }

  private resolveDependents(target: Job): void {
    const list = this.depWaiters.get(target.id);
    if (!list) return;
    const success = target.state === 'INACTIVE' && resultOf(target) === 'COMPLETED';
    const remaining: typeof list = [];
    for (const w of list) {
      const verdict = evaluate(w.dep, { state: target.state, success, started: target.started });
      const cur = this.jobs.get(w.id);
      if (!cur) continue;
      if (verdict === undefined) { remaining.push(w); continue; }
      if (verdict) this.post(cur, 'dependency-remove', { description: w.dep.description });
      else if (cur.state === 'DEPEND') this.post(cur, 'exception', { type: 'dependency', severity: 0, userid: 0, note: `dependency ${w.dep.description} can never be satisfied` });
    }
    if (remaining.length) this.depWaiters.set(target.id, remaining);
    else this.depWaiters.delete(target.id);
  }

  // ---- submit and restart -------------------------------------------------------

  private async submit(req: Req): Promise<unknown> {
    const p = req.payload as SubmitPayload & { count?: number };
    if (!this.queueEnabled) throw new FractalError(ErrorCodes.DISABLED, `job submission is disabled${this.queueDisabledReason ? ': ' + this.queueDisabledReason : ''} (an administrator can enable it with \`fractal queue enable\`)`);
    const count = p.count ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > 100000) throw invalid('count must be an integer 1-100000');
    checkQueued(this.queued, count, this.jobs.size, this.activeByUser.get(req.cred.userid) ?? 0);
    const system = (p.jobspec['attributes'] as { system?: Record<string, unknown> } | undefined)?.system;
    const deps = parseDependencies(system);
    for (const d of deps) if (d.scheme !== 'begin-time') this.dependencyVerdict(d); // unknown targets are rejected before an id is used
    // The full jobspec (with the environment) lives in the store; memory keeps it without the environment.
    // A full disk refuses new work up front (nothing is allocated, no id is used).
    if (this.store.failure) throw this.store.failure;
    const fullText = JSON.stringify({ jobspec: p.jobspec, request: p.request });
    const lean = withoutEnvironment(p.jobspec);
    const ids: number[] = [];
    const env = system?.['environment'];
    try {
      for (let i = 0; i < count; i++) {
        // Ids are never given back, even when this submission fails: none is ever reused.
        const id = this.nextId++;
        ids.push(id);
        // No action (scheduling, running) until the submission is durable.
        this.unsaved.add(id);
        const job0 = newJob(id, lean, p.request, p.name);
        this.jobs.set(id, job0);
        let job = this.post(job0, 'submit', { userid: req.cred.userid, urgency: p.urgency, flags: p.flags, version: 1 });
        // The job row is written with the first event so that a restart finds the job.
        this.store.putJob(this.record(job, fullText));
        job = this.addDependencies(job, deps);
        if (job.state === 'NEW') this.post(job, 'validate');
      }
      this.envs.hold(ids, env);
      await this.store.flush();
    } catch (e) {
      // Not durable: the jobs never existed (their queued writes are dropped, nothing ran).
      this.forget(ids);
      throw e;
    }
    for (const id of ids) this.unsaved.delete(id);
    for (const id of ids) this.action(id);
    return p.count === undefined ? { id: ids[0] } : { id: ids[0], ids };
  }

  /** Undoes a submission that could not be made durable: its jobs leave memory, the store and every list. */
  private forget(ids: number[]): void {
    if (ids.length === 0) return;
    const gone = new Set(ids);
    this.store.discardJobs(gone);
    this.notes = this.notes.filter((n) => typeof n === 'function' || !gone.has(n.id));
    for (const id of ids) {
      this.unsaved.delete(id);
      this.envs.drop(id);
      const job = this.jobs.get(id);
      if (!job) continue;
      this.count(job, -1);
      this.jobs.delete(id);
      this.flight.delete(id);
      this.annotations.delete(id);
      this.limitHeld.delete(id);
      const t = this.timers.get(id);
      if (t) { clearTimeout(t); this.timers.delete(id); }
      const err = new FractalError(ErrorCodes.NOT_FOUND, `job ${id} was not submitted: its submission could not be saved`);
      for (const r of this.waiters.get(id) ?? []) r.error(err);
      this.waiters.delete(id);
      for (const r of this.logWatchers.get(id) ?? []) r.respond(null);
      this.logWatchers.delete(id);
    }
    for (const [target, list] of this.depWaiters) {
      const keep = list.filter((w) => !gone.has(w.id));
      if (keep.length === list.length) continue;
      if (keep.length) this.depWaiters.set(target, keep);
      else this.depWaiters.delete(target);
    }
    this.checkQueueWaiters();
  }

  /** The job's jobspec as submitted (with its environment), with later jobspec-update changes. */
  private fullJobspec(job: Job): Record<string, unknown> {
    const env = this.envs.take(job.id) ?? this.storedEnvironment(job.id);
    if (env === undefined) return job.jobspec;
    const attrs = (job.jobspec['attributes'] ?? {}) as Record<string, unknown>;
    const sys = (attrs['system'] ?? {}) as Record<string, unknown>;
    return { ...job.jobspec, attributes: { ...attrs, system: { ...sys, environment: env } } };
  }

  /** A job's environment as the store has it (the job is committed: it was acted on). */
  private storedEnvironment(id: number): unknown {
    const rec = this.store.getJob(id);
    if (!rec) return undefined;
    const stored = (JSON.parse(rec.jobspec) as { jobspec: Record<string, unknown> }).jobspec;
    return ((stored['attributes'] as { system?: Record<string, unknown> } | undefined)?.system ?? {})['environment'];
  }

  private async restart(): Promise<void> {
    const ids = this.store.activeJobIds();
    for (const id of ids) {
      const rec = this.store.getJob(id);
      if (!rec) continue;
      const spec = JSON.parse(rec.jobspec) as { jobspec: Record<string, unknown>; request: JobRequest };
      let job = newJob(id, withoutEnvironment(spec.jobspec), spec.request, rec.name);
      for (const ev of this.store.events(id)) job = applyEvent(job, ev);
      this.jobs.set(id, job);
      this.count(job, +1);
    }
    const allocated = [...this.jobs.values()].filter((j) => j.R && !j.freed).map((j) => {
      const reservation = ((j.jobspec['attributes'] as { system?: { reservation?: unknown } } | undefined)?.system)?.reservation;
      return { id: j.id, R: j.R, ...(typeof reservation === 'string' ? { reservation } : {}) };
    });
    await this.ctx.rpc('sched.hello', { jobs: allocated });
    for (const job of this.jobs.values()) {
      for (const d of job.deps) {
        const dep = fromDescription(d);
        if (!dep) continue;
        if (dep.scheme === 'begin-time') this.armBeginTime(job.id, dep);
        else {
          const verdict = this.dependencyVerdictSafe(dep);
          if (verdict === true) this.post(job, 'dependency-remove', { description: d });
          else if (verdict === false) this.post(job, 'exception', { type: 'dependency', severity: 0, userid: 0, note: `dependency ${d} can never be satisfied` });
          else this.depWaiters.set(dep.value, [...(this.depWaiters.get(dep.value) ?? []), { id: job.id, dep }]);
        }
      }
    }
    if (ids.length) this.ctx.log(`restart: replayed ${ids.length} active job(s)`);
    for (const job of [...this.jobs.values()]) {
      if (job.state === 'RUN') this.startExec(job, this.flightOf(job.id), true);
      else this.action(job.id);
    }
  }

  private dependencyVerdictSafe(dep: Dependency): boolean | undefined {
    try { return this.dependencyVerdict(dep); } catch { return false; }
  }

  // ---- records and queries ----------------------------------------------------------

  private record(job: Job, jobspecText = ''): JobRecord {
    const R = job.R as { execution?: { nodelist?: string[] } } | undefined;
    return {
      id: job.id, userid: job.userid, name: job.name, state: job.state, urgency: job.urgency, priority: job.priority,
      t_submit: job.t_submit, t_run: job.t_run ?? null, t_inactive: job.t_inactive ?? null,
      nnodes: job.request.nnodes || (R?.execution?.nodelist ? countHosts(R) : 0), ntasks: job.request.ntasks, ncores: coresOf(job),
      result: job.state === 'INACTIVE' ? resultOf(job) : null,
      returncode: job.state === 'INACTIVE' ? returnCodeOf(job) : null,
      exception: job.exception ? JSON.stringify(job.exception) : null,
      nodelist: R?.execution?.nodelist ? R.execution.nodelist.join(',') : null,
      jobspec: jobspecText,
      R: job.R ? JSON.stringify(job.R) : null,
      waitstatus: job.status ?? null,
      duration: job.request.duration,
    };
  }

  private toInfo(job: Job): JobInfo {
    const R = job.R as { execution?: { nodelist?: string[] } } | undefined;
    const info: JobInfo = {
      id: job.id, userid: job.userid, name: job.name, state: job.state, urgency: job.urgency, priority: job.priority,
      t_submit: job.t_submit, t_run: job.t_run, nnodes: job.request.nnodes || (R ? countHosts(R) : 0), ntasks: job.request.ntasks,
      ncores: coresOf(job), nodelist: R?.execution?.nodelist?.join(','), duration: job.request.duration,
      exception: job.exception, dependencies: job.deps.length ? [...job.deps] : undefined, account: accountOf(job),
    };
    if (typeof job.memo?.['uri'] === 'string') info.uri = job.memo['uri'];
    if (job.state === 'DEPEND') info.reason = job.deps.length ? `dependency (${job.deps.join(', ')})` : 'dependency';
    else if (job.state === 'SCHED' || job.state === 'PRIORITY') {
      const a = this.annotations.get(job.id);
      const held = this.limitHeld.get(job.id);
      info.reason = job.priority === 0 ? 'held' : !this.queueStarted ? 'queue stopped' : held !== undefined ? `limits (${held})` : (a?.reason_pending ?? 'resources');
      if (a?.t_estimate !== undefined) info.t_estimate = a.t_estimate;
    }
    return info;
  }

  private recordToInfo(r: JobRecord): JobInfo {
    return {
      id: r.id, userid: r.userid, name: r.name, state: r.state as JobStateName, urgency: r.urgency, priority: r.priority,
      t_submit: r.t_submit, t_run: r.t_run ?? undefined, t_inactive: r.t_inactive ?? undefined, nnodes: r.nnodes, ntasks: r.ntasks, ncores: r.ncores,
      nodelist: r.nodelist ?? undefined, duration: r.duration, result: r.result ?? undefined, returncode: r.returncode ?? undefined,
      waitstatus: r.waitstatus ?? undefined, exception: r.exception ? (JSON.parse(r.exception) as JobInfo['exception']) : undefined,
      signal: signalOf(r.waitstatus) !== undefined ? signalName(signalOf(r.waitstatus)!) : undefined,
    };
  }

  private list(p: ListRequest, cred: Cred): unknown {
    if (p.states !== undefined && (!Array.isArray(p.states) || p.states.some((x) => typeof x !== 'string'))) throw invalid('states must be a list of state names, e.g. ["pending", "run"]');
    if (p.ids !== undefined && (!Array.isArray(p.ids) || p.ids.some((x) => !Number.isInteger(x)))) throw invalid('ids must be a list of job ids');
    if (p.userid !== undefined && !Number.isInteger(p.userid)) throw invalid('userid must be an integer');
    if (p.limit !== undefined && (!Number.isInteger(p.limit) || p.limit < 0)) throw invalid('limit must be an integer >= 0');
    const states = expandStates(p.states);
    const limit = p.limit && p.limit > 0 ? p.limit : Infinity;
    const ids = p.ids ? new Set(p.ids) : undefined;
    const out: JobInfo[] = [];
    const userid = p.userid;
    for (const job of this.jobs.values()) {
      if (!states.has(job.state)) continue;
      if (userid !== undefined && job.userid !== userid) continue;
      if (ids && !ids.has(job.id)) continue;
      out.push(this.toInfo(job));
    }
    out.sort((a, b) => b.id - a.id);
    if (states.has('INACTIVE') && out.length < limit) {
      const filter = { states: ['INACTIVE'], ...(userid !== undefined ? { userid } : {}), ...(Number.isFinite(limit) ? { limit: limit - out.length } : {}) };
      this.store.commit();
      const recs = ids ? [...ids].map((i) => this.store.getJob(i)).filter((r): r is JobRecord => r?.state === 'INACTIVE') : this.store.listJobs(filter);
      for (const r of recs) out.push(this.recordToInfo(r));
    }
    void cred;
    return { jobs: Number.isFinite(limit) ? out.slice(0, limit) : out };
  }

  /**
   * A job's row from the store; a job that just became inactive (its final
   * writes still queued) is answered from memory. It never forces a commit
   * (a submit calls it between its writes, which must commit together).
   */
  private stored(id: number): JobRecord | undefined {
    const j = this.retiring.get(id);
    const rec = this.store.getJob(id);
    return j && rec ? { ...this.record(j), jobspec: rec.jobspec } : rec;
  }

  private lookup(id: unknown): Job | JobRecord {
    if (typeof id !== 'number' || !Number.isInteger(id)) throw invalid(`job id must be an integer (got ${JSON.stringify(id)})`);
    const j = this.jobs.get(id) ?? this.stored(id);
    if (!j) throw new FractalError(ErrorCodes.NOT_FOUND, `no job ${id} in this instance (list jobs with \`fractal jobs -a\`)`);
    return j;
  }

  private info(p: { id: number }): unknown {
    const j = this.lookup(p?.id);
    const active = this.jobs.get(j.id);
    if (active) return { job: this.toInfo(active), jobspec: this.fullJobspec(active), R: active.R ?? null };
    const r = j as JobRecord;
    return { job: this.recordToInfo(r), jobspec: (JSON.parse(r.jobspec) as { jobspec: unknown }).jobspec, R: r.R ? JSON.parse(r.R) as unknown : null };
  }

  /**
   * Readers of stored logs see every event that happened before their
   * request: when some are still waiting for their commit (spaced while the
   * store is busy, ADR 15), the commit comes now and the read after it.
   */
  private async caughtUp(): Promise<void> {
    if (this.notes.length > 0) await this.durable();
  }

  private async eventlog(req: Req): Promise<unknown> {
    const p = req.payload as { id: number; follow?: boolean };
    const j = this.lookup(p?.id);
    await this.caughtUp();
    // The stored log is exactly the events already released to followers (see `release`): read it,
    // then follow, in the same turn, and each event arrives once.
    for (const ev of this.store.events(j.id)) req.respond(ev, true);
    const active = this.jobs.get(j.id) ?? this.retiring.get(j.id);
    if (!p.follow || !active) return null;
    let set = this.logWatchers.get(j.id);
    if (!set) { set = new Set(); this.logWatchers.set(j.id, set); }
    set.add(req);
    req.onCancel(() => set.delete(req));
    return DEFERRED;
  }

  private async journal(req: Req): Promise<unknown> {
    const p = (req.payload ?? {}) as { backlog?: boolean };
    await this.caughtUp();
    if (p.backlog !== false) {
      // Backlog = what is durable = what was released (see eventlog).
      for (const { jobid, event } of this.store.allEvents()) req.respond({ id: jobid, event }, true);
    }
    req.respond({ id: -1 }, true); // sentinel: backlog done, live events follow
    this.journals.add(req);
    req.onCancel(() => this.journals.delete(req));
    return DEFERRED;
  }

  private waitResult(j: Job): WaitResponse {
    const result = resultOf(j);
    const errstr = j.exception ? excText(j.exception) : describeStatus(j.status);
    return { id: j.id, success: result === 'COMPLETED', result, returncode: returnCodeOf(j), errstr };
  }

  private recordWaitResult(r: JobRecord): WaitResponse {
    const result = r.result ?? 'FAILED';
    const exc = r.exception ? (JSON.parse(r.exception) as { type: string; note: string }) : undefined;
    return { id: r.id, success: result === 'COMPLETED', result, returncode: r.returncode, errstr: exc ? excText(exc) : describeStatus(r.waitstatus) };
  }

  /**
   * Wait semantics (as Flux's waitable jobs): each failed job's result is
   * reaped once, by `wait ID` or by the next `wait --all` of its owner, even
   * if it ended before that wait began, so that a script that submits,
   * then waits, never loses a failure. Successes need no reaping. Only ids
   * are kept (the details come from the store), bounded by MAX_UNREAPED.
   */
  private addUnreaped(job: Job): void {
    if (this.unreaped.size >= MAX_UNREAPED) {
      const [oldId, oldUser] = this.unreaped.entries().next().value as [number, number];
      this.unreaped.delete(oldId);
      this.unreapedOverflow.set(oldUser, (this.unreapedOverflow.get(oldUser) ?? 0) + 1);
    }
    this.unreaped.set(job.id, job.userid);
  }

  /** Collects the unreaped failures of a user (undefined: everyone's): their count and the first REAP_DETAILS results. */
  private reap(userid: number | undefined): WaitAllResponse {
    const ids: number[] = [];
    for (const [id, uid] of this.unreaped) if (userid === undefined || uid === userid) ids.push(id);
    for (const id of ids) this.unreaped.delete(id);
    let failed = ids.length;
    for (const [uid, n] of [...this.unreapedOverflow]) {
      if (userid !== undefined && uid !== userid) continue;
      failed += n;
      this.unreapedOverflow.delete(uid);
    }
    ids.sort((a, b) => a - b);
    this.store.commit();
    const jobs: WaitResponse[] = [];
    for (const id of ids.slice(0, REAP_DETAILS)) {
      const r = this.store.getJob(id);
      if (r) jobs.push(this.recordWaitResult(r));
    }
    return { failed, jobs };
  }

  private wait(req: Req): unknown {
    const p = (req.payload ?? {}) as { id?: number; all?: boolean };
    if (p.all) {
      const userid = (req.cred.rolemask & ROLE_OWNER) ? undefined : req.cred.userid;
      const w = { req, userid };
      this.waitAll.push(w);
      req.onCancel(() => this.waitAll.splice(this.waitAll.indexOf(w), 1));
      this.checkQueueWaiters();
      return DEFERRED;
    }
    const j = this.lookup(p.id);
    const active = this.jobs.get(j.id);
    if (!active) {
      this.unreaped.delete(j.id);
      return this.recordWaitResult(j as JobRecord);
    }
    const list = this.waiters.get(j.id) ?? [];
    list.push(req);
    this.waiters.set(j.id, list);
    // A waiter that went away collects nothing: the failure stays for `wait --all`.
    req.onCancel(() => {
      const cur = this.waiters.get(j.id);
      if (cur?.includes(req)) cur.splice(cur.indexOf(req), 1);
    });
    return DEFERRED;
  }

  private authorize(job: { userid: number }, cred: Cred, what: string): void {
    if ((cred.rolemask & ROLE_OWNER) === 0 && cred.userid !== job.userid) throw new FractalError(ErrorCodes.PERMISSION, `${what}: job belongs to user ${job.userid}`);
  }

  private async cancel(p: { ids?: number[]; all?: boolean; note?: string }, cred: Cred): Promise<unknown> {
    const targets: Job[] = [];
    if (p?.all) {
      for (const j of this.jobs.values()) if ((cred.rolemask & ROLE_OWNER) || j.userid === cred.userid) targets.push(j);
    } else {
      if (!Array.isArray(p?.ids) || p.ids.length === 0) throw invalid('cancel needs job ids, or all: true');
      for (const id of p.ids) {
        const j = this.lookup(id);
        const active = this.jobs.get(j.id);
        if (!active) throw new FractalError(ErrorCodes.INVALID_ARGUMENT, `job ${id} is already inactive`);
        this.authorize(active, cred, `cannot cancel job ${id}`);
        targets.push(active);
      }
    }
    // Pending jobs first: canceling a running job first would free resources for pending jobs about to be canceled.
    const running = (j: Job): boolean => j.state === 'RUN' || j.state === 'CLEANUP';
    targets.sort((a, b) => Number(running(a)) - Number(running(b)));
    let n = 0;
    for (let i = 0; i < targets.length; i++) {
      // A cancel of 100,000 jobs yields between slices so that other clients (queue status, jobs) are answered meanwhile.
      if (i > 0 && i % CANCEL_SLICE === 0) await new Promise((r) => setImmediate(r));
      const cur = this.jobs.get(targets[i]!.id);
      if (!cur || cur.state === 'INACTIVE' || cur.exception) continue;
      this.post(cur, 'exception', { type: 'cancel', severity: 0, userid: cred.userid, note: p.note ?? '' });
      n++;
    }
    // Acknowledged once the cancellations are on disk.
    await this.store.flush();
    return { canceled: n };
  }

  /** The scheduler preempts a running job for job `by`: requeued (default) or ended. */
  private preempt(p: { id: number; by: number; requeue: boolean }): unknown {
    const j = this.jobs.get(p?.id);
    if (!j || (j.state !== 'RUN' && j.state !== 'CLEANUP') || j.exception || j.requeue) return { preempted: false };
    this.post(j, 'exception', { type: 'preempt', severity: 0, userid: 0, note: `preempted by job ${p.by}${p.requeue ? '; requeued' : ''}`, preemptor: p.by, requeue: p.requeue === true });
    return { preempted: true };
  }

  /** Sends a signal to a running job's tasks (`fractal job kill`). */
  private async kill(p: { id: number; signal?: string }, cred: Cred): Promise<unknown> {
    const j = this.jobs.get(this.lookup(p?.id).id); // an unknown id is ENOENT, not "not running"
    if (!j || j.state !== 'RUN') throw new FractalError(ErrorCodes.INVALID_ARGUMENT, `job ${p?.id} is not running (signals go to running jobs only)`);
    this.authorize(j, cred, `cannot signal job ${p.id}`);
    const sig = String(p.signal ?? 'SIGTERM').toUpperCase();
    const name = sig.startsWith('SIG') ? sig : /^\d+$/.test(sig) ? sig : `SIG${sig}`;
    const known = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGKILL', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGALRM', 'SIGWINCH'];
    if (!known.includes(name)) throw invalid(`unknown signal "${p.signal}": use one of ${known.map((k) => k.slice(3)).join(', ')}`);
    return this.ctx.rpc('exec.kill', { id: j.id, signal: name });
  }

  private raise(p: { id: number; type: string; severity: number; note: string }, cred: Cred): unknown {
    const j = this.jobs.get(p?.id);
    if (!j) throw new FractalError(ErrorCodes.NOT_FOUND, `no active job ${p?.id}`);
    this.authorize(j, cred, `cannot raise an exception on job ${p.id}`);
    const severity = p.severity ?? 0;
    if (!Number.isInteger(severity) || severity < 0 || severity > 7) throw invalid('exception severity must be an integer 0-7');
    if (typeof p.type !== 'string' || !/^[a-z][a-z0-9_-]*$/i.test(p.type)) throw invalid('exception type must be a word, e.g. "cancel" or "node-failure"');
    this.post(j, 'exception', { type: p.type, severity, userid: cred.userid, note: p.note ?? '' });
    return {};
  }

  private setUrgency(p: { id: number; urgency: number }, cred: Cred): unknown {
    const j = this.jobs.get(p?.id);
    if (!j) throw new FractalError(ErrorCodes.NOT_FOUND, `no active job ${p?.id}`);
    this.authorize(j, cred, `cannot change the urgency of job ${p.id}`);
    const u = p.urgency;
    if (!Number.isInteger(u) || u < 0 || u > 31) throw invalid(`urgency must be an integer 0-31 (0 holds the job, 31 expedites it), got ${JSON.stringify(u)}`);
    if ((cred.rolemask & ROLE_OWNER) === 0 && u > 16) throw new FractalError(ErrorCodes.PERMISSION, 'only the instance owner may set urgency above 16');
    const old = j.urgency;
    let cur = this.post(j, 'urgency', { userid: cred.userid, urgency: u });
    if (cur.state === 'SCHED') {
      const prio = this.computePriority(cur);
      if (prio !== cur.priority) {
        cur = this.post(cur, 'priority', { priority: prio });
        if (this.flight.get(cur.id)?.alloc && prio > 0) this.ctx.rpc('sched.prioritize', { jobs: [[cur.id, prio]] }).catch(() => {});
      }
    }
    return { old_urgency: old };
  }

  /** Adds notes to a running job's record (`memo` event), e.g. the URI of the nested instance it runs. */
  private memo(p: { id: number; memo: Record<string, unknown> }, cred: Cred): unknown {
    const j = this.jobs.get(p?.id);
    if (!j) throw new FractalError(ErrorCodes.NOT_FOUND, `no active job ${p?.id}`);
    this.authorize(j, cred, `cannot add a memo to job ${p.id}`);
    const m = p.memo;
    if (typeof m !== 'object' || m === null || Array.isArray(m) || Object.keys(m).length === 0) throw invalid('memo must be an object of keys and values, e.g. {"uri": "local:///tmp/x/local.sock"}');
    if (JSON.stringify(m).length > 4096) throw invalid('memo is too large: at most 4 KiB of JSON');
    this.post(j, 'memo', m);
    return {};
  }

  private update(p: { id: number; updates: Record<string, unknown> }, cred: Cred): unknown {
    const j = this.jobs.get(p?.id);
    if (!j) throw new FractalError(ErrorCodes.NOT_FOUND, `no active job ${p?.id} (only pending jobs can be updated)`);
    this.authorize(j, cred, `cannot update job ${p.id}`);
    const updates = p.updates ?? {};
    const ctx: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(updates)) {
      if (k === 'duration' || k === 'attributes.system.duration') {
        if (typeof v !== 'number' || !(v >= 0)) throw invalid('duration must be a number of seconds >= 0 (0 = unlimited)');
        const tooLong = durationLimitProblem(v);
        if (tooLong) throw invalid(`duration: ${tooLong}`);
        if (j.state === 'RUN' || j.state === 'CLEANUP' || j.state === 'INACTIVE') throw invalid(`job ${j.id} is ${j.state}: its duration can be updated only while it is pending`);
        ctx['attributes.system.duration'] = v;
      } else if (k === 'name' || k === 'attributes.system.job.name') {
        if (typeof v !== 'string' || !v) throw invalid('name must be a non-empty string');
        ctx['attributes.system.job.name'] = v;
      } else if (k !== 'urgency') {
        throw invalid(`cannot update "${k}": updatable keys are duration, name, urgency`);
      }
    }
    if (Object.keys(ctx).length) this.post(j, 'jobspec-update', ctx);
    if (updates['urgency'] !== undefined) this.setUrgency({ id: j.id, urgency: updates['urgency'] as number }, cred);
    return { updated: Object.keys(updates) };
  }

  // ---- queue control -----------------------------------------------------------------

  private saveQueue(): void {
    this.store.kvPut('job-manager.queue', { enabled: this.queueEnabled, reason: this.queueDisabledReason, started: this.queueStarted });
  }

  private queueStatus(): unknown {
    const counts = this.stats() as { counts: Record<string, number> };
    return { enabled: this.queueEnabled, reason: this.queueDisabledReason, started: this.queueStarted, counts: counts.counts };
  }

  private queueEnable(p: { enable: boolean; reason?: string }): unknown {
    this.queueEnabled = !!p.enable;
    this.queueDisabledReason = p.enable ? '' : p.reason ?? '';
    this.saveQueue();
    return this.queueStatus();
  }

  private queueStart(p: { start: boolean }): unknown {
    this.queueStarted = !!p.start;
    this.saveQueue();
    for (const j of [...this.jobs.values()]) if (j.state === 'SCHED') this.action(j.id);
    return this.queueStatus();
  }

  private queueWait(req: Req, list: Req[]): unknown {
    list.push(req);
    req.onCancel(() => list.splice(list.indexOf(req), 1));
    this.checkQueueWaiters();
    return DEFERRED;
  }

  private checkQueueWaiters(): void {
    let active = 0;
    for (const n of this.activeByUser.values()) active += n;
    const activeByUser = this.activeByUser;
    const running = this.nRunning;
    if (active === 0) {
      this.idleGc();
      for (const r of this.drainWaiters.splice(0)) r.respond({});
    }
    if (running === 0) for (const r of this.idleWaiters.splice(0)) r.respond({});
    for (let i = this.waitAll.length - 1; i >= 0; i--) {
      const w = this.waitAll[i]!;
      const n = w.userid === undefined ? active : activeByUser.get(w.userid) ?? 0;
      if (n === 0) {
        this.waitAll.splice(i, 1);
        // Every unreaped failure of the caller counts, also of jobs that ended before this wait began.
        w.req.respond(this.reap(w.userid));
      }
    }
  }

  /**
   * When a burst of jobs has drained, run a full (compacting) garbage
   * collection so that the broker gives the memory of thousands of finished
   * jobs back to the system. It runs before the waiters are answered, once per
   * burst (the broker runs with --expose-gc; without it this does nothing).
   */
  private idleGc(): void {
    if (this.finishedSinceGc < 500) return;
    this.finishedSinceGc = 0;
    // Twice: the first collection frees the objects, the second lets V8 shrink the heap it keeps.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
  }

  private stats(): unknown {
    const counts: Record<string, number> = { NEW: 0, DEPEND: 0, PRIORITY: 0, SCHED: 0, RUN: 0, CLEANUP: 0 };
    let counted = 0;
    for (const [state, n] of this.byState) {
      counts[state] = n;
      counted += n;
    }
    counts['NEW'] = this.jobs.size - counted;
    return { counts, active: this.jobs.size, inactive: this.inactive, next_id: this.nextId };
  }
}

/** "cancel", or "cancel: interrupted" when the exception has a note. */
function excText(e: { type: string; note: string }): string {
  return e.note ? `${e.type}: ${e.note}` : e.type;
}

function withoutEnvironment(js: Record<string, unknown>): Record<string, unknown> {
  const attrs = js['attributes'] as Record<string, unknown> | undefined;
  const sys = attrs?.['system'] as Record<string, unknown> | undefined;
  if (!sys || !('environment' in sys)) return js;
  const { environment: _env, ...rest } = sys;
  return { ...js, attributes: { ...attrs, system: rest } };
}

/** The job's cores: what it asked for, or with whole nodes (`--exclusive`, `batch -N`) every core of its R. */
function coresOf(job: Job): number {
  const asked = job.request.nslots * job.request.coresPerSlot;
  if (!job.request.exclusive || !job.R) return asked;
  try {
    return Rv1.parse(job.R).entries().reduce((n, e) => n + e.cores.size, 0);
  } catch {
    return asked;
  }
}

function countHosts(R: unknown): number {
  try {
    return Rv1.parse(R).nnodes;
  } catch {
    return 0;
  }
}
