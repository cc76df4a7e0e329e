import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeFrame, FrameDecoder } from './codec.js';
import type { Message } from './message.js';

// `__proto__` keys are refused by the decoder (prototype pollution); tested on their own below.
const payload = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"'));
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
