/**
 * exec: starts jobs on the ranks of their allocation and reports back to the
 * job manager with a streaming response per job: start, finish (wait
 * status), exception (e.g. timeout), release. It talks to each rank's
 * `shell` service, which drives that node's executor process.
 *
 * A job whose jobspec sets attributes.system.exec.test.run_duration runs in
 * test mode (as Flux's job-exec test mode): no process is started; the job
 * "runs" for that long. This measures the scheduler, job manager and store.
 *
 * Output of jobs without --output files is kept in the store and read in
 * pages by `exec.output-read` clients (`fractal attach`, `fractal run`):
 * see output.ts.
 *
 * Faults (docs/decisions.md, ADR 12): a rank whose executor died reports the
 * jobs it lost (`exec.lost`): they end with an `exec` exception. A broker rank
 * that is down (`resource.update`) gets a grace (`-o exec.rank-grace`) to come
 * back; its jobs then end with a `node-failure` exception. When a rank comes
 * back, shells of jobs that ended meanwhile are killed and acknowledged.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { Rv1 } from '../../resource/index.js';
import { expandOutputPath, parseDuration, type JobRequest } from '../../jobspec/index.js';
import { setLongTimeout, type LongTimeout } from '../../timers/index.js';
import type { ExecStartRequest, ExecStartResponse } from '../../protocol/index.js';
import type { ShellFinished, ShellJob, ShellOutput } from '../../shell/index.js';
import { childDir, DEFERRED, type BrokerModule, type ModuleContext, type Req } from '../../service/index.js';
import { parseSize } from '../../protocol/index.js';
import { distributeTasks, type RankShare } from './tasks.js';
import { JobOutput, DEFAULT_OUTPUT_LIMIT } from './output.js';

interface ExecJob {
  id: number;
  req: Req;
  ranks: number[];
  waiting: Set<number>;
  status: number;
  timedOut: boolean;
  duration: number;
  test?: LongTimeout | undefined;
  finished: boolean;
  startSent: boolean;
  /** Test-mode jobs run no shells: nothing to acknowledge or kill. */
  shells: boolean;
  /** A nested instance (`attributes.system.instance`): its brokers cannot go on without the first one. */
  instance?: boolean;
}

/** Seconds between SIGTERM and SIGKILL when a job passes its time limit or is canceled (`-o exec.kill-grace=DURATION`). */
const KILL_GRACE = 5;
/** Seconds a lost broker rank has to come back before its jobs get a node-failure exception (`-o exec.rank-grace=DURATION`). */
const RANK_GRACE = 60;

export class Exec implements BrokerModule {
  readonly name = 'exec';
  readonly ranks = 'leader' as const;
  private ctx!: ModuleContext;
  private readonly jobs = new Map<number, ExecJob>();
  private out!: JobOutput;
  private killGrace = KILL_GRACE;
  private rankGrace = RANK_GRACE;
  /** Ranks of jobs that ended and whose results the executors still keep until `exec.done`. */
  private readonly doneRanks = new Map<number, number[]>();
  /** Acknowledgements to send, per rank (batched per turn), and those a rank could not take (down). */
  private readonly acks = new Map<number, Set<number>>();
  private readonly unacked = new Map<number, Set<number>>();
  private ackTimer: NodeJS.Immediate | undefined;
  /** Ranks that are down, with the timer that gives up on their jobs. */
  private readonly downRanks = new Map<number, NodeJS.Timeout>();

  start(ctx: ModuleContext): void {
    this.ctx = ctx;
    const grace = ctx.broker.attrs['exec.kill-grace'];
    if (grace !== undefined) this.killGrace = parseDuration(grace);
    const rankGrace = ctx.broker.attrs['exec.rank-grace'];
    if (rankGrace !== undefined) this.rankGrace = parseDuration(rankGrace);
    ctx.subscribe('resource.update', (_t, p) => {
      const u = p as { rank?: unknown; up?: unknown };
      if (typeof u.rank !== 'number' || typeof u.up !== 'boolean') return;
      if (u.up) this.rankUp(u.rank);
      else this.rankDown(u.rank);
    });
    const limit = ctx.broker.attrs['exec.output-limit'];
    this.out = new JobOutput(ctx, limit === undefined ? DEFAULT_OUTPUT_LIMIT : parseSize(limit, 'exec.output-limit'), {
      isRunning: (id) => this.jobs.has(id),
      onLimit: (id, note) => this.outputLimit(id, note),
    });
    ctx.register([
      { topic: 'exec.start', internal: true, handler: (r) => this.startJob(r) },
      { topic: 'exec.kill', internal: true, handler: (r) => this.kill(r.payload as { id: number; signal?: string }) },
      { topic: 'exec.done', internal: true, handler: (r) => this.done(r.payload as { id: number; ranks?: number[] }) },
      { topic: 'exec.lost', internal: true, handler: (r) => this.lost(r.payload as { rank: number; ids: number[]; reason: string }) },
      { topic: 'exec.finished', internal: true, handler: (r) => this.finished(r.payload as ShellFinished & { rank: number }) },
      { topic: 'exec.output', internal: true, handler: (r) => this.out.output(r.payload as ShellOutput & { rank: number }) },
      { topic: 'exec.output-read', handler: (r) => this.out.read(r) },
      { topic: 'exec.output-watch', handler: () => { throw invalid('exec.output-watch was replaced by exec.output-read (paged, with back-pressure; see docs/api.md)'); } },
    ]);
  }

