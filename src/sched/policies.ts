/**
 * The queue policies: `fcfs` (strict order), and the backfilling family,
 * which differ only in how many jobs get a reservation: `easy` (the first
 * blocked job), `hybrid` (the first K), `conservative` (every job, and a
 * reservation never moves later). All of them plan on the resource model's
 * profile, so they work unchanged on any model that implements it.
 */
import { invalid } from '../errors/index.js';
import type { PendingJob, PendingReason, Plan, QueuePolicy, Snapshot, Waiting } from './types.js';

export const POLICY_NAMES = ['fcfs', 'easy', 'conservative', 'hybrid'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** What a site configures (all optional; defaults documented in docs/scheduling.md). */
export interface PolicyOptions {
  /** Pending jobs each cycle considers, in priority order (default: all). */
  queueDepth?: number;
  /** hybrid: how many blocked jobs get a reservation (default 4). */
  reservationDepth?: number;
}

export interface ResolvedPolicyOptions {
  queueDepth: number;
  reservationDepth: number;
}

export const DEFAULT_RESERVATION_DEPTH = 4;

export function resolvePolicyOptions(o: PolicyOptions = {}): ResolvedPolicyOptions {
  const queueDepth = o.queueDepth ?? Infinity;
  const reservationDepth = o.reservationDepth ?? DEFAULT_RESERVATION_DEPTH;
  if (!(queueDepth === Infinity || (Number.isInteger(queueDepth) && queueDepth >= 1))) {
    throw invalid(`queue depth must be a whole number >= 1 (got ${queueDepth})`);
  }
  if (!(reservationDepth === Infinity || (Number.isInteger(reservationDepth) && reservationDepth >= 0))) {
    throw invalid(`reservation depth must be a whole number >= 0 (got ${reservationDepth})`);
  }
  return { queueDepth, reservationDepth };
}

/** A policy by name: fcfs, easy, conservative or hybrid. */
export function createPolicy(name: string, options: PolicyOptions = {}): QueuePolicy {
  const o = resolvePolicyOptions(options);
  switch (name) {
    case 'fcfs': return new Fcfs(o.queueDepth);
    case 'easy': return new Backfill('easy', 1, o.queueDepth, false);
    case 'hybrid': return new Backfill('hybrid', o.reservationDepth, o.queueDepth, false);
    case 'conservative': return new Backfill('conservative', Infinity, o.queueDepth, true);
    default: throw invalid(`unknown scheduling policy "${name}": use one of ${POLICY_NAMES.join(', ')}`);
  }
}

/** Records reasons only when asked: the simulator's cycles skip this work. */
class Reasons {
  readonly map: Map<number, Waiting> | undefined;
  constructor(explain: boolean) {
    this.map = explain ? new Map() : undefined;
  }
  set(job: PendingJob, reason: PendingReason, start?: number): void {
    this.map?.set(job.id, start === undefined ? { reason } : { reason, start });
  }
  rest(pending: readonly PendingJob[], from: number, reason: PendingReason): void {
    if (!this.map) return;
    for (let i = from; i < pending.length; i++) this.map.set(pending[i]!.id, { reason });
  }
}

function plan(start: PendingJob[], reservations: Map<number, number>, reasons: Reasons, more: boolean): Plan {
  return reasons.map ? { start, reservations, waiting: reasons.map, more } : { start, reservations, more };
}

/**
 * First come, first served: start jobs in priority order until one does not
 * fit; everything behind it waits (no backfilling, so big jobs never starve).
 * The queue depth bounds how many jobs one cycle considers.
 */
export class Fcfs implements QueuePolicy {
  readonly name = 'fcfs';
  constructor(private readonly depth: number) {}

  plan(s: Snapshot): Plan {
    const reasons = new Reasons(s.explain ?? true);
    const profile = s.resources.profile(s.now, s.running);
    const start: PendingJob[] = [];
    const n = Math.min(s.pending.length, this.depth);
    let blocked = false;
    let i = 0;
    for (; i < n && !blocked; i++) {
      const job = s.pending[i]!;
      if (s.resources.infeasible(job) !== undefined) {
        reasons.set(job, 'unsatisfiable');
      } else if (profile.fits(job, s.now, s.now + job.limit)) {
        profile.reserve(job, s.now, s.now + job.limit);
        start.push(job);
      } else {
        reasons.set(job, 'resources');
        blocked = true;
      }
    }
    reasons.rest(s.pending, i, 'priority');
    const more = !blocked && n < s.pending.length && start.length > 0;
    return plan(start, new Map(), reasons, more);
  }
}

/**
 * Backfilling with reservations for the first `k` blocked jobs (EASY: k = 1,
 * hybrid: k = K, conservative: all). Jobs are taken in priority order: a job
 * that fits now for its whole time limit without touching a reservation
 * starts; a blocked job within the first k gets the earliest start the
 * profile allows, and its resources are reserved from then on. For EASY this
 * is the classic rule including "extra processors": a job that ends after the
 * head's reserved start may still start if it leaves the head enough.
 *
 * Conservative (`keep`): jobs that held a reservation in the previous cycle are
 * placed first, in the order of those reservations; each then finds its
 * earliest start, which can only be earlier than before (running jobs end no
 * later than their limits and every job placed before it moved earlier), so a
 * reservation is never delayed. New jobs follow in priority order.
 */
export class Backfill implements QueuePolicy {
  constructor(readonly name: string, private readonly k: number, private readonly depth: number, private readonly keep: boolean) {}

  plan(s: Snapshot): Plan {
    const explain = s.explain ?? true;
    const reasons = new Reasons(explain);
    const profile = s.resources.profile(s.now, s.running);
    const now = s.now;
    const start: PendingJob[] = [];
    const reservations = new Map<number, number>();
    const n = Math.min(s.pending.length, this.depth);
    const order = this.keep ? keepOrder(s.pending, n) : s.pending;
    let reserved = 0;
    let i = 0;
    for (; i < n; i++) {
      if (reserved >= this.k && !explain && profile.exhausted()) break;
      const job = order[i]!;
      if (s.resources.infeasible(job) !== undefined) {
        reasons.set(job, 'unsatisfiable');
        continue;
      }
      const end = now + job.limit;
      if (profile.fits(job, now, end)) {
        profile.reserve(job, now, end);
        start.push(job);
        continue;
      }
      if (reserved < this.k) {
        const at = profile.earliestStart(job, job.limit, now);
        if (at !== Infinity) profile.reserve(job, at, at + job.limit);
        reservations.set(job.id, at);
        reserved++;
        reasons.set(job, profile.fitsNow(job) ? 'reservation' : 'resources', at);
      } else {
        reasons.set(job, profile.fitsNow(job) ? 'reservation' : 'resources');
      }
    }
    reasons.rest(order, n, 'priority');
    const more = n < s.pending.length && start.length > 0;
    return plan(start, reservations, reasons, more);
  }
}

/**
 * The first n pending jobs for conservative: those with a previous
 * reservation by that reservation (ties in priority order), then the others
 * in priority order; the jobs beyond n keep their places.
 */
function keepOrder(pending: readonly PendingJob[], n: number): readonly PendingJob[] {
  let any = false;
  for (let i = 0; i < n && !any; i++) any = pending[i]!.reservation !== undefined;
  if (!any) return pending;
  const held: number[] = [];
  const fresh: PendingJob[] = [];
  for (let i = 0; i < n; i++) {
    const p = pending[i]!;
    if (p.reservation !== undefined) held.push(i);
    else fresh.push(p);
  }
  held.sort((a, b) => pending[a]!.reservation! - pending[b]!.reservation! || a - b);
  const out: PendingJob[] = held.map((x) => pending[x]!);
  for (const p of fresh) out.push(p);
  for (let i = n; i < pending.length; i++) out.push(pending[i]!);
  return out;
}
