/**
 * The executor: one long-lived process per broker rank that hosts the job
 * shells of all jobs on that node. It starts tasks, binds them to cores,
 * captures their output, enforces time limits and delivers signals.
 *
 * It outlives its broker on purpose: when the broker crashes and restarts it
 * reconnects here, finds the jobs still running, and collects the exit
 * statuses of the ones that ended meanwhile (kept until acknowledged).
 *
 * Its process entry is main.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, appendFileSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { constants } from 'node:os';
import { RpcPeer, type Connection, type RequestMsg } from '../protocol/index.js';
import { invalid, ErrorCodes } from '../errors/index.js';
import { setLongTimeout, type LongTimeout } from '../timers/index.js';
import { spawnBound } from './affinity.js';
import { waitStatus, type ShellFinished, type ShellJob, type ShellInventory, type ShellOutput } from './types.js';

interface RunningJob {
  spec: ShellJob;
  procs: ChildProcess[];
  /** Tasks whose main process has not exited yet; at 0 the job's process groups are killed. */
  leaders: number;
  remaining: number;
  status: number;
  timedOut: boolean;
  limitTimer?: LongTimeout | undefined;
  killTimer?: LongTimeout | undefined;
}

const signum = (s: NodeJS.Signals): number => constants.signals[s] ?? 15;

const isAck = (r: unknown): r is { ack: number } => typeof r === 'object' && r !== null && typeof (r as { ack?: unknown }).ack === 'number';
const isResult = (r: unknown): r is ShellFinished =>
  typeof r === 'object' && r !== null && typeof (r as ShellFinished).id === 'number' && typeof (r as ShellFinished).status === 'number';
/** Messages sent to the broker and not yet answered: pipelining without unbounded buffers. */
const WINDOW = 16;
/**
 * Bytes of output held for the broker (queued and in flight). Beyond it the
 * tasks' pipes are paused, so a task blocks in write() until the broker has
 * taken some: nothing is dropped, also while no broker is connected.
 */
export const OUTBOX_MAX = 4 * 1024 * 1024;

interface Outgoing { topic: string; payload: unknown; bytes: number; seq: number }

/** The CPUs task number `local` on this node is bound to: its own share when there are enough, else all of the job's. */
export function bindingFor(spec: Pick<ShellJob, 'cpus' | 'cpusPerTask' | 'tasks'>, local: number): number[] {
  const per = spec.cpusPerTask;
  if (per > 0 && spec.cpus.length >= per * spec.tasks.length) return spec.cpus.slice(local * per, (local + 1) * per);
  return spec.cpus;
}

export class Executor {
  private readonly running = new Map<number, RunningJob>();
  /** Results not yet acknowledged by the broker, persisted so that even an executor restart keeps them. */
  private readonly finished = new Map<number, ShellFinished>();
  private peer: RpcPeer | undefined;
  /** Output and finish reports for the broker, in order; sent WINDOW at a time, each answered before more go. */
  private outbox: Outgoing[] = [];
  /** Sent on the current broker connection, not yet answered (resent to the next broker if it goes). */
  private inflight: Outgoing[] = [];
  private outboxBytes = 0;
  private outSeq = 0;
  private readonly paused = new Set<NodeJS.ReadableStream>();
  /** Output bytes forwarded per running job (for the output limit). */
  private readonly outputBytes = new Map<number, number>();
  private idleTimer: NodeJS.Timeout | undefined;
  /** Jobs the broker acknowledged (gave up on) while they still ran: their result is not kept. */
  private readonly ackedEarly = new Set<number>();
  /**
   * The process groups of running jobs, one JSON line per job (`{"id","pgids"}`, then `{"end"}`), so
   * that the broker can kill them if this process dies (docs/decisions.md, ADR 12).
   */
  readonly pgidsPath: string;
  private pgidLines = 0;

