/**
 * The overlay between brokers: over TCP (-o overlay=tcp) jobs span all
 * ranks as over unix sockets, and a peer that does not present the
 * instance's secret is refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFrame, FrameDecoder, type Message } from '../src/protocol/index.js';
import { isBrokerCmd, Instance, processesMatching } from './helpers.js';

function hello(port: number, token: string): Promise<Message | 'closed'> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(port, '127.0.0.1');
    const dec = new FrameDecoder();
    sock.on('connect', () => sock.write(encodeFrame({ t: 0, id: 1, topic: 'overlay.hello', payload: { rank: 1, token } })));
    sock.on('data', (d: Buffer) => {
      const m = dec.push(d)[0];
      if (m) {
        sock.destroy();
        resolve(m);
      }
    });
    sock.on('close', () => resolve('closed'));
    sock.on('error', reject);
  });
}

void describe('TCP overlay', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({ size: 3, extraArgs: ['-o', 'overlay=tcp'] });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('a job spans the 3 ranks connected over TCP', async () => {
    const r = await inst.ok(['run', '-N3', '-n3', '--', 'sh', '-c', 'echo rank-$FRACTAL_NODE_RANK']);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['rank-0', 'rank-1', 'rank-2']);
  });

  void test('the brokers listen on TCP and refuse a peer without the instance\'s keys', async () => {
    const rank0 = processesMatching(inst.state).find((p) => isBrokerCmd(p.cmdline) && /--rank\s0\b/.test(p.cmdline));
    assert.ok(rank0, 'rank 0 broker process found');
    const m = /--overlay-uri\s+tcp:\/\/127\.0\.0\.1:(\d+)/.exec(rank0.cmdline);
    assert.ok(m, `rank 0 has a TCP overlay address: ${rank0.cmdline}`);
    const port = Number(m[1]);
    // The overlay is TLS with keys the instance made (state dir tls/): a plain TCP hello gets no answer at all.
    const bad = await hello(port, 'not-the-secret');
    assert.equal(bad, 'closed', `refused: ${JSON.stringify(bad)}`);
    const key = readFileSync(join(inst.state, 'overlay.key'), 'utf8').trim();
    assert.equal(key.length, 64);
    // The instance still works after the intrusion attempt.
    const r = await inst.ok(['run', '-N3', '-n3', 'true']);
    assert.equal(r.code, 0);
  });
});
