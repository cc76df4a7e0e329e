/**
 * The sched area: pure scheduling policies (no I/O). A policy takes a
 * snapshot (now, pending jobs in priority order, running jobs with their
 * expected ends, a resource model) and returns a plan: the jobs to start now,
 * reservations with estimated start times, and a reason for every job that
 * waits. The simulator (src/sim) drives these policies with a virtual clock;
 * the broker's scheduler module (modules/sched) drives the same code on the
 * resource graph (GraphModel).
 */
export type {
  JobShape, PendingJob, PendingReason, Plan, Profile, QueuePolicy, ResourceModel, RunningJob, Snapshot, Waiting,
} from './types.js';
export { NodePool, PoolProfile, type PoolOptions } from './pool.js';
export { GraphModel, GraphProfile } from './graph-model.js';
export {
  Backfill, DEFAULT_RESERVATION_DEPTH, Fcfs, POLICY_NAMES, createPolicy, resolvePolicyOptions,
  type PolicyName, type PolicyOptions, type ResolvedPolicyOptions,
} from './policies.js';
