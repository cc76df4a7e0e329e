import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeFrame, FrameDecoder, type RefusedMessage } from './codec.js';
import { parseSize, formatSize } from './limits.js';
import type { Message } from './message.js';

// Forbidden keys (__proto__, constructor, prototype) are refused by the decoder; tested on their own below.
const payload = fc.jsonValue().filter((v) => !/"(__proto__|constructor|prototype)"/.test(JSON.stringify(v)));
const msgArb: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ t: fc.constant(0 as const), id: fc.nat(), topic: fc.stringMatching(/^[a-z-]{1,10}\.[a-z-]{1,10}$/), payload }),
  fc.record({ t: fc.constant(1 as const), id: fc.nat(), payload }),
  fc.record({ t: fc.constant(2 as const), topic: fc.string({ minLength: 1 }), payload }),
);

void test('frames decode to the same messages under any chunking', () => {
  fc.assert(fc.property(fc.array(msgArb, { minLength: 1, maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), (msgs, cuts) => {
    const wire = Buffer.concat(msgs.map(encodeFrame));
    const dec = new FrameDecoder();
    const out: Message[] = [];
    let off = 0, i = 0;
    while (off < wire.length) {
      const n = cuts[i++ % cuts.length]!;
      out.push(...dec.push(wire.subarray(off, off + n)));
      off += n;
    }
    assert.deepEqual(JSON.parse(JSON.stringify(out)), JSON.parse(JSON.stringify(msgs)));
  }));
});

void test('an oversized length prefix is a protocol error, not an allocation', () => {
  const dec = new FrameDecoder();
  const b = Buffer.alloc(8);
  b.writeUInt32BE(0xffffffff, 0);
  assert.throws(() => dec.push(b), /exceeds/);
});

void test('a frame that is not a message is rejected', () => {
  const dec = new FrameDecoder();
  const body = Buffer.from([0x81, 0xa1, 0x78, 0x01]); // msgpack {x: 1}
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  assert.throws(() => dec.push(Buffer.concat([len, body])), /not a Fractal message/);
});

void test('a payload with a __proto__ key is refused (no prototype pollution)', () => {
  const frame = encodeFrame({ t: 0, id: 1, topic: 'a.b', payload: JSON.parse('{"__proto__": {"polluted": true}}') as unknown });
  assert.throws(() => new FrameDecoder().push(frame), /__proto__/);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

void test('forbidden keys at any depth are reported with the message and its id (no delivery)', () => {
  const refused: RefusedMessage[] = [];
  const dec = new FrameDecoder({ onRefused: (r) => refused.push(r) });
  const frames = [
    encodeFrame({ t: 0, id: 7, topic: 'a.b', payload: JSON.parse('{"x": {"__proto__": {"polluted": true}}}') as unknown }),
    encodeFrame({ t: 0, id: 8, topic: 'a.b', payload: { x: [{ constructor: 1 }] } }),
    encodeFrame({ t: 0, id: 9, topic: 'a.b', payload: { prototype: 1 } }),
    encodeFrame({ t: 0, id: 10, topic: 'a.b', payload: { fine: '__proto__' } }),
  ];
  const out = dec.push(Buffer.concat(frames));
  assert.deepEqual(refused.map((r) => [(r.msg as { id: number }).id, r.key]), [[7, '__proto__'], [8, 'constructor'], [9, 'prototype']]);
  assert.deepEqual(out.map((m) => (m as { id: number }).id), [10], 'a value equal to a forbidden key is fine');
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

void test('a frame over the limit is refused at its length prefix, before its body arrives', () => {
  const dec = new FrameDecoder({ maxFrame: 4096 });
  const b = Buffer.alloc(4);
  b.writeUInt32BE(4097, 0);
  assert.throws(() => dec.push(b.subarray(0, 2)).concat(dec.push(b.subarray(2))), /4097 bytes exceeds the 4096-byte limit/);
  const ok = encodeFrame({ t: 0, id: 1, topic: 'a.b', payload: { s: 'x'.repeat(4000) } });
  assert.equal(new FrameDecoder({ maxFrame: 4096 }).push(ok).length, 1);
});

void test('a large frame fed in small chunks is buffered once (no re-copying), and its memory is released', () => {
  const msg: Message = { t: 1, id: 3, payload: { data: 'y'.repeat(8 * 1024 * 1024) } };
  const wire = encodeFrame(msg);
  const dec = new FrameDecoder();
  const out: Message[] = [];
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < wire.length; off += 1024) {
    out.push(...dec.push(wire.subarray(off, off + 1024)));
    assert.ok(dec.buffered <= wire.length);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.equal(out.length, 1);
  assert.equal(((out[0] as { payload: { data: string } }).payload.data).length, 8 * 1024 * 1024);
  assert.equal(dec.buffered, 0);
  // Re-concatenating on each of the 8192 chunks copies ~34 GB (minutes); a single buffer copies 8 MB.
  assert.ok(ms < 5000, `decoding 8 MiB in 1 KiB chunks took ${ms.toFixed(0)} ms`);
});

void test('sizes: parse and format', () => {
  assert.equal(parseSize('1G'), 1024 ** 3);
  assert.equal(parseSize('1M'), 1024 ** 2);
  assert.equal(parseSize('64KiB'), 65536);
  assert.equal(parseSize('123'), 123);
  assert.throws(() => parseSize('lots'), /not a size/);
  assert.throws(() => parseSize('0'), /not a size/);
  assert.equal(formatSize(1024 ** 3), '1 GiB');
  assert.equal(formatSize(1024 ** 2), '1 MiB');
  assert.equal(formatSize(1536), '1.5 KiB');
});