  constructor(private readonly resultsPath: string, private readonly idleExitMs: number, pgidsPath?: string, log: (msg: string) => void = (m) => process.stderr.write(`fractal-executor: ${m}\n`)) {
    this.pgidsPath = pgidsPath ?? resultsPath.replace(/\.results$/, '') + '.pgids';
    let text = '';
    try {
      text = readFileSync(resultsPath, 'utf8');
    } catch { /* no results yet */ }
    // One bad line (a torn write at a crash, a disk error) costs that line, never the other results.
    text.split('\n').forEach((line, i) => {
      if (!line) return;
      let r: unknown;
      try {
        r = JSON.parse(line);
      } catch {
        log(`${resultsPath}:${i + 1}: skipped a corrupt line (${JSON.stringify(line.slice(0, 80))})`);
        return;
      }
      if (isAck(r)) this.finished.delete(r.ack);
      else if (isResult(r)) this.finished.set(r.id, { id: r.id, status: r.status, timedOut: r.timedOut === true });
      else log(`${resultsPath}:${i + 1}: skipped a line that is not a result (${JSON.stringify(line.slice(0, 80))})`);
    });
  }

  attach(conn: Connection): void {
    // The newest broker connection wins (a restarted broker replaces a dead one).
    this.peer?.conn.close();
    const peer = new RpcPeer(conn);
    this.peer = peer;
    peer.onRequest = (req) => this.handle(peer, req);
    conn.on('close', () => {
      if (this.peer === peer) {
        this.peer = undefined;
        // Unanswered messages may not have arrived: the next broker gets them again.
        this.requeue(this.inflight);
        this.inflight = [];
      }
      this.checkIdle();
    });
    this.requeue(this.inflight);
    this.inflight = [];
    this.pump();
    this.checkIdle();
  }

  private send(topic: string, payload: unknown, bytes = 0): void {
    this.outbox.push({ topic, payload, bytes, seq: this.outSeq++ });
    this.outboxBytes += bytes;
    this.pump();
  }

  private pump(): void {
    const peer = this.peer;
    while (peer && !peer.conn.isClosed && !this.retryTimer && this.inflight.length < WINDOW && this.outbox.length > 0) {
      const m = this.outbox.shift()!;
      this.inflight.push(m);
      const answered = (): void => {
        const i = this.peer === peer ? this.inflight.indexOf(m) : -1;
        if (i < 0) return; // requeued when the connection closed
        this.inflight.splice(i, 1);
        this.outboxBytes -= m.bytes;
        if (this.outboxBytes <= OUTBOX_MAX / 2) for (const s of this.paused) s.resume();
        if (this.outboxBytes <= OUTBOX_MAX / 2) this.paused.clear();
        this.pump();
      };
      peer.call(m.topic, m.payload).then(answered, (e: { code?: string }) => {
        if (peer.conn.isClosed) return;
        // Rank 0 not ready (restarting, modules loading, parent link down): keep it and try again shortly.
        if (e.code === ErrorCodes.NO_SERVICE || e.code === ErrorCodes.CONNECTION || e.code === 'ESTARTING') return this.retryLater(peer, m);
        answered(); // any other error answer still means the broker took it
      });
    }
  }

  /** Puts messages back into the outbox in their original order. */
  private requeue(items: Outgoing[]): void {
    for (const m of items) {
      let i = 0;
      while (i < this.outbox.length && this.outbox[i]!.seq < m.seq) i++;
      this.outbox.splice(i, 0, m);
    }
  }

  private retryTimer: NodeJS.Timeout | undefined;
  private retryLater(peer: RpcPeer, m: Outgoing): void {
    const i = this.peer === peer ? this.inflight.indexOf(m) : -1;
    if (i < 0) return;
    this.inflight.splice(i, 1);
    this.requeue([m]);
    this.retryTimer ??= setTimeout(() => { this.retryTimer = undefined; this.pump(); }, 200);
  }

  private handle(peer: RpcPeer, req: RequestMsg): void {
    try {
      const p = req.payload as Record<string, unknown>;
      switch (req.topic) {
        case 'executor.start': peer.respond(req, this.start(p as unknown as ShellJob)); break;
        case 'executor.kill': peer.respond(req, this.kill(Number(p['id']), String(p['signal'] ?? 'SIGTERM'))); break;
        case 'executor.list': peer.respond(req, this.inventory()); break;
        case 'executor.ack': peer.respond(req, this.ack(p['ids'] as number[])); break;
        case 'executor.shutdown': peer.respond(req, {}); this.shutdown(); break;
        default: peer.respondError(req, invalid(`executor has no method ${req.topic}`));
      }
    } catch (e) {
      peer.respondError(req, e);
    }
  }

  inventory(): ShellInventory {
    return { running: [...this.running.keys()], finished: [...this.finished.values()], pid: process.pid };
  }