  stop(): void {
    for (const j of this.jobs.values()) j.test?.clear();
    for (const t of this.downRanks.values()) clearTimeout(t);
    if (this.ackTimer) clearImmediate(this.ackTimer);
  }

  private startJob(req: Req): unknown {
    const p = req.payload as ExecStartRequest;
    if (typeof p?.id !== 'number' || !p.R) throw invalid('exec.start needs {id, R, jobspec, request}');
    if (this.jobs.has(p.id)) throw new FractalError(ErrorCodes.BUSY, `job ${p.id} is already being executed`);
    const R = Rv1.parse(p.R);
    const entries = R.entries();
    const job: ExecJob = {
      id: p.id, req, ranks: entries.map((e) => e.rank), waiting: new Set(entries.map((e) => e.rank)), status: 0, timedOut: false,
      duration: p.request.duration, finished: false, startSent: !!p.started, shells: true,
    };
    this.jobs.set(p.id, job);
    req.onCancel(() => this.jobs.delete(p.id));
    const sys = ((p.jobspec as { attributes?: { system?: Record<string, unknown> } }).attributes?.system ?? {});
    if (sys['instance'] !== undefined) job.instance = true;
    const test = (sys['exec'] as { test?: { run_duration?: unknown } } | undefined)?.test;
    if (test) {
      job.shells = false;
      this.runTest(job, test.run_duration);
      return DEFERRED;
    }
    const run = p.reattach ? this.reattach(job, p, sys, R) : this.launch(job, p, sys, R);
    run.catch((e: unknown) => this.fail(job, FractalError.from(e).message));
    return DEFERRED;
  }

  private send(job: ExecJob, r: ExecStartResponse, more = true): void {
    if (r.type === 'start') {
      if (job.startSent) return;
      job.startSent = true;
    }
    job.req.respond(r, more);
  }

  private runTest(job: ExecJob, dur: unknown): void {
    const secs = dur === undefined ? 0 : parseDuration(dur as string | number);
    this.send(job, { type: 'start' });
    const end = () => {
      job.waiting.clear();
      this.complete(job);
    };
    if (secs <= 0) setImmediate(end);
    else job.test = setLongTimeout(end, secs * 1000);
  }

