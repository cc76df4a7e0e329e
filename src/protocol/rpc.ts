/**
 * Request/response matching over one Connection: `call` for one response,
 * `stream` for streaming responses, and event delivery. Used by the client
 * API and by the broker's link to its executor.
 */
import { FractalError, ErrorCodes } from '../errors/index.js';
import type { Connection } from './connection.js';
import type { EventMsg, Message, RequestMsg, ResponseMsg } from './message.js';

export type RpcStreamHandler = (payload: unknown) => void;

export interface PendingCall {
  resolve: (v: unknown) => void;
  reject: (e: FractalError) => void;
  onData?: RpcStreamHandler | undefined;
}

/**
 * Calls waiting for their responses, by request id. A streaming call gets
 * each `more` response through `onData`; the final response (or an error)
 * settles it.
 */
export class PendingCalls extends Map<number, PendingCall> {
  deliver(m: ResponseMsg): void {
    const p = this.get(m.id);
    if (!p) return;
    if (m.error) {
      this.delete(m.id);
      p.reject(FractalError.fromWire(m.error));
    } else if (m.more) {
      p.onData?.(m.payload);
    } else {
      this.delete(m.id);
      if (p.onData && m.payload !== undefined && m.payload !== null) p.onData(m.payload);
      p.resolve(m.payload);
    }
  }

  failAll(err: FractalError): void {
    for (const p of this.values()) p.reject(err);
    this.clear();
  }
}

export class RpcPeer {
  private nextId = 1;
  private readonly pending = new PendingCalls();
  onEvent: (ev: EventMsg) => void = () => {};
  onRequest: (req: RequestMsg) => void = () => {};

  constructor(readonly conn: Connection) {
    conn.on('message', (m: Message) => this.dispatch(m));
    conn.on('close', (e) => {
      const err = new FractalError(ErrorCodes.CONNECTION, `connection closed${e ? `: ${e.message}` : ''}`);
      this.pending.failAll(err);
    });
  }

  private dispatch(m: Message): void {
    if (m.t === 1) this.onResponse(m);
    else if (m.t === 2) this.onEvent(m);
    else this.onRequest(m);
  }

  private onResponse(m: ResponseMsg): void {
    this.pending.deliver(m);
  }

  private send(topic: string, payload: unknown, nodeid: number | undefined, p: PendingCall): void {
    if (this.conn.isClosed) {
      p.reject(new FractalError(ErrorCodes.CONNECTION, 'connection is closed'));
      return;
    }
    const id = this.nextId++;
    this.pending.set(id, p);
    const msg: RequestMsg = { t: 0, id, topic, payload };
    if (nodeid !== undefined) msg.nodeid = nodeid;
    this.conn.send(msg);
  }

  call<T = unknown>(topic: string, payload: unknown = {}, nodeid?: number): Promise<T> {
    return new Promise<T>((resolve, reject) => this.send(topic, payload, nodeid, { resolve: resolve as (v: unknown) => void, reject }));
  }

  /** Streams responses to `onData` until the final one; resolves when the stream ends. */
  stream(topic: string, payload: unknown, onData: RpcStreamHandler, nodeid?: number): Promise<void> {
    return new Promise<void>((resolve, reject) => this.send(topic, payload, nodeid, { resolve: () => resolve(), reject, onData }));
  }

  /** Fire-and-forget request (no response expected). */
  notify(topic: string, payload: unknown, nodeid?: number): void {
    const msg: RequestMsg = { t: 0, id: 0, topic, payload, noresponse: true };
    if (nodeid !== undefined) msg.nodeid = nodeid;
    this.conn.send(msg);
  }

  respond(req: RequestMsg, payload: unknown, more = false): void {
    if (req.noresponse) return;
    const m: ResponseMsg = { t: 1, id: req.id, payload };
    if (more) m.more = true;
    this.conn.send(m);
  }

  respondError(req: RequestMsg, e: unknown): void {
    if (req.noresponse) return;
    this.conn.send({ t: 1, id: req.id, error: FractalError.from(e).toWire() });
  }

  get inFlight(): number {
    return this.pending.size;
  }
}
