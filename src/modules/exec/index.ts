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
 * Output of jobs without --output files is kept in the store and streamed to
 * `exec.output-watch` clients (`fractal attach`, `fractal run`).
 */
import { availableParallelism } from 'node:os';
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { Rv1 } from '../../resource/index.js';
import { expandOutputPath, parseDuration, type JobRequest } from '../../jobspec/index.js';
import { setLongTimeout, type LongTimeout } from '../../timers/index.js';
import type { ExecStartRequest, ExecStartResponse } from '../../protocol/index.js';
import type { ShellFinished, ShellJob, ShellOutput } from '../../shell/index.js';
import { DEFERRED, type BrokerModule, type ModuleContext, type Req } from '../../service/index.js';
import { distributeTasks, type RankShare } from './tasks.js';

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
}

interface OutputState {
  seq: number;
  watchers: Set<Req>;
}

/** Seconds between SIGTERM and SIGKILL when a job passes its time limit or is canceled (`-o exec.kill-grace=DURATION`). */
const KILL_GRACE = 5;

export class Exec implements BrokerModule {
  readonly name = 'exec';
  readonly ranks = 'leader' as const;
  private ctx!: ModuleContext;
  private readonly jobs = new Map<number, ExecJob>();
  private readonly outputs = new Map<number, OutputState>();
  private readonly recentlyDone = new Set<number>();
  private killGrace = KILL_GRACE;

  start(ctx: ModuleContext): void {
    this.ctx = ctx;
    const grace = ctx.broker.attrs['exec.kill-grace'];
    if (grace !== undefined) this.killGrace = parseDuration(grace);
    ctx.register([
      { topic: 'exec.start', internal: true, handler: (r) => this.startJob(r) },
      { topic: 'exec.kill', internal: true, handler: (r) => this.kill(r.payload as { id: number; signal?: string }) },
      { topic: 'exec.done', internal: true, handler: (r) => this.done(r.payload as { id: number }) },
      { topic: 'exec.finished', internal: true, handler: (r) => this.finished(r.payload as ShellFinished & { rank: number }) },
      { topic: 'exec.output', internal: true, handler: (r) => this.output(r.payload as ShellOutput & { rank: number }) },
      { topic: 'exec.output-watch', handler: (r) => this.watch(r) },
    ]);
  }

  stop(): void {
    for (const j of this.jobs.values()) j.test?.clear();
  }