  private buildShellJobs(job: ExecJob, p: ExecStartRequest, sys: Record<string, unknown>, R: Rv1): { rank: number; spec: ShellJob }[] {
    const js = p.jobspec as { tasks?: { command?: string[] }[] };
    const command = js.tasks?.[0]?.command;
    if (!Array.isArray(command) || command.length === 0) throw invalid('the jobspec has no command (tasks[0].command)');
    const shares: RankShare[] = R.entries().map((e) => ({ rank: e.rank, cores: e.cores.toArray(), gpus: e.gpus.toArray(), hostname: e.hostname ?? `rank${e.rank}` }));
    // A nested instance (`fractal batch`, `alloc`) runs one broker per node, owning all of the node's share.
    const instance = sys['instance'] !== undefined;
    const tasks = instance ? shares.map((_, i) => [i]) : distributeTasks(shares, p.request);
    const ntasks = tasks.reduce((a, t) => a + t.length, 0);
    const nodelist = R.nodelist().encode();
    const env: Record<string, string> = { ...((sys['environment'] as Record<string, string> | undefined) ?? {}) };
    const idStr = String(p.id);
    Object.assign(env, {
      FRACTAL_JOB_ID: idStr, FRACTAL_JOB_SIZE: String(ntasks), FRACTAL_JOB_NNODES: String(shares.length), FRACTAL_JOB_NODELIST: nodelist,
      FRACTAL_URI: this.ctx.broker.uri,
      SLURM_JOB_ID: idStr, SLURM_JOBID: idStr, SLURM_NTASKS: String(ntasks), SLURM_NPROCS: String(ntasks), SLURM_NNODES: String(shares.length),
      SLURM_JOB_NUM_NODES: String(shares.length), SLURM_JOB_NODELIST: nodelist, SLURM_NODELIST: nodelist,
      SLURM_CPUS_PER_TASK: String(p.request.coresPerSlot), PMI_SIZE: String(ntasks),
      // Where `fractal start` run by this job keeps its instance's state (archived here when the job ends).
      FRACTAL_CHILD_DIR: childDir(this.ctx.broker.statedir, p.id),
    });
    if (job.duration > 0) env['FRACTAL_JOB_EXPIRATION'] = String(Math.ceil(Date.now() / 1000 + job.duration));
    const shellOpts = ((sys['shell'] as { options?: Record<string, unknown> } | undefined)?.options ?? {});
    const bind = shellOpts['cpu-affinity'] !== 'off' && shellOpts['cpu-affinity'] !== false;
    const expiration = job.duration > 0 ? Date.now() / 1000 + job.duration : 0;
    const cwd = typeof sys['cwd'] === 'string' ? sys['cwd'] : '/';
    const outTmpl = shellOpts['output'] as { stdout?: { path?: string }; stderr?: { path?: string } } | undefined;
    const expand = (t: string) => expandOutputPath(t, { id: p.id, name: (sys['job'] as { name?: string } | undefined)?.name, cwd });
    return shares.map((s, i) => {
      const spec: ShellJob = {
        id: p.id, tasks: tasks[i] ?? [], command, cwd, env: { ...env, SLURM_NODEID: String(i), FRACTAL_NODE_RANK: String(i) },
        ntasks, cpus: s.cores, bind, cpusPerTask: instance ? s.cores.length : p.request.coresPerSlot, gpus: s.gpus, expiration, killGrace: this.killGrace, nodeIndex: i,
        outputLimit: this.out.limit,
      };
      if (outTmpl?.stdout?.path) spec.stdoutPath = expand(outTmpl.stdout.path);
      if (outTmpl?.stderr?.path) spec.stderrPath = expand(outTmpl.stderr.path);
      return { rank: s.rank, spec };
    });
  }

  private async launch(job: ExecJob, p: ExecStartRequest, sys: Record<string, unknown>, R: Rv1): Promise<void> {
    const shells = this.buildShellJobs(job, p, sys, R);
    // Ranks with no task (more nodes than tasks) have nothing to run.
    for (const s of shells) if (s.spec.tasks.length === 0) job.waiting.delete(s.rank);
    await Promise.all(shells.filter((s) => s.spec.tasks.length > 0).map((s) => this.ctx.rpc('shell.start', { job: s.spec }, s.rank)));
    // A very short job can finish before every start answer is back: complete() then sent start itself.
    if (job.finished || !this.jobs.has(job.id)) return;
    this.send(job, { type: 'start' });
    if (job.waiting.size === 0) this.complete(job);
  }

  private async reattach(job: ExecJob, p: ExecStartRequest, sys: Record<string, unknown>, R: Rv1): Promise<void> {
    const lists = await Promise.all(job.ranks.map((rank) =>
      this.ctx.rpc<{ running: number[]; finished: ShellFinished[] }>('shell.list', {}, rank).then((l) => ({ rank, l }), () => ({ rank, l: undefined }))));
    let known = false;
    const ignorant: number[] = [];
    for (const { rank, l } of lists) {
      if (!l) continue;
      let here = false;
      if (l.running.includes(job.id)) here = true;
      const f = l.finished.find((x) => x.id === job.id);
      if (f) { here = true; this.finished({ ...f, rank }); }
      if (here) known = true;
      else ignorant.push(rank);
    }
    if (!this.jobs.has(job.id)) return;
    if (known) {
      if (!p.started) this.send(job, { type: 'start' });
      this.ctx.log(`job ${job.id}: re-attached to its running shells`);
      // Ranks that ran no task report nothing: do not wait for them.
      const shells = this.buildShellJobs(job, p, sys, R);
      const idle = new Set(shells.filter((s) => s.spec.tasks.length === 0).map((s) => s.rank));
      for (const r of idle) job.waiting.delete(r);
      // A rank that answered but knows nothing of the job lost its shells (its executor died meanwhile).
      const lost = ignorant.filter((r) => !idle.has(r) && job.waiting.has(r));
      if (lost.length > 0) {
        this.fail(job, `the job's shells on rank ${lost.join(',')} were lost while the broker was down (executor killed or node rebooted); its other tasks were killed`);
        return;
      }
      if (job.waiting.size === 0) this.complete(job);
      return;
    }
    if (!p.started) return this.launch(job, p, sys, R);
    this.send(job, { type: 'exception', etype: 'exec', severity: 0, note: 'the job shells were lost while the broker was down (node rebooted or executor killed)' });
    this.complete(job, false);
  }

