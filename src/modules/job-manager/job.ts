/**
 * A job as the job manager sees it, and the pure reducer that applies one
 * event of its log (Flux RFC 21 states and events). Replaying a job's stored
 * log through `applyEvent` rebuilds exactly the state it had.
 */
import { constants as osConstants } from 'node:os';
import type { JobRequest } from '../../jobspec/index.js';
import type { JobEvent, JobStateName } from '../../protocol/index.js';

export interface JobException {
  type: string;
  severity: number;
  note: string;
}

export interface Job {
  readonly id: number;
  readonly userid: number;
  readonly state: JobStateName;
  readonly urgency: number;
  readonly priority: number;
  readonly flags: number;
  readonly t_submit: number;
  readonly t_run?: number;
  readonly t_inactive?: number;
  readonly jobspec: Record<string, unknown>;
  readonly request: JobRequest;
  readonly name: string;
  /** Outstanding dependencies (descriptions from dependency-add). */
  readonly deps: readonly string[];
  readonly R?: Record<string, unknown>;
  /** The first severity-0 exception: the root cause. */
  readonly exception?: JobException;
  readonly status?: number;
  readonly started: boolean;
  readonly finished: boolean;
  readonly released: boolean;
  readonly freed: boolean;
  /** Preempted with requeue: when cleanup is done the job goes back to the queue (a `requeue` event). */
  readonly requeue?: boolean;
  /** Key/value notes from `memo` events (e.g. `uri`: the address of the nested instance the job runs). */
  readonly memo?: Readonly<Record<string, unknown>>;
  /** Number of events in the log (the next event's sequence number). */
  readonly seq: number;
}

export function newJob(id: number, jobspec: Record<string, unknown>, request: JobRequest, name: string): Job {
  return {
    id, userid: 0, state: 'NEW', urgency: 16, priority: 0, flags: 0, t_submit: 0, jobspec, request, name,
    deps: [], started: false, finished: false, released: false, freed: false, seq: 0,
  };
}

const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);

/** Applies one event; returns the new job. Pure: no I/O, no clock. */
export function applyEvent(job: Job, ev: JobEvent): Job {
  const c = ev.context ?? {};
  const j = { ...job, seq: job.seq + 1 } as { -readonly [K in keyof Job]: Job[K] };
  switch (ev.name) {
    case 'submit':
      j.userid = num(c['userid'], 0);
      j.urgency = num(c['urgency'], 16);
      j.flags = num(c['flags'], 0);
      j.t_submit = ev.timestamp;
      break;
    case 'validate':
      if (j.state === 'NEW') j.state = 'DEPEND';
      break;
    case 'invalidate':
      j.state = 'INACTIVE';
      break;
    case 'dependency-add':
      j.deps = [...j.deps, String(c['description'])];
      break;
    case 'dependency-remove':
      j.deps = j.deps.filter((d) => d !== String(c['description']));
      break;
    case 'depend':
      if (j.state === 'DEPEND') j.state = 'PRIORITY';
      break;
    case 'priority':
      j.priority = num(c['priority'], 0);
      if (j.state === 'PRIORITY') j.state = 'SCHED';
      break;
    case 'urgency':
      j.urgency = num(c['urgency'], j.urgency);
      break;
    case 'jobspec-update':
      for (const [k, v] of Object.entries(c)) {
        if (k === 'attributes.system.duration') j.request = { ...j.request, duration: num(v, 0) };
        j.jobspec = setPath(j.jobspec, k.split('.'), v);
        if (k === 'attributes.system.job.name' && typeof v === 'string') j.name = v;
      }
      break;
    case 'alloc':
      if (j.state === 'SCHED') {
        j.state = 'RUN';
        j.t_run = ev.timestamp;
      }
      if (c['R'] && typeof c['R'] === 'object') j.R = c['R'] as Record<string, unknown>;
      break;
    case 'start':
      j.started = true;
      break;
    case 'finish':
      j.finished = true;
      j.status = num(c['status'], 0);
      if (j.state === 'RUN') j.state = 'CLEANUP';
      break;
    case 'release':
      if (c['final'] !== false) j.released = true;
      break;
    case 'free':
      j.freed = true;
      break;
    case 'exception': {
      const severity = num(c['severity'], 0);
      if (severity === 0 && c['type'] === 'preempt' && c['requeue'] === true && j.state !== 'INACTIVE') {
        // Preempted to be requeued: stop and clean up, but do not end the job.
        j.requeue = true;
        if (j.state !== 'CLEANUP') j.state = 'CLEANUP';
      } else if (severity === 0) {
        if (!j.exception) j.exception = { type: String(c['type'] ?? 'exception'), severity, note: String(c['note'] ?? '') };
        if (j.state !== 'INACTIVE' && j.state !== 'CLEANUP') j.state = 'CLEANUP';
      }
      break;
    }
    case 'requeue':
      // Back to the queue after a preemption (a Fractal extension of RFC 21, like Slurm's requeue).
      if (j.state === 'CLEANUP') {
        j.state = 'PRIORITY';
        j.requeue = false;
        j.started = false;
        j.finished = false;
        j.released = false;
        j.freed = false;
        delete j.R;
        delete j.status;
        delete j.t_run;
      }
      break;
    case 'memo':
      j.memo = { ...j.memo, ...c };
      break;
    case 'clean':
      j.state = 'INACTIVE';
      j.t_inactive = ev.timestamp;
      break;
    default:
      // Events beyond RFC 21's (annotations, plugin events) do not change state.
      break;
  }
  return j;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return obj;
  const copy = { ...obj };
  if (rest.length === 0) copy[head] = value;
  else {
    const child = copy[head];
    copy[head] = setPath(typeof child === 'object' && child !== null ? (child as Record<string, unknown>) : {}, rest, value);
  }
  return copy;
}