  start(spec: ShellJob): { started: number } {
    if (this.running.has(spec.id) || this.finished.has(spec.id)) return { started: 0 };
    const job: RunningJob = { spec, procs: [], leaders: 0, remaining: spec.tasks.length, status: 0, timedOut: false };
    this.running.set(spec.id, job);
    clearTimeout(this.idleTimer);
    const outFd = spec.stdoutPath ? openSync(spec.stdoutPath, 'a') : undefined;
    const errFd = spec.stderrPath ? (spec.stderrPath === spec.stdoutPath ? outFd : openSync(spec.stderrPath, 'a')) : outFd;
    const baseEnv = { ...spec.env };
    if (spec.gpus.length > 0) baseEnv['CUDA_VISIBLE_DEVICES'] = spec.gpus.join(',');
    spec.tasks.forEach((task, local) => {
      const env: Record<string, string> = {
        ...baseEnv,
        FRACTAL_TASK_RANK: String(task), FRACTAL_TASK_LOCAL_ID: String(local),
        SLURM_PROCID: String(task), SLURM_LOCALID: String(local), SLURM_NODEID: String(spec.nodeIndex),
        PMI_RANK: String(task),
      };
      const cpus = bindingFor(spec, local);
      // The task's CPUs, also when not bound: `fractal start` in a job takes them as its node's cores.
      if (cpus.length > 0) env['FRACTAL_TASK_CPUS'] = cpus.join(',');
      let child: ChildProcess;
      try {
        child = spawnBound(spec.bind === false ? [] : cpus, spec.command, (cmd, args) => spawn(cmd, args, {
          cwd: spec.cwd, env, detached: true,
          stdio: ['ignore', outFd ?? 'pipe', errFd ?? 'pipe'],
        }));
      } catch (e) {
        this.send('executor.output', { id: spec.id, task, stream: 'stderr', data: `fractal: cannot start ${spec.command[0]}: ${(e as Error).message}\n` } satisfies ShellOutput);
        this.taskExit(job, 127 << 8);
        return;
      }
      job.procs.push(child);
      if (child.pid !== undefined) {
        job.leaders++;
        child.once('exit', () => { if (--job.leaders === 0) this.killGroups(job); });
      }
      let ended = false;
      const end = (status: number) => { if (!ended) { ended = true; this.taskExit(job, status); } };
      if (!outFd) this.pipe(child.stdout, spec.id, task, 'stdout');
      if (!errFd) this.pipe(child.stderr, spec.id, task, 'stderr');
      child.on('error', (e: NodeJS.ErrnoException) => {
        const what = e.code !== 'ENOENT' ? e.message : existsSync(spec.cwd) ? 'command not found' : `the working directory ${spec.cwd} does not exist on this node`;
        this.send('executor.output', { id: spec.id, task, stream: 'stderr', data: `fractal: ${spec.command[0]}: ${what}\n` } satisfies ShellOutput);
        end((e.code === 'ENOENT' ? 127 : 126) << 8);
      });
      child.on('close', (code, sig) => end(waitStatus(code, sig, signum)));
    });
    if (outFd !== undefined) closeSync(outFd);
    if (errFd !== undefined && errFd !== outFd) closeSync(errFd);
    const pgids = job.procs.map((p) => p.pid).filter((p): p is number => p !== undefined);
    if (pgids.length > 0) appendFileSync(this.pgidsPath, JSON.stringify({ id: spec.id, pgids }) + '\n');
    if (spec.expiration > 0) {
      const ms = Math.max(0, spec.expiration * 1000 - Date.now());
      job.limitTimer = setLongTimeout(() => {
        job.timedOut = true;
        this.kill(spec.id, 'SIGTERM');
      }, ms);
    }
    return { started: spec.tasks.length };
  }

  private pipe(stream: NodeJS.ReadableStream | null, id: number, task: number, name: 'stdout' | 'stderr'): void {
    if (!stream) return;
    stream.setEncoding('utf8');
    const limit = this.running.get(id)?.spec.outputLimit ?? 0;
    stream.on('data', (data: string) => {
      const n = Buffer.byteLength(data);
      const before = this.outputBytes.get(id) ?? 0;
      // Past the limit the output is read and dropped, so the tasks never block on it until they are killed.
      if (limit > 0 && before > limit) return;
      this.outputBytes.set(id, before + n);
      // Counted with a per-message overhead, so that many tiny writes are bounded too.
      this.send('executor.output', { id, task, stream: name, data } satisfies ShellOutput, n + 128);
      if (limit > 0 && before + n > limit) {
        // Rank 0 sees the total pass the limit too and raises the job's exception; stop the tasks here at once.
        this.kill(id, 'SIGTERM');
      }
      if (this.outboxBytes > OUTBOX_MAX && !this.paused.has(stream)) {
        stream.pause();
        this.paused.add(stream);
      }
    });
    stream.on('close', () => this.paused.delete(stream));
  }

