/**
 * A message connection over a stream socket (unix or TCP). Outgoing frames
 * written in the same tick are coalesced into one write: under load this
 * turns thousands of small writes into a few large ones.
 *
 * Incoming frames longer than `maxFrame` close the connection at their
 * length prefix (logged). A request whose payload has a forbidden key
 * (`__proto__`, `constructor`, `prototype`) is answered here with EINVAL and
 * never delivered; the connection stays open.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { FractalError, ErrorCodes } from '../errors/index.js';
import { encodeFrame, FrameDecoder, type RefusedMessage } from './codec.js';
import { defaultMaxFrame, MAX_FRAME, protocolLog } from './limits.js';
import type { Message } from './message.js';
import { parseUri } from './uri.js';

export class Connection extends EventEmitter<{ message: [Message]; close: [Error | undefined] }> {
  private readonly decoder: FrameDecoder;
  private pending: Buffer[] = [];
  private flushScheduled = false;
  private closed = false;

  /** `maxFrame`: largest frame accepted from the peer (default: the process's configured limit, see limits.ts). */
  constructor(readonly socket: net.Socket, opts: { maxFrame?: number } = {}) {
    super();
    this.decoder = new FrameDecoder({ maxFrame: opts.maxFrame ?? defaultMaxFrame(), onRefused: (r) => this.refuse(r) });
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => {
      let msgs: Message[];
      try {
        msgs = this.decoder.push(chunk);
      } catch (e) {
        this.fail(e as FractalError);
        return;
      }
      for (const m of msgs) this.emit('message', m);
      if (this.decoder.failed) this.fail(this.decoder.failed);
    });
    socket.on('error', (e) => this.close(e));
    socket.on('close', () => this.close());
  }

  /** The largest frame accepted from now on (raised once an overlay peer has authenticated). */
  get maxFrame(): number {
    return this.decoder.maxFrame;
  }
  set maxFrame(n: number) {
    this.decoder.maxFrame = Math.min(n, MAX_FRAME);
  }

  private fail(err: FractalError): void {
    if (this.closed) return;
    if (err.code === ErrorCodes.PROTOCOL) protocolLog(`closing connection${this.describePeer()}: ${err.message}`);
    this.close(err);
  }

  private describePeer(): string {
    const a = this.socket.remoteAddress;
    return a ? ` from ${a}:${this.socket.remotePort ?? ''}` : '';
  }

  /** A request with a forbidden key gets an error naming it; a response becomes an error for its caller; an event is dropped. */
  private refuse(r: RefusedMessage): void {
    const m = r.msg;
    const what = `the ${m.t === 2 ? 'event' : 'message'}${'topic' in m ? ` ${m.topic}` : ''} has a key "${r.key}", which is not allowed anywhere in a payload; rename it`;
    if (m.t === 0) {
      if (!m.noresponse) this.send({ t: 1, id: m.id, error: { code: ErrorCodes.INVALID_ARGUMENT, message: what } });
    } else if (m.t === 1) {
      this.emit('message', { t: 1, id: m.id, error: { code: ErrorCodes.INVALID_ARGUMENT, message: what } });
    } else {
      protocolLog(`dropped an event${this.describePeer()}: ${what}`);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(msg: Message): void {
    if (this.closed) return;
    this.pending.push(encodeFrame(msg));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.socket.write(data);
  }

  /** Flushes queued frames, then half-closes. */
  end(): Promise<void> {
    this.flush();
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      this.socket.end(() => resolve());
    });
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.socket.destroy();
    this.emit('close', err);
  }
}

/** Opens a connection to `local:///path/to/socket` or `tcp://host:port`. */
export function dial(uri: string, opts: { maxFrame?: number } = {}): Promise<Connection> {
  const target = parseUri(uri);
  return new Promise((resolve, reject) => {
    const sock = target.kind === 'local' ? net.createConnection(target.path) : net.createConnection(target.port, target.host);
    const onError = (e: NodeJS.ErrnoException) => {
      reject(new FractalError(ErrorCodes.CONNECTION, `cannot connect to ${uri}: ${e.code ?? e.message}. Is the instance running? (start one with \`fractal start\`)`));
    };
    sock.once('error', onError);
    sock.once('connect', () => {
      sock.off('error', onError);
      // A client trusts the instance it chose to talk to: accept up to the format's ceiling (large job lists).
      resolve(new Connection(sock, { maxFrame: opts.maxFrame ?? MAX_FRAME }));
    });
  });
}
