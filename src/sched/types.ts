/**
 * The scheduler's vocabulary: what a queue policy sees (a snapshot of the
 * pending and running jobs and a resource model) and what it returns (a plan).
 * Policies are pure: they read the snapshot, never change it, and do no I/O.
 * The simulator drives them now; the broker's scheduler module will later.
 */

/** What a job asks for: `procs` cores, or `nodes` whole nodes when set. */
export interface JobShape {
  readonly procs: number;
  readonly nodes?: number;
  /**
   * The whole request, for models that need more than counts: the graph
   * model takes a CompiledJob (a jobspec compiled against its graph).
   */
  readonly spec?: unknown;
}

export interface PendingJob extends JobShape {
  /** Unique within the snapshot; plans refer to jobs by it. */
  readonly id: number;
  readonly submit: number;
  /** The time limit (the run time estimate) in seconds; Infinity when there is none. */
  readonly limit: number;
  /**
   * The estimated start this job was given by the previous plan, if any. The
   * caller hands it back so that `conservative` can keep its promise that a
   * reservation never moves later.
   */
  readonly reservation?: number;
}

export interface RunningJob extends JobShape {
  readonly id: number;
  readonly start: number;
  /** Expected end: start + time limit (Infinity when unlimited). */
  readonly end: number;
}

/**
 * The scheduler's view of one moment. `pending` is in priority order (the
 * caller orders by priority, then submit time, then a seeded tie-break);
 * `running` is cheapest to use when sorted by `end`.
 */
export interface Snapshot {
  readonly now: number;
  readonly pending: readonly PendingJob[];
  readonly running: readonly RunningJob[];
  readonly resources: ResourceModel;
  /** Fill `Plan.waiting` with a reason per job (default true; the simulator turns it off for speed). */
  readonly explain?: boolean;
}

/**
 * Why a pending job is not starting now (shown by `fractal jobs -o {reason}`):
 * - `priority`: jobs ahead of it come first (strict order, or beyond the queue depth);
 * - `resources`: not enough free resources now;
 * - `reservation`: it would fit now, but would delay a job that holds a reservation;
 * - `unsatisfiable`: it can never run on these resources.
 */
export type PendingReason = 'priority' | 'resources' | 'reservation' | 'unsatisfiable';

export interface Waiting {
  readonly reason: PendingReason;
  /** Estimated start time, for jobs that hold a reservation. */
  readonly start?: number;
}

export interface Plan {
  /** Jobs to start now, in the order they were chosen. */
  readonly start: readonly PendingJob[];
  /** Estimated start by job id, for every job that holds a reservation. */
  readonly reservations: ReadonlyMap<number, number>;
  /** Why each job that is not starting waits, by id (only when the snapshot asks to explain). */
  readonly waiting?: ReadonlyMap<number, Waiting>;
  /**
   * The queue depth cut this cycle short after starting jobs: more might
   * start now, so the caller should run another cycle at the same time.
   */
  readonly more: boolean;
}

/** A queue policy: one scheduling cycle over a snapshot. */
export interface QueuePolicy {
  readonly name: string;
  plan(snapshot: Snapshot): Plan;
}

/**
 * What policies need from the resources: a pool of identical nodes
 * (NodePool, the simulator's machines) or the resource graph (GraphModel,
 * the broker's scheduler), behind the same two interfaces.
 */
export interface ResourceModel {
  /** A short description, e.g. "100 nodes x 4 cores". */
  readonly description: string;
  /** Why the job can never run here, or undefined when it can. */
  infeasible(job: JobShape): string | undefined;
  /** A planner at `now`: free resources, with running jobs released at their expected ends. */
  profile(now: number, running: readonly RunningJob[]): Profile;
}

/**
 * A time-indexed availability profile (a planner): what is free now and at
 * every later time, given running jobs and the reservations made so far in
 * this cycle. A policy owns the profile for one cycle.
 */
export interface Profile {
  /** Nothing is free now: no job can start this cycle. */
  exhausted(): boolean;
  /** Enough is free now, ignoring reservations for later (tells `resources` from `reservation`). */
  fitsNow(job: PendingJob): boolean;
  /** The job can hold its resources over [start, end) without taking any that are used or reserved. */
  fits(job: PendingJob, start: number, end: number): boolean;
  /** The earliest time >= after at which fits(job, t, t + duration); Infinity when never. */
  earliestStart(job: PendingJob, duration: number, after: number): number;
  /** Take the job's resources over [start, end) (start now for a job that starts, later for a reservation). */
  reserve(job: PendingJob, start: number, end: number): void;
}
