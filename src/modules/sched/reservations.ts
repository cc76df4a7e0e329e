/**
 * Advance reservations (as Slurm's): a named set of nodes over [start, end),
 * usable only by the jobs that name it (`--reservation=NAME`) and only by the
 * listed users or accounts. Here: the request checks and the record kept in
 * the store; the scheduler module holds the nodes in its graph.
 */
import { invalid } from '../../errors/index.js';

export interface Reservation {
  name: string;
  /** Epoch seconds. */
  start: number;
  end: number;
  /** Broker ranks of the reserved nodes. */
  ranks: number[];
  /** Who may use it: user names and accounts (both empty: the instance owner only). */
  users: string[];
  accounts: string[];
}

export interface ReservationRequest {
  name?: unknown;
  start?: unknown;
  duration?: unknown;
  end?: unknown;
  nodes?: unknown;
  ranks?: unknown;
  users?: unknown;
  accounts?: unknown;
}

const NAME = /^[A-Za-z_][\w.-]{0,63}$/;

export function checkName(v: unknown): string {
  if (typeof v !== 'string' || !NAME.test(v)) throw invalid(`a reservation name is letters, digits, . _ - (starting with a letter or _), got ${JSON.stringify(v)}`);
  return v;
}

function names(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !NAME.test(x))) throw invalid(`${what} must be a list of names, e.g. ["alice", "bob"]`);
  return [...new Set(v as string[])];
}

/** Start and end (epoch seconds) of a create or update request, over the old ones. */
export function window(p: ReservationRequest, now: number, old?: Reservation): { start: number; end: number } {
  const num = (v: unknown, what: string): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw invalid(`${what} must be a number of seconds (epoch for times), got ${JSON.stringify(v)}`);
    return v;
  };
  const start = num(p.start, 'start') ?? old?.start ?? now;
  const duration = num(p.duration, 'duration');
  const end = num(p.end, 'end') ?? (duration !== undefined ? start + duration : old ? start + (old.end - old.start) : undefined);
  if (end === undefined) throw invalid('give the reservation a duration (e.g. --duration=4h) or an end time');
  if (!(end > start)) throw invalid(`the reservation must end after it starts (start ${new Date(start * 1000).toISOString()}, end ${new Date(end * 1000).toISOString()})`);
  if (end <= now) throw invalid('the reservation would end in the past; give a later start or a longer duration');
  return { start, end };
}

export function access(p: ReservationRequest, old?: Reservation): { users: string[]; accounts: string[] } {
  return {
    users: p.users === undefined ? (old?.users ?? []) : names(p.users, 'users'),
    accounts: p.accounts === undefined ? (old?.accounts ?? []) : names(p.accounts, 'accounts'),
  };
}

/** May this user (name, owner?) charging this account use the reservation? */
export function mayUse(r: Reservation, user: string, account: string | undefined, owner: boolean): boolean {
  if (r.users.length === 0 && r.accounts.length === 0) return owner;
  return r.users.includes(user) || (account !== undefined && r.accounts.includes(account));
}

/** The reservation a jobspec names (attributes.system.reservation), if any. */
export function reservationOf(jobspec: Record<string, unknown>): string | undefined {
  const r = ((jobspec['attributes'] as { system?: { reservation?: unknown } } | undefined)?.system)?.reservation;
  if (r === undefined) return undefined;
  return checkName(r);
}
