/**
 * shell (every rank): the broker side of this node's executor process. It
 * starts the executor on first use (detached, so it outlives the broker),
 * reconnects to a running one after a broker restart, forwards start/kill
 * requests to it, and relays its output and finish reports to `exec` on
 * rank 0. A finish report is acknowledged to the executor only after rank 0
 * has made the job's end durable (`shell.ack`).
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { dial, localUri, RpcPeer } from '../../protocol/index.js';
import type { ShellFinished, ShellInventory, ShellJob, ShellOutput } from '../../shell/index.js';
import type { BrokerModule, ModuleContext } from '../../service/index.js';

const EXECUTOR_MAIN = fileURLToPath(new URL('../../shell/main.js', import.meta.url));

export class ShellModule implements BrokerModule {
  readonly name = 'shell';
  readonly ranks = 'all' as const;
  private ctx!: ModuleContext;
  private peer: RpcPeer | undefined;
  private connecting: Promise<RpcPeer> | undefined;
  private sock = '';
  private stopping = false;

  async start(ctx: ModuleContext): Promise<void> {
    this.ctx = ctx;
    this.sock = join(ctx.broker.rundir, `exec-${ctx.broker.rank}.sock`);
    ctx.register([
      {
        topic: 'shell.start',
        internal: true,
        handler: async (r) => {
          const job = (r.payload as { job?: ShellJob }).job;
          if (typeof job !== 'object' || job === null || !Array.isArray(job.command) || !Array.isArray(job.tasks)) throw invalid('shell.start needs {job: ShellJob}');
          return (await this.executor()).call('executor.start', job);
        },
      },
      { topic: 'shell.kill', internal: true, handler: async (r) => (this.peer ? this.peer.call('executor.kill', r.payload) : { signaled: 0 }) },
      { topic: 'shell.list', internal: true, handler: async () => this.list() },
      { topic: 'shell.ack', internal: true, handler: async (r) => (this.peer ? this.peer.call('executor.ack', r.payload) : { acked: 0 }) },
      {
        // Acknowledge on every rank (fan-out from rank 0 down the tree).
        topic: 'shell.ack-all',
        internal: true,
        handler: async (r) => {
          const size = ctx.broker.size;
          await Promise.all(Array.from({ length: size }, (_, rank) => ctx.rpc('shell.ack', r.payload, rank).catch(() => {})));
          return {};
        },
      },
    ]);
    // After a broker restart, an executor may still be running jobs: reconnect at once.
    try {
      await this.connect();
    } catch { /* none running: started on first use */ }
  }

  private async list(): Promise<ShellInventory> {
    try {
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
    conn.on('close', () => { if (this.peer === peer) this.peer = undefined; });
    this.peer = peer;
    return peer;
  }

  /** The executor connection, starting the executor process if there is none. */
  private executor(): Promise<RpcPeer> {
    if (this.peer && !this.peer.conn.isClosed) return Promise.resolve(this.peer);
    if (this.stopping) return Promise.reject(new FractalError(ErrorCodes.DISABLED, 'the broker is shutting down'));
    this.connecting ??= this.launch().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private async launch(): Promise<RpcPeer> {
    try {
      return await this.connect();
    } catch { /* not running: start it */ }
    const logPath = join(this.ctx.broker.rundir, `exec-${this.ctx.broker.rank}.log`);
    const log = openSync(logPath, 'a');
    const child = spawn(process.execPath, [EXECUTOR_MAIN, '--sock', this.sock, '--results', join(this.ctx.broker.rundir, `exec-${this.ctx.broker.rank}.results`)], {
      detached: true, stdio: ['ignore', log, log],
    });
    closeSync(log);
    child.unref();
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

  private async fromExecutor(topic: string, payload: unknown): Promise<void> {
    const rank = this.ctx.broker.rank;
    if (topic === 'executor.output') {
      await this.ctx.rpc('exec.output', { ...(payload as ShellOutput), rank }, 0);
    } else if (topic === 'executor.finished') {
      await this.ctx.rpc('exec.finished', { ...(payload as ShellFinished), rank }, 0);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // A clean shutdown ends the executor too (a crash leaves it running on purpose).
    if (this.peer) await this.peer.call('executor.shutdown', {}).catch(() => {});
  }
}
