/**
 * Framing: each message is a 4-byte big-endian length followed by a msgpack
 * body. The decoder accepts arbitrary chunking, refuses a frame longer than
 * its limit as soon as the length prefix is read (before buffering any of
 * it), and never re-copies what it has buffered: a frame's buffer is
 * allocated once its length is known and filled as chunks arrive, and a
 * frame that lies whole inside one chunk is decoded in place.
 */
import { Encoder, Decoder } from '@msgpack/msgpack';
import { FractalError, ErrorCodes } from '../errors/index.js';
import { isMessage, type Message } from './message.js';
import { MAX_FRAME } from './limits.js';

// `undefined` fields are dropped (as in JSON), so optional fields stay optional on the other side.
const encoder = new Encoder({ ignoreUndefined: true });

/** Keys that would reach or shadow an object's prototype if a handler merged the payload into an object. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

let forbiddenSeen: string | undefined;
const decoder = new Decoder({
  mapKeyConverter: (key: unknown) => {
    if (typeof key === 'string') {
      if (FORBIDDEN_KEYS.has(key)) forbiddenSeen ??= key;
      return key;
    }
    if (typeof key === 'number') return key;
    throw new Error(`a map key must be a string or number, not ${typeof key}`);
  },
});

/**
 * msgpack refuses a `__proto__` key outright, which would lose the frame's id.
 * To answer such a request with an error, the key's bytes are renamed in a
 * copy of the body (fixstr/str8/str16/str32 forms) and decoded again; the
 * renamed key is then reported as `__proto__`.
 */
const PROTO = Buffer.from('__proto__');
const PROTO_RENAMED = Buffer.from('__proto!_');
const PROTO_PREFIXES = [Buffer.from([0xa9]), Buffer.from([0xd9, 9]), Buffer.from([0xda, 0, 9]), Buffer.from([0xdb, 0, 0, 0, 9])];
function renameProto(body: Buffer): Buffer | undefined {
  const copy = Buffer.from(body);
  let found = false;
  for (const pre of PROTO_PREFIXES) {
    const needle = Buffer.concat([pre, PROTO]);
    for (let i = copy.indexOf(needle); i >= 0; i = copy.indexOf(needle, i + 1)) {
      PROTO_RENAMED.copy(copy, i + pre.length);
      found = true;
    }
  }
  return found ? copy : undefined;
}

/** A well-formed message whose payload has a forbidden key: not delivered; the connection answers it with an error. */
export interface RefusedMessage {
  msg: Message;
  key: string;
}

export function encodeFrame(msg: Message): Buffer {
  const body = encoder.encode(msg);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, 4);
  return frame;
}

export interface FrameDecoderOptions {
  /** Largest frame body accepted, in bytes (default and ceiling: MAX_FRAME). */
  maxFrame?: number;
  /** Receives messages refused for a forbidden key; without it such a frame is a protocol error. */
  onRefused?: (r: RefusedMessage) => void;
}

export class FrameDecoder {
  /** Can be changed between chunks (e.g. raised once a peer has authenticated). */
  maxFrame: number;
  private readonly onRefused: ((r: RefusedMessage) => void) | undefined;
  private readonly head = Buffer.alloc(4);
  private headLen = 0;
  /** The frame being filled (allocated once its length is known), and how much of it is filled. */
  private body: Buffer | undefined;
  private bodyLen = 0;

  constructor(opts: FrameDecoderOptions = {}) {
    this.maxFrame = Math.min(opts.maxFrame ?? MAX_FRAME, MAX_FRAME);
    this.onRefused = opts.onRefused;
  }

  /** Bytes held for an incomplete frame (bounded by maxFrame + 4). */
  get buffered(): number {
    return this.headLen + this.bodyLen;
  }

  /**
   * A protocol error met after some messages of a chunk were decoded: those
   * are returned first, and the error is kept here (and thrown by the next push).
   */
  failed: FractalError | undefined;

  /** Feeds a chunk; returns every complete message it finished. Throws on a protocol error. */
  push(chunk: Buffer): Message[] {
    if (this.failed) throw this.failed;
    const out: Message[] = [];
    try {
      this.pushInto(chunk, out);
    } catch (e) {
      if (out.length === 0) throw e;
      this.failed = e as FractalError;
    }
    return out;
  }

  private pushInto(chunk: Buffer, out: Message[]): void {
    let off = 0;
    while (off < chunk.length) {
      if (!this.body) {
        let len: number;
        if (this.headLen === 0 && chunk.length - off >= 4) {
          len = chunk.readUInt32BE(off);
          off += 4;
        } else {
          const n = Math.min(4 - this.headLen, chunk.length - off);
          chunk.copy(this.head, this.headLen, off, off + n);
          this.headLen += n;
          off += n;
          if (this.headLen < 4) break;
          this.headLen = 0;
          len = this.head.readUInt32BE(0);
        }
        if (len > this.maxFrame) throw new FractalError(ErrorCodes.PROTOCOL, `frame of ${len} bytes exceeds the ${this.maxFrame}-byte limit`);
        if (chunk.length - off >= len) {
          this.decodeInto(chunk.subarray(off, off + len), out);
          off += len;
          continue;
        }
        this.body = Buffer.allocUnsafe(len);
        this.bodyLen = 0;
      }
      const n = Math.min(this.body.length - this.bodyLen, chunk.length - off);
      chunk.copy(this.body, this.bodyLen, off, off + n);
      this.bodyLen += n;
      off += n;
      if (this.bodyLen === this.body.length) {
        const body = this.body;
        this.body = undefined;
        this.bodyLen = 0;
        this.decodeInto(body, out);
      }
    }
  }

  private decodeInto(body: Buffer, out: Message[]): void {
    let msg: unknown;
    let key: string | undefined;
    forbiddenSeen = undefined;
    try {
      msg = decoder.decode(body);
      key = forbiddenSeen;
    } catch (e) {
      const renamed = /__proto__/.test((e as Error).message) ? renameProto(body) : undefined;
      if (!renamed) throw new FractalError(ErrorCodes.PROTOCOL, `undecodable frame: ${(e as Error).message}`);
      try {
        msg = decoder.decode(renamed);
      } catch (e2) {
        throw new FractalError(ErrorCodes.PROTOCOL, `undecodable frame: ${(e2 as Error).message}`);
      }
      key = '__proto__';
    }
    if (!isMessage(msg)) throw new FractalError(ErrorCodes.PROTOCOL, 'frame is not a Fractal message (missing t/id/topic)');
    if (key === undefined) {
      out.push(msg);
      return;
    }
    if (!this.onRefused) throw new FractalError(ErrorCodes.PROTOCOL, `frame has a forbidden key "${key}"`);
    this.onRefused({ msg, key });
  }
}
