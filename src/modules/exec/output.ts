/**
 * Job output on rank 0: stores what the executors send (`exec.output`),
 * enforces the per-job output limit, and serves readers in pages
 * (`exec.output-read`).
 *
 * Readers pull: each request returns at most `max_bytes` of output from a
 * sequence number on, read from the store page by page (never the whole
 * output), and a follower's request waits (long poll) until there is more
 * or the job has ended. A reader asks for the next page only after it has
 * taken the previous one, so the broker holds at most one page per reader,
 * however slow the reader is. Writers are bounded too: the executor waits
 * for the answer to `exec.output` (given once the record is committed)
 * before it sends more than a small window.
 */
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { formatSize, type OutputReadRequest, type OutputReadResponse } from '../../protocol/index.js';
import type { ShellOutput } from '../../shell/index.js';
import { DEFERRED, type ModuleContext, type Req } from '../../service/index.js';

/** Default per-job output limit (`-o exec.output-limit=SIZE`). */
export const DEFAULT_OUTPUT_LIMIT = 1024 ** 3;
/** Page size of `exec.output-read` when the reader gives none, and the most it may ask for. */
export const DEFAULT_PAGE = 1024 * 1024;
export const MAX_PAGE = 4 * 1024 * 1024;
/** A follower's request is answered (possibly empty) after this long, so that it re-checks a job that never ran. */
const LONG_POLL_MS = 30000;

interface OutputState {
  /** Sequence number of the next record (stored or queued). */
  seq: number;
  /** Bytes of output stored for the job. */
  bytes: number;
  exceeded: boolean;
  /** Readers waiting for more output or the end. */
  waiters: Set<() => void>;
}

export interface OutputHooks {
  /** The job is being executed (exec knows it). */
  isRunning(id: number): boolean;
  /** The job passed its output limit: raise the exception and kill it. */
  onLimit(id: number, note: string): void;
}

export class JobOutput {
  private readonly states = new Map<number, OutputState>();
  private readonly recentlyDone = new Set<number>();

  constructor(private readonly ctx: ModuleContext, readonly limit: number, private readonly hooks: OutputHooks) {}

  private state(id: number): OutputState {
    let o = this.states.get(id);
    if (!o) {
      // Only the next sequence number and the byte count are needed, not the rows.
      const seq = this.ctx.store ? this.ctx.store.outputNextSeq(id) : 0;
      o = { seq, bytes: 0, exceeded: false, waiters: new Set() };
      this.states.set(id, o);
    }
    return o;
  }

  /** `exec.output`: answered once the record is committed, which paces the executor. */
  async output(o: ShellOutput & { rank: number }): Promise<unknown> {
    if (typeof o?.id !== 'number' || typeof o.data !== 'string') throw invalid('exec.output needs {id, task, stream, data}');
    const st = this.state(o.id);
    if (st.exceeded) return {};
    let data = o.data;
    const n = Buffer.byteLength(data);
    if (st.bytes + n > this.limit) {
      data = Buffer.from(data).subarray(0, this.limit - st.bytes).toString();
      st.exceeded = true;
      this.hooks.onLimit(o.id, `output limit of ${formatSize(this.limit)} exceeded`);
    }
    st.bytes += Buffer.byteLength(data);
    if (data.length > 0) {
      this.ctx.store?.appendOutput(o.id, st.seq++, { rank: o.task, stream: o.stream, data });
      this.wake(st);
    }
    await this.ctx.store?.flush();
    return {};
  }

  private wake(st: OutputState): void {
    const w = [...st.waiters];
    st.waiters.clear();
    for (const fn of w) fn();
  }

  /** The job ended: shells send all output before their finish report, so nothing more will come. */
  /** Whether the job ended in this broker's lifetime (its output is complete). */
  ended(id: number): boolean {
    return this.recentlyDone.has(id);
  }

  close(id: number): void {
    this.recentlyDone.add(id);
    if (this.recentlyDone.size > 10000) this.recentlyDone.delete(this.recentlyDone.values().next().value as number);
    const st = this.states.get(id);
    if (!st) return;
    this.states.delete(id);
    this.wake(st);
  }

  /** `exec.output-read {id, from?, max_bytes?, follow?}` → `{chunks, next, done}`. */
  async read(req: Req): Promise<unknown> {
    const p = req.payload as OutputReadRequest;
    if (typeof p?.id !== 'number' || !Number.isInteger(p.id)) throw invalid('exec.output-read needs {id} (a job id)');
    if (p.from !== undefined && (!Number.isInteger(p.from) || p.from < 0)) throw invalid('exec.output-read: from must be a sequence number (0 or more, the `next` of the previous page)');
    if (p.max_bytes !== undefined && (!Number.isInteger(p.max_bytes) || p.max_bytes < 1)) throw invalid('exec.output-read: max_bytes must be a positive integer');
    const store = this.ctx.store;
    if (!store) throw new FractalError(ErrorCodes.INTERNAL, 'no store on this rank');
    const max = Math.min(p.max_bytes ?? DEFAULT_PAGE, MAX_PAGE);
    let from = p.from ?? 0;
    let follow = p.follow === true;
    let checked = false;
    const deadline = Date.now() + LONG_POLL_MS;
    for (;;) {
      const live = this.states.get(p.id);
      if (!live || from < live.seq) {
        await store.flush();
        const page = store.outputPage(p.id, from, max);
        if (page.length > 0) {
          const res: OutputReadResponse = { chunks: page.map((r) => ({ rank: r.rank, stream: r.stream, data: r.data })), next: page[page.length - 1]!.seq + 1, done: false };
          return res;
        }
        // Records counted but not stored (a dropped write): do not wait for them.
        if (live && from < live.seq) from = live.seq;
      }
      if (!follow || this.recentlyDone.has(p.id)) return { chunks: [], next: from, done: true } satisfies OutputReadResponse;
      if (!this.hooks.isRunning(p.id) && !this.states.has(p.id) && !checked) {
        // Unknown ids fail here (ENOENT); an inactive job's output is read to its end, then done.
        const info = await this.ctx.rpc<{ job: { state: string } }>('job-manager.info', { id: p.id });
        checked = true;
        if (info.job.state === 'INACTIVE') follow = false;
        continue;
      }
      const st = this.state(p.id);
      if (from < st.seq) continue;
      const left = deadline - Date.now();
      if (left <= 0) {
        // A job that never runs (canceled while pending) has no end to wake us: let the reader ask again.
        if (st.waiters.size === 0 && !this.hooks.isRunning(p.id)) this.states.delete(p.id);
        return { chunks: [], next: from, done: false } satisfies OutputReadResponse;
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => { clearTimeout(t); st.waiters.delete(wake); resolve(); };
        const t = setTimeout(wake, left);
        st.waiters.add(wake);
        req.onCancel(wake);
      });
      if (req.canceled) return DEFERRED;
    }
  }
}
