/**
 * Resource limits (like Slurm's association and QOS limits): the most jobs
 * running and cores in use at once per association (a user in an account),
 * per account, and per QOS. The job manager counts running jobs here and
 * does not ask the scheduler for a job that would pass a limit; the job
 * waits with reason `limits`. Limits come from the accounting module.
 */
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import type { Job } from './job.js';
import { accountOf, qosOf } from './priority.js';

export interface Limit {
  max_running: number | null;
  max_cores: number | null;
}

/** What accounting.update carries: limits by "account:uid", by account, by QOS. */
export interface LimitTables {
  assoc?: Record<string, Limit>;
  account?: Record<string, Limit>;
  qos?: Record<string, Limit>;
}

interface Use {
  jobs: number;
  cores: number;
}

const coresOf = (job: Job): number => job.request.nslots * job.request.coresPerSlot;

export class Limits {
  private tables: LimitTables = {};
  private readonly use = new Map<string, Use>();

  set(t: LimitTables): void {
    this.tables = t;
  }

  /** The (kind, key, limit) triples that apply to a job. */
  private scopes(job: Job): [string, string, Limit | undefined][] {
    const account = accountOf(job) ?? 'root';
    const qos = qosOf(job);
    const out: [string, string, Limit | undefined][] = [
      ['user', `a:${account}:${job.userid}`, this.tables.assoc?.[`${account}:${job.userid}`]],
      ['account', `A:${account}`, this.tables.account?.[account]],
    ];
    if (qos !== undefined) out.push(['qos', `q:${qos}`, this.tables.qos?.[qos]]);
    return out;
  }

  /** A running job starts (+1) or stops (-1) counting. */
  count(job: Job, d: 1 | -1): void {
    for (const [, key] of this.scopes(job)) {
      const u = this.use.get(key) ?? { jobs: 0, cores: 0 };
      u.jobs += d;
      u.cores += d * coresOf(job);
      if (u.jobs <= 0) this.use.delete(key);
      else this.use.set(key, u);
    }
  }

  /** Which limit starting this job would pass, or undefined. */
  check(job: Job): string | undefined {
    for (const [kind, key, lim] of this.scopes(job)) {
      if (!lim) continue;
      const u = this.use.get(key) ?? { jobs: 0, cores: 0 };
      const label = kind === 'user' ? `user limit in account ${accountOf(job) ?? 'root'}` : `${kind} ${key.slice(2)}`;
      if (lim.max_running !== null && u.jobs + 1 > lim.max_running) return `${label}: max running jobs ${lim.max_running}`;
      if (lim.max_cores !== null && u.cores + coresOf(job) > lim.max_cores) return `${label}: max cores ${lim.max_cores}`;
    }
    return undefined;
  }
}

/**
 * Limits on active (queued or running) jobs, like Slurm's MaxJobCount and
 * MaxSubmitJobs: `-o job-manager.max-jobs=N` for the instance (default
 * 100,000) and `-o job-manager.max-user-jobs=N` per user (default: the
 * instance's). A submission that would pass one is refused whole, so that a
 * runaway `--cc` cannot queue a million jobs that then take minutes to cancel.
 */
export interface QueuedLimits {
  maxJobs: number;
  maxUserJobs: number;
}

export const DEFAULT_MAX_JOBS = 100000;

export function queuedLimits(attrs: Record<string, string>): QueuedLimits {
  const read = (key: string, dflt: number): number => {
    const v = attrs[key];
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1) throw invalid(`-o ${key}=${v}: give a whole number of jobs >= 1, e.g. -o ${key}=10000`);
    return n;
  };
  const maxJobs = read('job-manager.max-jobs', DEFAULT_MAX_JOBS);
  return { maxJobs, maxUserJobs: read('job-manager.max-user-jobs', maxJobs) };
}

/** Throws when `count` more jobs of `userid` would pass a limit, given the active jobs now. */
export function checkQueued(l: QueuedLimits, count: number, active: number, activeOfUser: number): void {
  const next = 'wait for jobs to end or cancel some (`fractal cancel`)';
  if (active + count > l.maxJobs) {
    throw new FractalError(ErrorCodes.BUSY, `too many jobs: the instance has ${active} active job(s) and allows ${l.maxJobs} (job-manager.max-jobs); ${count} more would pass it: ${next}, or start the instance with a higher -o job-manager.max-jobs`);
  }
  if (activeOfUser + count > l.maxUserJobs) {
    throw new FractalError(ErrorCodes.BUSY, `too many jobs: you have ${activeOfUser} active job(s) and may have ${l.maxUserJobs} (job-manager.max-user-jobs); ${count} more would pass it: ${next}`);
  }
}
