/**
 * shell (every rank): the broker side of this node's executor process. It
 * starts the executor on first use (detached, so it outlives the broker),
 * reconnects to a running one after a broker restart, forwards start/kill
 * requests to it, and relays its output and finish reports to `exec` on
 * rank 0. A finish report is acknowledged to the executor only after rank 0
 * has made the job's end durable (`shell.ack`).
 *
 * It also watches the executor: when its socket closes while the broker is
 * not stopping, the executor died. The jobs it ran are lost: their process
 * groups (recorded by the executor in exec-<rank>.pgids) are killed, a new
 * executor is started, results the dead one had saved are forwarded, and
 * rank 0 is told which jobs are gone (`exec.lost`), so that they end with
 * an exception and give their resources back (docs/decisions.md, ADR 12).
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { dial, localUri, RpcPeer } from '../../protocol/index.js';
import { killJobProcesses, livePgids, type ShellFinished, type ShellInventory, type ShellJob, type ShellOutput } from '../../shell/index.js';
import { entryPoint, serviceEnv, type BrokerModule, type ModuleContext } from '../../service/index.js';

const EXECUTOR_MAIN = entryPoint('shell');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ShellModule implements BrokerModule {
  readonly name = 'shell';
  readonly ranks = 'all' as const;
  private ctx!: ModuleContext;
  private peer: RpcPeer | undefined;
  private connecting: Promise<RpcPeer> | undefined;
  private sock = '';
  private resultsPath = '';
  private pgidsPath = '';
  private stopping = false;
  /** Jobs handed to the current executor and not reported finished: they die with it. */
  private readonly started = new Set<number>();
  /** The executor's pid, and how it ended when this broker started it. */
  private execPid: number | undefined;
  private execExit = new Map<number, string>();
  private recovering: Promise<void> | undefined;
  /**
   * What the core and GPU ids of an R stand for on this node: in a nested instance, the CPUs and
   * GPUs its parent granted (`-o node.cpus`, `-o node.gpus`, set by `fractal start` in a job);
   * otherwise core c is CPU c modulo the CPUs (test instances offer more cores than exist).
   */
  private nodeCpus: number[] | undefined;
  private nodeGpus: number[] | undefined;
  private readonly ncpu = availableParallelism();

  async start(ctx: ModuleContext): Promise<void> {
    this.ctx = ctx;
    this.nodeCpus = idList(ctx.broker.attrs['node.cpus']);
    this.nodeGpus = idList(ctx.broker.attrs['node.gpus']);
    const { rundir, rank } = ctx.broker;
    this.sock = join(rundir, `exec-${rank}.sock`);
    this.resultsPath = join(rundir, `exec-${rank}.results`);
    this.pgidsPath = join(rundir, `exec-${rank}.pgids`);
    ctx.register([
      {
        topic: 'shell.start',
        internal: true,
        handler: async (r) => {
          const job = (r.payload as { job?: ShellJob }).job;
          if (typeof job !== 'object' || job === null || !Array.isArray(job.command) || !Array.isArray(job.tasks)) throw invalid('shell.start needs {job: ShellJob}');
          job.cpus = job.cpus.map((c) => this.nodeCpus?.[c] ?? c % this.ncpu);
          job.gpus = job.gpus.map((g) => this.nodeGpus?.[g] ?? g);
          const ex = await this.executor();
          this.started.add(job.id);
          try {
            return await ex.call('executor.start', job);
          } catch (e) {
            this.started.delete(job.id);
            throw e;
          }
        },
      },
      { topic: 'shell.kill', internal: true, handler: async (r) => (this.peer ? this.peer.call('executor.kill', r.payload) : { signaled: 0 }) },
      { topic: 'shell.list', internal: true, handler: async () => this.list() },
      { topic: 'shell.ack', internal: true, handler: async (r) => (this.peer ? this.peer.call('executor.ack', r.payload) : { acked: 0 }) },
      {
        // Acknowledge on the job's ranks only (`ranks`; all ranks when a caller does not know them).
        topic: 'shell.ack-all',
        internal: true,
        handler: async (r) => {
          const p = r.payload as { ids?: unknown; ranks?: unknown };
          if (!Array.isArray(p.ids)) throw invalid('shell.ack-all needs {ids: number[], ranks?: number[]}');
          const ranks = Array.isArray(p.ranks) ? p.ranks.filter((x): x is number => Number.isInteger(x)) : Array.from({ length: ctx.broker.size }, (_, i) => i);
          await Promise.all(ranks.map((rank) => ctx.rpc('shell.ack', { ids: p.ids }, rank).catch(() => {})));
          return {};
        },
      },
    ]);
    // After a broker restart, an executor may still be running jobs: reconnect at once.
    try {
      await this.connect();
    } catch {
      // None running. If the last one died with jobs (recorded process groups), clean up after it.
      if (livePgids(this.readPgids()).size > 0) void this.executorLost('the executor was gone when the broker started');
    }
  }

  private readPgids(): string {
    try {
      return readFileSync(this.pgidsPath, 'utf8');
    } catch {
      return '';
    }
  }

  private async list(): Promise<ShellInventory> {
    try {
      await this.recovering;
      return await (await this.connect()).call<ShellInventory>('executor.list', {});
    } catch {
      return { running: [], finished: [] };
    }
  }

  private async connect(): Promise<RpcPeer> {
    if (this.peer && !this.peer.conn.isClosed) return this.peer;
    const conn = await dial(localUri(this.sock));
    const peer = new RpcPeer(conn);
    // Answered once rank 0 took it: the executor sends only a small window ahead (back-pressure).
    peer.onRequest = (req) => void this.fromExecutor(req.topic, req.payload).then(() => peer.respond(req, {}), (e: unknown) => peer.respondError(req, e));
    conn.on('close', () => {
      if (this.peer !== peer) return;
      this.peer = undefined;
      if (!this.stopping) void this.executorLost('its connection closed');
    });
    this.peer = peer;
    try {
      const inv = await peer.call<ShellInventory>('executor.list', {});
      if (inv.pid !== undefined) this.execPid = inv.pid;
      for (const id of inv.running) this.started.add(id);
    } catch { /* an old executor or a closing one: the close handler deals with it */ }
    return peer;
  }

  /** The executor connection, starting the executor process if there is none. */
  private executor(): Promise<RpcPeer> {
    if (this.peer && !this.peer.conn.isClosed) return Promise.resolve(this.peer);
    if (this.stopping) return Promise.reject(new FractalError(ErrorCodes.DISABLED, 'the broker is shutting down'));
    this.connecting ??= (async () => {
      await this.recovering;
      return this.launch();
    })().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private async launch(): Promise<RpcPeer> {
    try {
      return await this.connect();
    } catch { /* not running: start it */ }
    const logPath = join(this.ctx.broker.rundir, `exec-${this.ctx.broker.rank}.log`);
    const log = openSync(logPath, 'a');
    const child = spawn(process.execPath, [EXECUTOR_MAIN, '--sock', this.sock, '--results', this.resultsPath, '--pgids', this.pgidsPath], {
      detached: true, stdio: ['ignore', log, log], env: serviceEnv(process.env),
    });
    closeSync(log);
    child.unref();
    const pid = child.pid;
    if (pid !== undefined) {
      this.execPid = pid;
      // Our own child: its wait status says how it died, for the jobs' exception.
      child.once('exit', (code, sig) => this.execExit.set(pid, sig ? `killed by ${sig}` : `exited with code ${code}`));
    }
    const deadline = Date.now() + 10000;
    for (;;) {
      try {
        return await this.connect();
      } catch (e) {
        if (Date.now() > deadline) throw new FractalError(ErrorCodes.INTERNAL, `the executor did not start (see ${logPath}): ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }

  /** The executor is gone (or stuck): kill what its jobs left, start a new one, and tell rank 0. */
  private executorLost(why: string): Promise<void> {
    this.recovering ??= this.recover(why).catch((e: unknown) => this.ctx.log(`recovering from the executor's loss: ${(e as Error).message}`))
      .finally(() => { this.recovering = undefined; });
    return this.recovering;
  }

  private async recover(why: string): Promise<void> {
    const rank = this.ctx.broker.rank;
    const pid = this.execPid;
    if (pid !== undefined && alive(pid)) {
      // The link closed but the process lives: if it answers again, nothing was lost.
      try {
        await new Promise((r) => setTimeout(r, 50));
        await this.connect();
        return;
      } catch { /* it does not listen any more: finish it off */ }
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      const deadline = Date.now() + 5000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    }
    // Give our child's exit status a moment to arrive, for the reason.
    if (pid !== undefined && !this.execExit.has(pid)) await new Promise((r) => setTimeout(r, 20));
    const how = pid !== undefined ? this.execExit.get(pid) : undefined;
    const reason = `the executor on rank ${rank}${pid !== undefined ? ` (pid ${pid})` : ''} died${how ? ` (${how})` : ''}: ${why}`;
    const groups = livePgids(this.readPgids());
    const ids = new Set([...this.started, ...groups.keys()]);
    for (const id of ids) if (!groups.has(id)) groups.set(id, []);
    const killed = killJobProcesses(groups, this.ctx.broker.statedir);
    writeFileSync(this.pgidsPath, '');
    this.started.clear();
    this.ctx.log(`${reason}; killed ${killed} task process(es) of job(s) ${[...ids].join(',') || '(none)'}; starting a new executor`);
    if (this.stopping) return;
    // The new executor reads the results file: jobs that ended before the death report normally.
    const ex = await this.launch();
    const inv = await ex.call<ShellInventory>('executor.list', {});
    for (const f of inv.finished) await this.ctx.rpc('exec.finished', { ...f, rank }, 0).catch(() => {});
    if (ids.size > 0) await this.ctx.rpc('exec.lost', { rank, ids: [...ids], reason }, 0).catch(() => {});
  }
  private async fromExecutor(topic: string, payload: unknown): Promise<void> {
    const rank = this.ctx.broker.rank;
    if (topic === 'executor.output') {
      await this.ctx.rpc('exec.output', { ...(payload as ShellOutput), rank }, 0);
    } else if (topic === 'executor.finished') {
      this.started.delete((payload as ShellFinished).id);
      await this.ctx.rpc('exec.finished', { ...(payload as ShellFinished), rank }, 0);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // A clean shutdown ends the executor too (a crash leaves it running on purpose).
    if (this.peer) await this.peer.call('executor.shutdown', {}).catch(() => {});
    // Its jobs die with it; a task that left its process group (setsid) is found by its environment.
    const jobs = livePgids(this.readPgids());
    for (const id of this.started) if (!jobs.has(id)) jobs.set(id, []);
    killJobProcesses(jobs, this.ctx.broker.statedir);
  }
}

/** "0,1,5" → [0, 1, 5]; absent or empty → undefined. */
function idList(s: string | undefined): number[] | undefined {
  if (!s) return undefined;
  const ids = s.split(',').map(Number);
  return ids.every((n) => Number.isInteger(n) && n >= 0) ? ids : undefined;
}
