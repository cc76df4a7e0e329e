/**
 * The resource graph as a policy's resource model: the broker's scheduler
 * plans on the graph's own planner. Running jobs already hold their
 * vertices in the graph (with their expected ends), so a profile needs no
 * list of running jobs; each job's `spec` is a CompiledJob for this graph.
 *
 * A profile records what the policy takes during one cycle as real graph
 * allocations under the pending jobs' ids. When the cycle ends the caller
 * calls `release(started)`: the jobs that start keep their allocations
 * (the R they run with), every reservation for a later start is freed, so
 * the next cycle plans afresh (as Fluxion's queue manager does).
 */
import { FractalError, ErrorCodes } from '../errors/index.js';
import { FOREVER, type CompiledJob, type MatchResult, type ResourceGraph } from '../resource/graph/index.js';
import type { JobShape, PendingJob, Profile, ResourceModel, RunningJob } from './types.js';

/** Job id under which fitsNow() probes the graph (never a real job's). */
const PROBE_ID = 2 ** 52;
/** How long a fitsNow() probe holds resources, in seconds. */
const INSTANT = 1e-3;

function specOf(job: JobShape): CompiledJob {
  const spec = job.spec as CompiledJob | undefined;
  if (spec === undefined || !Array.isArray(spec.reqs)) {
    throw new FractalError(ErrorCodes.INTERNAL, 'the graph model needs each job\'s compiled jobspec in JobShape.spec');
  }
  return spec;
}

/** Graph duration for a policy's [start, end): 0 means "until freed". */
function durationOf(start: number, end: number): number {
  return end === Infinity || end >= FOREVER ? 0 : Math.max(end - start, INSTANT);
}

export class GraphModel implements ResourceModel {
  #infeasible = new WeakMap<object, string | undefined>();

  constructor(readonly graph: ResourceGraph) {}

  get description(): string {
    const stat = this.graph.stat();
    const n = (t: string): number => stat.find((s) => s.type === t)?.total ?? 0;
    return `resource graph: ${n('node')} nodes, ${n('core')} cores, ${n('gpu')} GPUs`;
  }

  /** Forget cached satisfiability answers (after vertices were added or removed). */
  changed(): void {
    this.#infeasible = new WeakMap();
  }

  infeasible(job: JobShape): string | undefined {
    const spec = specOf(job);
    if (this.#infeasible.has(spec)) return this.#infeasible.get(spec);
    const r = this.graph.match(spec, { mode: 'satisfiability' });
    const why = r.outcome === 'SATISFIABLE' ? undefined : (r.reason ?? 'no resources match the request');
    this.#infeasible.set(spec, why);
    return why;
  }

  profile(now: number, _running: readonly RunningJob[]): GraphProfile {
    return new GraphProfile(this.graph, now);
  }
}

interface Held {
  id: number;
  start: number;
}

export class GraphProfile implements Profile {
  /** Allocations made this cycle, by job id, with their start. */
  readonly #held = new Map<number, Held>();
  /** An allocation made by fits()/earliestStart() that reserve() has not confirmed yet. */
  #tentative: Held | undefined;

  constructor(private readonly graph: ResourceGraph, private readonly now: number) {
    graph.now = now;
  }

  exhausted(): boolean {
    this.#drop();
    return this.graph.freeUnits(this.graph.store.root, 'core', this.now, this.now + INSTANT) <= 0;
  }

  fitsNow(job: PendingJob): boolean {
    this.#drop();
    const r = this.graph.match(specOf(job), { at: this.now, duration: INSTANT, jobid: PROBE_ID, explain: false });
    if (r.outcome !== 'ALLOCATED') return false;
    this.graph.free(PROBE_ID);
    return true;
  }

  fits(job: PendingJob, start: number, end: number): boolean {
    const t = this.#tentative;
    if (t !== undefined && t.id === job.id && t.start === Math.max(start, this.now)) return true;
    this.#drop();
    const at = Math.max(start, this.now);
    return this.#hold(job, this.graph.match(specOf(job), { at, duration: durationOf(at, end), jobid: job.id, explain: false }));
  }

  earliestStart(job: PendingJob, duration: number, after: number): number {
    this.#drop();
    const at = Math.max(after, this.now);
    const r = this.graph.match(specOf(job), {
      mode: 'allocate_orelse_reserve', at, duration: durationOf(0, duration), jobid: job.id, explain: false,
    });
    return this.#hold(job, r) ? r.start : Infinity;
  }

  reserve(job: PendingJob, start: number, end: number): void {
    const at = Math.max(start, this.now);
    if (!this.fits(job, at, end)) {
      throw new FractalError(ErrorCodes.INTERNAL, `job ${job.id} was planned at ${at} but the graph has no room for it then`);
    }
    this.#held.set(job.id, this.#tentative!);
    this.#tentative = undefined;
  }

  /**
   * Ends the cycle: the jobs in `keep` (those starting now) keep their
   * allocations; everything else this profile took is freed.
   */
  release(keep: ReadonlySet<number>): void {
    this.#drop();
    for (const h of this.#held.values()) if (!keep.has(h.id)) this.graph.free(h.id);
    this.#held.clear();
  }

  #hold(job: PendingJob, r: MatchResult): boolean {
    if (r.outcome !== 'ALLOCATED' && r.outcome !== 'RESERVED') return false;
    this.#tentative = { id: job.id, start: r.start };
    return true;
  }

  #drop(): void {
    if (this.#tentative === undefined) return;
    this.graph.free(this.#tentative.id);
    this.#tentative = undefined;
  }
}
