/**
 * Payload types of the instance's services, shared by the modules that
 * implement them and the clients that call them. Payloads are validated by
 * the receiving handler; these types describe the valid shape.
 */
import type { JobRequest } from '../jobspec/index.js';

// ---- job states (Flux RFC 21), as bits so that groups can be tested quickly
export const JobState = {
  NEW: 1, DEPEND: 2, PRIORITY: 4, SCHED: 8, RUN: 16, CLEANUP: 32, INACTIVE: 64,
} as const;
export type JobStateName = keyof typeof JobState;
export const STATE_NAMES = Object.keys(JobState) as JobStateName[];
export const PENDING_MASK = JobState.DEPEND | JobState.PRIORITY | JobState.SCHED;
export const RUNNING_MASK = JobState.RUN | JobState.CLEANUP;
export const ACTIVE_MASK = PENDING_MASK | RUNNING_MASK | JobState.NEW;

/** Flux RFC 18 event. */
export interface JobEvent {
  timestamp: number;
  name: string;
  context?: Record<string, unknown>;
}

// ---- scheduler protocol (after Flux RFC 27) ---------------------------------
export interface SchedAllocRequest {
  id: number;
  priority: number;
  userid: number;
  t_submit: number;
  request: JobRequest;
  /** The jobspec without its environment (the graph scheduler matches it). */
  jobspec: Record<string, unknown>;
}
/** Scheduler annotations of a pending job (after RFC 27): why it waits, its estimated start. */
export interface SchedAnnotations {
  reason_pending?: string;
  t_estimate?: number;
}
export type SchedAllocResponse =
  | { type: 'success'; R: unknown; annotations?: Record<string, unknown> }
  | { type: 'annotate'; annotations: { sched?: SchedAnnotations } }
  | { type: 'denied'; note: string }
  | { type: 'canceled' };
/** Running jobs after a restart, with the reservation each runs in (if any). */
export interface SchedHello { jobs: { id: number; R: unknown; reservation?: string }[] }

// ---- exec protocol ----------------------------------------------------------
export interface ExecStartRequest {
  id: number;
  userid: number;
  R: unknown;
  jobspec: unknown;
  request: JobRequest;
  /** True after a broker restart: find the job's shells before starting anything. */
  reattach?: boolean;
  /** The job's event log already has `start` (its shells ran before the restart). */
  started?: boolean;
}
export type ExecStartResponse =
  | { type: 'start' }
  | { type: 'finish'; status: number }
  | { type: 'exception'; etype: string; severity: number; note: string }
  | { type: 'release'; final: boolean };

// ---- job output (exec) ---------------------------------------------------------

export interface OutputChunk {
  /** Task rank that wrote it. */
  rank: number;
  stream: 'stdout' | 'stderr';
  data: string;
}

/** `exec.output-read`: one page of a job's output (pull: ask for the next page after taking this one). */
export interface OutputReadRequest {
  id: number;
  /** Sequence number to start from: 0, then the `next` of the previous page. */
  from?: number;
  /** Page size in bytes (default 1 MiB, at most 4 MiB); a page holds at least one chunk. */
  max_bytes?: number;
  /** Wait for more output while the job may still write (long poll); answered empty after 30 s at most. */
  follow?: boolean;
}

export interface OutputReadResponse {
  chunks: OutputChunk[];
  /** Where the next page starts. */
  next: number;
  /** No more output will come (the job ended and everything was read, or not following). */
  done: boolean;
}

// ---- job-manager / listing ----------------------------------------------------
export interface SubmitRequest {
  jobspec: unknown;
  urgency?: number;
  flags?: number;
}
export interface SubmitResponse { id: number }

export interface JobInfo {
  id: number;
  userid: number;
  name: string;
  state: JobStateName;
  urgency: number;
  priority: number;
  t_submit: number;
  t_run?: number | undefined;
  t_inactive?: number | undefined;
  nnodes: number;
  ntasks: number;
  ncores: number;
  nodelist?: string | undefined;
  duration: number;
  result?: string | undefined;
  returncode?: number | undefined;
  waitstatus?: number | undefined;
  /** The signal that killed the job's worst task (e.g. "SIGUSR1"); `returncode` is then 128 + its number. */
  signal?: string | undefined;
  exception?: { type: string; severity: number; note: string } | undefined;
  dependencies?: string[] | undefined;
  /** Why a pending job is not running yet. */
  reason?: string | undefined;
  /** The account the job is charged to. */
  account?: string | undefined;
  /** The scheduler's estimated start of a pending job (with a reservation). */
  t_estimate?: number | undefined;
  /** A running nested instance's URI (its `memo`): `fractal uri JOBID`, `fractal -r JOBID`. */
  uri?: string | undefined;
}

export interface ListRequest {
  /** State names or groups (pending, running, active, inactive, all). */
  states?: string[];
  userid?: number;
  ids?: number[];
  limit?: number;
}

export interface WaitResponse {
  id: number;
  success: boolean;
  result: string;
  returncode: number | null;
  errstr: string;
}

/** `archive.list`: archived jobs of nested instances (docs/hierarchy.md). */
export interface ArchiveListRequest {
  /** Only jobs below this job path ('' or absent: all archived jobs). */
  path?: string;
  /** Levels below `path` (1: the jobs of the instance `path` names; absent: every level). */
  depth?: number;
  /** State names or groups as for job-manager.list; archived jobs are all inactive. */
  states?: string[];
  userid?: number;
  limit?: number;
}
