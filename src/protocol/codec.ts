/**
 * Framing: each message is a 4-byte big-endian length followed by a msgpack
 * body. The decoder accepts arbitrary chunking and rejects oversized frames.
 */
import { Encoder, Decoder } from '@msgpack/msgpack';
import { FractalError, ErrorCodes } from '../errors/index.js';
import { isMessage, type Message } from './message.js';

// `undefined` fields are dropped (as in JSON), so optional fields stay optional on the other side.
const encoder = new Encoder({ ignoreUndefined: true });
const decoder = new Decoder();

export const MAX_FRAME = 256 * 1024 * 1024;

export function encodeFrame(msg: Message): Buffer {
  const body = encoder.encode(msg);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, 4);
  return frame;
}

export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns every complete message it finished. */
  push(chunk: Buffer): Message[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Message[] = [];
    let off = 0;
    while (this.buf.length - off >= 4) {
      const len = this.buf.readUInt32BE(off);
      if (len > MAX_FRAME) throw new FractalError(ErrorCodes.PROTOCOL, `frame of ${len} bytes exceeds the ${MAX_FRAME}-byte limit`);
      if (this.buf.length - off - 4 < len) break;
      const body = this.buf.subarray(off + 4, off + 4 + len);
      off += 4 + len;
      let msg: unknown;
      try {
        msg = decoder.decode(body);
      } catch (e) {
        throw new FractalError(ErrorCodes.PROTOCOL, `undecodable frame: ${(e as Error).message}`);
      }
      if (!isMessage(msg)) throw new FractalError(ErrorCodes.PROTOCOL, 'frame is not a Fractal message (missing t/id/topic)');
      out.push(msg);
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    return out;
  }
}