  private startJob(req: Req): unknown {
    const p = req.payload as ExecStartRequest;
    if (typeof p?.id !== 'number' || !p.R) throw invalid('exec.start needs {id, R, jobspec, request}');
    if (this.jobs.has(p.id)) throw new FractalError(ErrorCodes.BUSY, `job ${p.id} is already being executed`);
    const R = Rv1.parse(p.R);
    const entries = R.entries();
    const job: ExecJob = {
      id: p.id, req, ranks: entries.map((e) => e.rank), waiting: new Set(entries.map((e) => e.rank)), status: 0, timedOut: false,
      duration: p.request.duration, finished: false, startSent: !!p.started,
    };
    this.jobs.set(p.id, job);
    req.onCancel(() => this.jobs.delete(p.id));
    const sys = ((p.jobspec as { attributes?: { system?: Record<string, unknown> } }).attributes?.system ?? {});
    const test = (sys['exec'] as { test?: { run_duration?: unknown } } | undefined)?.test;
    if (test) {
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
    const tasks = distributeTasks(shares, p.request);
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
    });
    const shellOpts = ((sys['shell'] as { options?: Record<string, unknown> } | undefined)?.options ?? {});
    const bind = shellOpts['cpu-affinity'] !== 'off' && shellOpts['cpu-affinity'] !== false;
    const ncpu = availableParallelism();
    const expiration = job.duration > 0 ? Date.now() / 1000 + job.duration : 0;
    const cwd = typeof sys['cwd'] === 'string' ? sys['cwd'] : '/';
    const outTmpl = shellOpts['output'] as { stdout?: { path?: string }; stderr?: { path?: string } } | undefined;
    const expand = (t: string) => expandOutputPath(t, { id: p.id, name: (sys['job'] as { name?: string } | undefined)?.name, cwd });
    return shares.map((s, i) => {
      const spec: ShellJob = {
        id: p.id, tasks: tasks[i] ?? [], command, cwd, env: { ...env, SLURM_NODEID: String(i), FRACTAL_NODE_RANK: String(i) },
        ntasks, cpus: bind ? s.cores.map((c) => c % ncpu) : [], cpusPerTask: p.request.coresPerSlot, gpus: s.gpus, expiration, killGrace: this.killGrace, nodeIndex: i,
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
    for (const { rank, l } of lists) {
      if (!l) continue;
      if (l.running.includes(job.id)) known = true;
      const f = l.finished.find((x) => x.id === job.id);
      if (f) { known = true; this.finished({ ...f, rank }); }
    }
    if (!this.jobs.has(job.id)) return;
    if (known) {
      if (!p.started) this.send(job, { type: 'start' });
      this.ctx.log(`job ${job.id}: re-attached to its running shells`);
      // Ranks that ran no task report nothing: do not wait for them.
      const shells = this.buildShellJobs(job, p, sys, R);
      for (const s of shells) if (s.spec.tasks.length === 0) job.waiting.delete(s.rank);
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
    return { known: true };
  }

  private complete(job: ExecJob, withFinish = true): void {
    if (job.finished) return;
    job.finished = true;
    this.jobs.delete(job.id);
    this.closeOutput(job.id);
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

  /** The job manager made the job's end durable: executors may forget it. */
  private done(p: { id: number; ranks?: number[] }): unknown {
    this.ctx.rpc('shell.ack-all', { ids: [p.id] }).catch(() => {});
    return {};
  }

  // ---- output ----------------------------------------------------------------------

  private outState(id: number): OutputState {
    let o = this.outputs.get(id);
    if (!o) {
      o = { seq: this.ctx.store ? this.ctx.store.output(id).length : 0, watchers: new Set() };
      this.outputs.set(id, o);
    }
    return o;
  }

  private output(o: ShellOutput & { rank: number }): unknown {
    const st = this.outState(o.id);
    const rec = { rank: o.task, stream: o.stream, data: o.data };
    this.ctx.store?.appendOutput(o.id, st.seq++, rec);
    for (const w of st.watchers) w.respond(rec, true);
    return {};
  }

  private closeOutput(id: number): void {
    this.recentlyDone.add(id);
    if (this.recentlyDone.size > 10000) this.recentlyDone.delete(this.recentlyDone.values().next().value as number);
    const st = this.outputs.get(id);
    if (!st) return;
    this.outputs.delete(id);
    // Shells send all output before their finish message, in order: nothing more will come.
    for (const w of st.watchers) w.respond(null);
  }

  private async watch(req: Req): Promise<unknown> {
    const p = req.payload as { id: number; follow?: boolean };
    if (typeof p?.id !== 'number') throw invalid('exec.output-watch needs {id}');
    const store = this.ctx.store;
    if (!store) throw new FractalError(ErrorCodes.INTERNAL, 'no store on this rank');
    await store.flush();
    for (const r of store.output(p.id)) req.respond(r, true);
    if (!p.follow || this.recentlyDone.has(p.id)) return null;
    if (!this.jobs.has(p.id)) {
      const info = await this.ctx.rpc<{ job: { state: string } }>('job-manager.info', { id: p.id });
      if (info.job.state === 'INACTIVE' || this.recentlyDone.has(p.id)) return null;
    }
    const st = this.outState(p.id);
    st.watchers.add(req);
    req.onCancel(() => st.watchers.delete(req));
    return DEFERRED;
  }
}

export type { JobRequest };
