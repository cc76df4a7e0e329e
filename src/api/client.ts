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
  dial, RpcPeer, type EventMsg, type JobEvent, type JobInfo, type ListRequest, type OutputChunk, type OutputReadResponse, type SubmitRequest, type WaitResponse,
} from '../protocol/index.js';

export interface SubmitOptions {
  urgency?: number;
  flags?: number;
}

export type { OutputChunk };

export interface ConnectOptions {
  /**
   * How long calls keep retrying while the broker answers ESTARTING (its
   * modules are still loading, e.g. during a restart). Default 60 s.
   */
  startingTimeoutMs?: number;
  /** Called once per call that has waited on a starting broker for startingNoticeMs (the CLI prints it). */
  onStartingWait?: (message: string) => void;
  /** Default 3 s. */
  startingNoticeMs?: number;
  /** Where a job path starts: this instance's URI (default: $FRACTAL_URI, else the last daemon started). */
  from?: string;
}

/** Default bound on waiting for a starting broker. */
export const STARTING_TIMEOUT_MS = 60_000;

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

  constructor(readonly peer: RpcPeer, readonly uri: string, private readonly opts: ConnectOptions = {}) {
    peer.onEvent = (ev: EventMsg) => {
      for (const s of this.subs) if (ev.topic.startsWith(s.prefix)) s.fn(ev.topic, ev.payload);
    };
  }

  /** Raw RPC to any service. */
  rpc<T = unknown>(topic: string, payload: unknown = {}, nodeid?: number): Promise<T> {
    return this.whenStarted(() => this.peer.call<T>(topic, payload, nodeid));
  }

  stream(topic: string, payload: unknown, onData: (p: unknown) => void, nodeid?: number): Promise<void> {
    // ESTARTING comes before any data, so a retried stream delivers nothing twice.
    return this.whenStarted(() => this.peer.stream(topic, payload, onData, nodeid));
  }

  /** Runs `call`, again and again while the broker answers ESTARTING, up to the bound. */
  private async whenStarted<T>(call: () => Promise<T>): Promise<T> {
    const bound = this.opts.startingTimeoutMs ?? STARTING_TIMEOUT_MS;
    const t0 = Date.now();
    let delay = 50;
    let noticed = false;
    for (;;) {
      try {
        return await call();
      } catch (e) {
        if (!(e instanceof FractalError) || e.code !== ErrorCodes.STARTING) throw e;
        const waited = Date.now() - t0;
        if (waited >= bound) {
          throw new FractalError(ErrorCodes.STARTING, `the instance at ${this.uri} is still starting after ${Math.round(waited / 1000)}s; check its broker log (broker-0.log in the state directory) and try again`);
        }
        if (!noticed && waited >= (this.opts.startingNoticeMs ?? 3_000)) {
          noticed = true;
          this.opts.onStartingWait?.(`the instance is starting; waiting up to ${Math.round(bound / 1000)}s for it`);
        }
        await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, bound - waited))));
        delay = Math.min(delay * 2, 1000);
      }
    }
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

  /**
   * The job's output (stored, then live with follow), in order. Pages are
   * pulled one at a time: the next is asked for only after `onChunk` has
   * taken every chunk of this one (and the promise it returned, if any, has
   * resolved), so a slow consumer slows the transfer instead of growing memory.
   */
  async output(id: number, onChunk: (c: OutputChunk) => unknown, follow = true, pageBytes?: number): Promise<void> {
    let from = 0;
    for (;;) {
      const page = await this.rpc<OutputReadResponse>('exec.output-read', pageBytes === undefined ? { id, from, follow } : { id, from, follow, max_bytes: pageBytes });
      for (const c of page.chunks) {
        const r = onChunk(c);
        if (r instanceof Promise) await r;
      }
      from = page.next;
      if (page.done) return;
    }
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

/** A job path: job ids through levels of nested instances, e.g. `12` or `12/5/3`. */
export function isJobPath(s: string): boolean {
  return /^\d+(\/\d+)*$/.test(s);
}

/**
 * Connects to an instance: a URI (`local:///...`, `tcp://...`), or a job path
 * (`12/5`: the nested instance run by job 5 of the instance run by job 12 of
 * the current one, docs/hierarchy.md), or by default $FRACTAL_URI or the last
 * daemon started.
 */
export async function connect(uri?: string, opts: ConnectOptions = {}): Promise<Fractal> {
  if (uri !== undefined && isJobPath(uri)) return (await resolveJobPath(uri, opts)).instance;
  const u = resolveUri(uri);
  const conn = await dial(u);
  return new Fractal(new RpcPeer(conn), u, opts);
}

/**
 * Follows a job path down from the current instance, through each job's
 * recorded URI (its `memo`), and returns the connection to the last level's
 * instance with the jobs' URIs on the way.
 */
export async function resolveJobPath(path: string, opts: ConnectOptions = {}): Promise<{ instance: Fractal; uris: string[] }> {
  let f = await connect(opts.from, opts);
  const uris: string[] = [];
  let at = '';
  for (const part of path.split('/')) {
    const id = Number(part);
    at = at ? `${at}/${id}` : String(id);
    let uri: string | undefined;
    let state = '';
    try {
      const info = await f.info(id);
      uri = info.job.uri;
      state = info.job.state;
    } finally {
      f.close();
    }
    if (!uri) {
      const why = state === 'INACTIVE' ? 'it has ended (its history: `fractal job info ' + at + '`)' : state === 'RUN' ? 'it runs no instance, or its instance is still starting' : `it is ${state}, not running`;
      throw new FractalError(ErrorCodes.NOT_FOUND, `job ${at} has no instance to talk to: ${why}`);
    }
    uris.push(uri);
    f = await connect(uri, opts);
  }
  return { instance: f, uris };
}
