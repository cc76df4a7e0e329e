/**
 * Priority plugins turn a job into an integer priority (higher runs first).
 * Urgency 0 (held) and 31 (expedite) are handled by the job manager before
 * plugins are asked.
 *
 * - `default` (as Flux's): the job's urgency.
 * - `multifactor` (like Slurm's priority/multifactor): a weighted sum of
 *   factors in [0, 1]: age (time pending over `priority.max-age`), fair share
 *   (from the accounting module), size (cores over the instance's cores),
 *   QOS (the job's QOS priority over the highest QOS priority) and urgency
 *   (urgency / 31). Weights are instance attributes
 *   `priority.weight.{age,fairshare,size,qos,urgency}`.
 */
import { invalid } from '../../errors/index.js';
import { parseDuration } from '../../jobspec/index.js';
import type { Job } from './job.js';

export interface PriorityPlugin {
  readonly name: string;
  priority(job: Job, now: number): number;
  /** True when priorities change with time alone (the job manager then recomputes them periodically). */
  readonly timeDependent: boolean;
}

export const defaultPriority: PriorityPlugin = {
  name: 'default',
  priority: (job) => job.urgency,
  timeDependent: false,
};

export interface Weights {
  age: number;
  fairshare: number;
  size: number;
  qos: number;
  urgency: number;
}

export const DEFAULT_WEIGHTS: Weights = { age: 1000, fairshare: 10000, size: 100, qos: 10000, urgency: 1000 };
/** The fair-share factor of a job whose user has no association. */
export const NEUTRAL_FAIRSHARE = 0.5;

/** The job's QOS (attributes.system.qos), if any. */
export function qosOf(job: Job): string | undefined {
  const q = ((job.jobspec['attributes'] as { system?: { qos?: unknown } } | undefined)?.system)?.qos;
  return typeof q === 'string' ? q : undefined;
}

/** The account a job is charged to (set at submit from `--account` or the user's default). */
export function accountOf(job: Job): string | undefined {
  const a = ((job.jobspec['attributes'] as { system?: { account?: unknown } } | undefined)?.system)?.account;
  return typeof a === 'string' ? a : undefined;
}

export class MultiFactor implements PriorityPlugin {
  readonly name = 'multifactor';
  readonly timeDependent: boolean;
  /** Fair-share factor by "account:uid" (from accounting.update events). */
  factors = new Map<string, number>();
  /** QOS priorities by name (from accounting.update events). */
  qosPriority = new Map<string, number>();
  totalCores = 1;

  constructor(readonly weights: Weights, readonly maxAge: number) {
    this.timeDependent = weights.age > 0;
  }

  /** Each factor of a job, for `fractal jobs -o {priority}` explanations and tests. */
  factorsOf(job: Job, now: number): Weights {
    const ncores = job.request.nslots * job.request.coresPerSlot;
    return {
      age: Math.min(1, Math.max(0, now - job.t_submit) / this.maxAge),
      fairshare: this.factors.get(`${accountOf(job) ?? 'root'}:${job.userid}`) ?? NEUTRAL_FAIRSHARE,
      size: Math.min(1, ncores / Math.max(1, this.totalCores)),
      qos: this.qosFactor(qosOf(job)),
      urgency: job.urgency / 31,
    };
  }

  private qosFactor(name: string | undefined): number {
    const top = Math.max(0, ...this.qosPriority.values());
    return name === undefined || top === 0 ? 0 : (this.qosPriority.get(name) ?? 0) / top;
  }

  priority(job: Job, now: number): number {
    const f = this.factorsOf(job, now);
    const w = this.weights;
    return w.age * f.age + w.fairshare * f.fairshare + w.size * f.size + w.qos * f.qos + w.urgency * f.urgency;
  }
}

/** The plugin an instance's attributes ask for (`-o priority=default|multifactor`, weights, max age). */
export function priorityPlugin(attrs: Record<string, string>): PriorityPlugin {
  const name = attrs['priority'] ?? 'default';
  if (name === 'default') return defaultPriority;
  if (name !== 'multifactor') throw invalid(`-o priority=${name}: use default or multifactor`);
  const weights = { ...DEFAULT_WEIGHTS };
  for (const k of Object.keys(weights) as (keyof Weights)[]) {
    const v = attrs[`priority.weight.${k}`];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw invalid(`-o priority.weight.${k}=${v}: a weight is a number >= 0`);
    weights[k] = n;
  }
  const maxAge = attrs['priority.max-age'] !== undefined ? parseDuration(attrs['priority.max-age']) : 7 * 86400;
  if (!(maxAge > 0)) throw invalid('-o priority.max-age must be a duration > 0, e.g. 7d');
  return new MultiFactor(weights, maxAge);
}
