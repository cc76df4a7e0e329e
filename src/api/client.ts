/**
 * The TypeScript client API: `connect(uri)` returns a `Fractal` handle with
 * typed methods for jobs, queues and resources. The CLI is built on this
 * alone; workflows use it directly.
 *
 *   const f = await connect();            // FRACTAL_URI, or the last daemon started
 *   const id = await f.submit(jobspec);
 *   const r = await f.wait(id);           // { success, result, returncode }
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FractalError, ErrorCodes } from '../errors/index.js';
import {
  dial, RpcPeer, type EventMsg, type JobEvent, type JobInfo, type ListRequest, type SubmitRequest, type WaitResponse,
} from '../protocol/index.js';

export interface SubmitOptions {
  urgency?: number;
  flags?: number;
}

export interface OutputChunk {
  rank: number;
  stream: 'stdout' | 'stderr';
  data: string;
}

/** Where `fractal start --daemon` records the most recent daemon, for clients without FRACTAL_URI. */
export function currentInstanceFile(): string {
  return join(process.env['FRACTAL_HOME'] ?? join(homedir(), '.fractal'), 'current');
}

/** The instance to talk to: the argument, FRACTAL_URI, or the most recently started daemon. */
export function resolveUri(uri?: string): string {
  if (uri) return uri;
  const env = process.env['FRACTAL_URI'];
  if (env) return env;
  try {
    const u = readFileSync(currentInstanceFile(), 'utf8').trim();
    if (u) return u;
  } catch { /* none recorded */ }
  throw new FractalError(ErrorCodes.CONNECTION, 'no Fractal instance to talk to: set FRACTAL_URI, run inside `fractal start`, or start a daemon with `fractal start --daemon`');
}

export class Fractal {
  private readonly subs: Array<{ prefix: string; fn: (topic: string, payload: unknown) => void }> = [];

  constructor(readonly peer: RpcPeer, readonly uri: string) {
    peer.onEvent = (ev: EventMsg) => {
      for (const s of this.subs) if (ev.topic.startsWith(s.prefix)) s.fn(ev.topic, ev.payload);
    };
  }

  /** Raw RPC to any service. */
  rpc<T = unknown>(topic: string, payload: unknown = {}, nodeid?: number): Promise<T> {
    return this.peer.call<T>(topic, payload, nodeid);
  }

  stream(topic: string, payload: unknown, onData: (p: unknown) => void, nodeid?: number): Promise<void> {
    return this.peer.stream(topic, payload, onData, nodeid);
  }

  async subscribe(prefix: string, fn: (topic: string, payload: unknown) => void): Promise<void> {
    this.subs.push({ prefix, fn });
    await this.rpc('broker.sub', { topic: prefix });
  }

  async submit(jobspec: unknown, opts: SubmitOptions = {}): Promise<number> {
    const req: SubmitRequest = { jobspec, ...opts };
    const r = await this.rpc<{ id: number }>('job-ingest.submit', req);
    return r.id;
  }

  /** Submits `count` copies of one jobspec in a single request (validated once); returns their ids. */
  async submitMany(jobspec: unknown, count: number, opts: SubmitOptions = {}): Promise<number[]> {
    const r = await this.rpc<{ ids: number[] }>('job-ingest.submit', { jobspec, count, ...opts });
    return r.ids;
  }

  wait(id: number): Promise<WaitResponse> {
    return this.rpc<WaitResponse>('job-manager.wait', { id });
  }

  /**
   * Waits until none of your jobs is active, then reaps every failed result
   * not reaped yet (also of jobs that ended before this call): `failed`
   * counts them, `jobs` details the first 1000.
   */
  waitAll(): Promise<{ failed: number; jobs?: WaitResponse[] }> {
    return this.rpc('job-manager.wait', { all: true });
  }

  cancel(ids: number[] | 'all', note?: string): Promise<{ canceled: number }> {
    const payload = ids === 'all' ? { all: true } : { ids };
    return this.rpc('job-manager.cancel', note ? { ...payload, note } : payload);
  }

  async list(req: ListRequest = {}): Promise<JobInfo[]> {
    return (await this.rpc<{ jobs: JobInfo[] }>('job-manager.list', req)).jobs;
  }

  info(id: number): Promise<{ job: JobInfo; jobspec: unknown; R: unknown }> {
    return this.rpc('job-manager.info', { id });
  }

  /** Calls `onEvent` for each event of the job's log; with follow, until the job is inactive. */
  watch(id: number, onEvent: (ev: JobEvent) => void, follow = true): Promise<void> {
    return this.stream('job-manager.eventlog', { id, follow }, (p) => { if (p) onEvent(p as JobEvent); });
  }

  /** Every job event of the instance: the stored backlog, then `{id: -1}`, then live events. Never ends on its own. */
  journal(onEvent: (id: number, ev: JobEvent | undefined) => void, backlog = true): Promise<void> {
    return this.stream('job-manager.journal', { backlog }, (p) => {
      const m = p as { id: number; event?: JobEvent };
      onEvent(m.id, m.event);
    });
  }

  /** The job's output (stored, then live with follow). */
  output(id: number, onChunk: (c: OutputChunk) => void, follow = true): Promise<void> {
    return this.stream('exec.output-watch', { id, follow }, (p) => { if (p) onChunk(p as OutputChunk); });
  }

  update(id: number, updates: Record<string, unknown>): Promise<unknown> {
    return this.rpc('job-manager.update', { id, updates });
  }

  urgency(id: number, urgency: number): Promise<{ old_urgency: number }> {
    return this.rpc('job-manager.urgency', { id, urgency });
  }

  shutdown(): Promise<unknown> {
    return this.rpc('broker.shutdown', {}, 0);
  }

  close(): void {
    this.peer.conn.close();
  }
}

export async function connect(uri?: string): Promise<Fractal> {
  const u = resolveUri(uri);
  const conn = await dial(u);
  return new Fractal(new RpcPeer(conn), u);
}