/** Flux-style result name of an inactive job. */
export function resultOf(job: Pick<Job, 'exception' | 'status' | 'started'>): string {
  if (job.exception) {
    if (job.exception.type === 'cancel') return 'CANCELED';
    if (job.exception.type === 'timeout') return 'TIMEOUT';
    if (job.exception.type === 'preempt') return 'PREEMPTED';
    return 'FAILED';
  }
  return job.status === 0 ? 'COMPLETED' : 'FAILED';
}

/** The signal that ended the job's worst task, from its wait status, or undefined if it exited. */
export function signalOf(status: number | null | undefined): number | undefined {
  if (status === undefined || status === null) return undefined;
  const sig = status & 0x7f;
  // 0: exited; 0x7f: stopped (not an end).
  return sig !== 0 && sig !== 0x7f ? sig : undefined;
}

/** SIGUSR1 for 10 (this platform's numbering), or "signal 70" for a number with no name. */
export function signalName(sig: number): string {
  for (const [name, n] of Object.entries(osConstants.signals)) if (n === sig) return name;
  return `signal ${sig}`;
}

/**
 * How a wait status reads to a user: "killed by SIGUSR1" (with ", core
 * dumped"), "exited with code 3", or '' for success. A shell would print 138
 * for SIGUSR1 ($? = 128 + n); saying "exit code 138" would hide the signal.
 */
export function describeStatus(status: number | null | undefined): string {
  if (status === undefined || status === null) return '';
  const sig = signalOf(status);
  if (sig !== undefined) return `killed by ${signalName(sig)}${status & 0x80 ? ' (core dumped)' : ''}`;
  const code = (status >> 8) & 0xff;
  return code ? `exited with code ${code}` : '';
}

/** The exit code of the job: the worst task's exit code, or 128 + signal. */
export function returnCodeOf(job: Pick<Job, 'status' | 'started'>): number | null {
  if (job.status === undefined) return null;
  const sig = signalOf(job.status);
  return sig !== undefined ? 128 + sig : (job.status >> 8) & 0xff;
}
