/**
 * A message connection over a stream socket (unix or TCP). Outgoing frames
 * written in the same tick are coalesced into one write: under load this
 * turns thousands of small writes into a few large ones.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { FractalError, ErrorCodes } from '../errors/index.js';
import { encodeFrame, FrameDecoder } from './codec.js';
import type { Message } from './message.js';
import { parseUri } from './uri.js';

export class Connection extends EventEmitter<{ message: [Message]; close: [Error | undefined] }> {
  private readonly decoder = new FrameDecoder();
  private pending: Buffer[] = [];
  private flushScheduled = false;
  private closed = false;

  constructor(readonly socket: net.Socket) {
    super();
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => {
      let msgs: Message[];
      try {
        msgs = this.decoder.push(chunk);
      } catch (e) {
        this.close(e as Error);
        return;
      }
      for (const m of msgs) this.emit('message', m);
    });
    socket.on('error', (e) => this.close(e));
    socket.on('close', () => this.close());
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
export function dial(uri: string): Promise<Connection> {
  const target = parseUri(uri);
  return new Promise((resolve, reject) => {
    const sock = target.kind === 'local' ? net.createConnection(target.path) : net.createConnection(target.port, target.host);
    const onError = (e: NodeJS.ErrnoException) => {
      reject(new FractalError(ErrorCodes.CONNECTION, `cannot connect to ${uri}: ${e.code ?? e.message}. Is the instance running? (start one with \`fractal start\`)`));
    };
    sock.once('error', onError);
    sock.once('connect', () => {
      sock.off('error', onError);
      resolve(new Connection(sock));
    });
  });
}