  private fail(job: ExecJob, note: string): void {
    if (!this.jobs.has(job.id)) return;
    this.send(job, { type: 'exception', etype: 'exec', severity: 0, note });
    // Shells that did start must be stopped and collected before release.
    for (const rank of job.ranks) this.ctx.rpc('shell.kill', { id: job.id, signal: 'SIGKILL' }, rank).catch(() => {});
    this.complete(job, false);
  }

  private finished(f: ShellFinished & { rank: number }): unknown {
    const job = this.jobs.get(f.id);
    if (!job) return { known: false };
    const sev = (s: number) => ((s & 0x7f) ? 0x10000 + (s & 0x7f) : s >> 8);
    if (sev(f.status) > sev(job.status)) job.status = f.status;
    if (f.timedOut) job.timedOut = true;
    job.waiting.delete(f.rank);
    if (job.waiting.size === 0) this.complete(job);
    else if (job.instance && f.rank === job.ranks[0]) {
      // Rank 0 of a nested instance ended (normally it stops the others first; if it died, they would wait for it forever).
      for (const rank of job.waiting) this.ctx.rpc('shell.kill', { id: job.id, signal: 'SIGTERM' }, rank).catch(() => {});
    }
    return { known: true };
  }

  private complete(job: ExecJob, withFinish = true): void {
    if (job.finished) return;
    job.finished = true;
    this.jobs.delete(job.id);
    if (job.shells) {
      this.doneRanks.set(job.id, job.ranks);
      if (this.doneRanks.size > 100000) this.doneRanks.delete(this.doneRanks.keys().next().value as number);
    }
    this.out.close(job.id);
    if (withFinish) this.send(job, { type: 'start' }); // a job that ran always logs start before finish
    if (job.timedOut) this.send(job, { type: 'exception', etype: 'timeout', severity: 0, note: `the job exceeded its time limit of ${job.duration}s` });
    if (withFinish) this.send(job, { type: 'finish', status: job.status });
    this.send(job, { type: 'release', final: true }, false);
  }

  private kill(p: { id: number; signal?: string }): unknown {
    const job = this.jobs.get(p?.id);
    if (!job) return { signaled: false };
    if (job.test) {
      job.test.clear();
      job.status = 15; // as if SIGTERM ended it
      job.waiting.clear();
      this.complete(job);
      return { signaled: true };
    }
    const signal = p.signal ?? 'SIGTERM';
    for (const rank of job.ranks) this.ctx.rpc('shell.kill', { id: job.id, signal }, rank).catch(() => {});
    return { signaled: true, signal };
  }

  /** The job manager made the job's end durable: the executors of the job's ranks may forget it. */
  private done(p: { id: number; ranks?: number[] }): unknown {
    if (typeof p?.id !== 'number') throw invalid('exec.done needs {id, ranks?}');
    const ranks = Array.isArray(p.ranks) ? p.ranks : this.doneRanks.get(p.id);
    this.doneRanks.delete(p.id);
    // Test-mode jobs and jobs this exec never ran (before a restart, nothing known) have nothing to acknowledge...
    if (!ranks) {
      // ...unless they ran before a restart: then every rank may hold the result.
      if (this.out.ended(p.id)) return {};
      for (let r = 0; r < this.ctx.broker.size; r++) this.queueAck(r, p.id);
      this.archiveChild(p.id);
      return {};
    }
    for (const r of ranks) this.queueAck(r, p.id);
    this.archiveChild(p.id);
    return {};
  }