  private taskExit(job: RunningJob, status: number): void {
    // The job's status is the worst task's: a signal beats an exit code, a larger code beats a smaller.
    const sev = (s: number) => ((s & 0x7f) ? 0x10000 + (s & 0x7f) : s >> 8);
    if (sev(status) > sev(job.status)) job.status = status;
    if (--job.remaining > 0) return;
    job.limitTimer?.clear();
    job.killTimer?.clear();
    this.running.delete(job.spec.id);
    this.outputBytes.delete(job.spec.id);
    this.killGroups(job);
    if (job.procs.length > 0) {
      appendFileSync(this.pgidsPath, JSON.stringify({ end: job.spec.id }) + '\n');
      // Compact the record now and then, when nothing runs (not after every job: it costs a write).
      if (++this.pgidLines >= 1000 && this.running.size === 0) {
        writeFileSync(this.pgidsPath, '');
        this.pgidLines = 0;
      }
    }
    if (this.ackedEarly.delete(job.spec.id)) return; // the broker gave up on it: nobody wants the result
    const r: ShellFinished = { id: job.spec.id, status: job.status, timedOut: job.timedOut };
    this.finished.set(r.id, r);
    this.persist(r);
    // 'close' fired after the task's pipes drained, so all its output was sent before this.
    this.send('executor.finished', r);
  }

  kill(id: number, signal: string): { signaled: number } {
    const job = this.running.get(id);
    if (!job) return { signaled: 0 };
    const sig = (signal.startsWith('SIG') ? signal : `SIG${signal}`) as NodeJS.Signals;
    if (constants.signals[sig] === undefined) throw invalid(`unknown signal ${signal}`);
    let n = 0;
    for (const p of job.procs) {
      if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) continue;
      try {
        process.kill(-p.pid, sig); // the task's whole process group
        n++;
      } catch { /* already gone */ }
    }
    if ((sig === 'SIGTERM' || sig === 'SIGINT') && !job.killTimer) {
      job.killTimer = setLongTimeout(() => this.kill(id, 'SIGKILL'), job.spec.killGrace * 1000);
    }
    return { signaled: n };
  }

  /**
   * The job's main processes have all exited: kill what they left in their process groups
   * (background children), so that nothing of the job outlives it.
   */
  private killGroups(job: RunningJob): void {
    for (const p of job.procs) {
      if (p.pid === undefined) continue;
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch { /* the group is empty */ }
    }
  }

  ack(ids: number[]): { acked: number } {
    let n = 0;
    for (const id of ids ?? []) {
      if (this.running.has(id)) this.ackedEarly.add(id);
      if (this.finished.delete(id)) {
        n++;
        this.persist({ ack: id });
      }
    }
    if (this.finished.size === 0 && this.running.size === 0) {
      // Compact the results log when nothing is outstanding.
      try {
        writeFileSync(this.resultsPath + '.tmp', '');
        renameSync(this.resultsPath + '.tmp', this.resultsPath);
      } catch { /* a full disk: compact next time */ }
    }
    this.checkIdle();
    return { acked: n };
  }

  /**
   * Appends to the results log. A full disk must not kill the executor (and
   * its jobs): the result stays in memory and was sent to the broker, which
   * acknowledges it only once the job's end is durable in its store.
   */
  private persist(r: ShellFinished | { ack: number }): void {
    try {
      appendFileSync(this.resultsPath, JSON.stringify(r) + '\n');
    } catch { /* kept in memory (this.finished) until acknowledged */ }
  }

  /** Exit once nobody needs this executor: no broker, no running job. */
  private checkIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.peer || this.running.size > 0) return;
    this.idleTimer = setTimeout(() => this.shutdown(), this.idleExitMs);
    this.idleTimer.unref();
  }

  shutdown(): void {
    for (const id of [...this.running.keys()]) this.kill(id, 'SIGKILL');
    setTimeout(() => process.exit(0), this.running.size > 0 ? 100 : 0);
  }
}