  /**
   * A job that ran processes may have run a nested instance: if its
   * directory holds a database, the archive module keeps its history. Only
   * jobs with shells get here (test-mode jobs cost nothing), and the check
   * is asynchronous (off the event loop), once the job's end is durable.
   */
  private archiveChild(id: number): void {
    const dir = childDir(this.ctx.broker.statedir, id);
    access(join(dir, 'fractal.db')).then(
      () => this.ctx.rpc('archive.collect', { id, dir }).catch((e: unknown) => this.ctx.log(`job ${id}: its instance's history is not archived now (${(e as Error).message}); it is at the next start`)),
      () => { /* no nested instance */ },
    );
  }

  /** Acknowledgements are sent once per turn per rank, however many jobs ended in it. */
  private queueAck(rank: number, id: number): void {
    let s = this.acks.get(rank);
    if (!s) this.acks.set(rank, (s = new Set()));
    s.add(id);
    this.ackTimer ??= setImmediate(() => {
      this.ackTimer = undefined;
      const batch = [...this.acks];
      this.acks.clear();
      for (const [r, ids] of batch) {
        if (this.downRanks.has(r)) { this.keepUnacked(r, ids); continue; }
        this.ctx.rpc('shell.ack', { ids: [...ids] }, r).catch(() => this.keepUnacked(r, ids));
      }
    });
  }

  /** A rank that cannot be reached keeps its results: acknowledge them when it comes back. */
  private keepUnacked(rank: number, ids: Iterable<number>): void {
    let s = this.unacked.get(rank);
    if (!s) this.unacked.set(rank, (s = new Set()));
    for (const id of ids) s.add(id);
  }

  /** A rank's executor died: the jobs it ran there are lost. */
  private lost(p: { rank: number; ids: number[]; reason: string }): unknown {
    if (typeof p?.rank !== 'number' || !Array.isArray(p.ids)) throw invalid('exec.lost needs {rank, ids, reason}');
    let n = 0;
    for (const id of p.ids) {
      const job = this.jobs.get(id);
      if (!job || !job.waiting.has(p.rank)) continue; // ended, or its part there had finished
      this.fail(job, `${p.reason}; the job's tasks on rank ${p.rank} were killed`);
      n++;
    }
    return { failed: n };
  }

  private rankDown(rank: number): void {
    if (this.downRanks.has(rank)) return;
    this.ctx.log(`rank ${rank} is down: its jobs keep running for ${this.rankGrace}s while it may come back`);
    this.downRanks.set(rank, setTimeout(() => this.rankLost(rank), this.rankGrace * 1000));
  }

  /** The grace ran out: the rank's jobs end with a node-failure exception; their resources return. */
  private rankLost(rank: number): void {
    for (const job of [...this.jobs.values()]) {
      if (!job.shells || !job.waiting.has(rank)) continue;
      this.send(job, { type: 'exception', etype: 'node-failure', severity: 0, note: `broker rank ${rank} was lost and did not come back within ${this.rankGrace}s` });
      for (const r of job.ranks) if (r !== rank) this.ctx.rpc('shell.kill', { id: job.id, signal: 'SIGKILL' }, r).catch(() => {});
      this.complete(job, false);
    }
  }

  /** A rank is back: stop waiting, kill shells of jobs that ended meanwhile, acknowledge what it still keeps. */
  private rankUp(rank: number): void {
    const t = this.downRanks.get(rank);
    if (t === undefined) return;
    clearTimeout(t);
    this.downRanks.delete(rank);
    this.ctx.log(`rank ${rank} is back`);
    this.ctx.rpc<{ running: number[]; finished: ShellFinished[] }>('shell.list', {}, rank).then((l) => {
      const gone = l.running.filter((id) => !this.jobs.has(id));
      for (const id of gone) this.ctx.rpc('shell.kill', { id, signal: 'SIGKILL' }, rank).catch(() => {});
      const ids = new Set([...(this.unacked.get(rank) ?? []), ...gone]);
      this.unacked.delete(rank);
      for (const f of l.finished) {
        // A result that arrived while the rank was cut off completes its job now.
        if (this.jobs.has(f.id)) this.finished({ ...f, rank });
      }
      if (ids.size > 0) this.ctx.rpc('shell.ack', { ids: [...ids] }, rank).catch(() => this.keepUnacked(rank, ids));
    }, (e: unknown) => this.ctx.log(`rank ${rank} is back but does not answer shell.list: ${(e as Error).message}`));
  }

  /** The job wrote more than the output limit: an exception (the job manager then kills it). */
  private outputLimit(id: number, note: string): void {
    const job = this.jobs.get(id);
    if (!job || job.finished) return;
    this.send(job, { type: 'exception', etype: 'output-limit', severity: 0, note });
  }
}

export type { JobRequest };
