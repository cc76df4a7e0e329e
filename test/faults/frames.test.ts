/**
 * Fault injection: oversized frames before authentication. Any local user
 * can reach a TCP overlay port. That port speaks TLS with the instance's
 * keys (made at start when -o overlay=tcp has no tls-dir, ADR 16), so a
 * stranger's 256 MiB length prefix fails the handshake and the connection is
 * closed at once instead of being buffered; a peer that has the keys is
 * still held to a few KB until its overlay.hello succeeds (PREAUTH_MAX_FRAME). Frames over the configured
 * maximum on the client socket are closed at the prefix too, and a payload
 * with a `__proto__` key gets an error while the connection stays usable.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MAX_FRAME, dialTls, encodeFrame, loadOverlayTls, PREAUTH_MAX_FRAME } from '../../src/protocol/index.js';
import type { Fractal } from '../../src/api/index.js';
import { isBrokerCmd, Instance, processesMatching, run, waitFor } from '../helpers.js';

/** Peak resident memory of a process (kB → bytes), from /proc: catches a spike between two samples. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) * 1024;
}

/**
 * Run as `nobody`: opens CONNS connections to the port, sends a 256 MiB
 * length prefix on each and keeps streaming (with back-pressure) up to CAP
 * bytes, then half-closes. Prints, per connection, the bytes it managed to
 * write and whether the broker closed the connection before the end.
 */
const ATTACK = `
const net = require('node:net');
const [port, conns, cap] = process.argv.slice(1).map(Number);
const results = [];
const sockets = [];
const chunk = Buffer.alloc(65536, 0x61);
for (let i = 0; i < conns; i++) {
  const s = net.createConnection(port, '127.0.0.1');
  let written = 0, closed = false;
  const pump = () => {
    while (!closed && written < cap) {
      written += chunk.length;
      if (!s.write(chunk)) return;
    }
    if (!closed && written >= cap) s.end();
  };
  s.on('connect', () => {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(256 * 1024 * 1024, 0);
    s.write(prefix);
    pump();
  });
  s.on('drain', pump);
  s.on('error', () => {});
  s.on('close', () => {
    closed = true;
    results.push({ written, closedByBroker: written < cap });
    if (results.length === conns) console.log(JSON.stringify(results));
  });
  sockets.push({ s, get written() { return written; }, get closed() { return closed; } });
}
// A broker that keeps reading never closes: report that after a generous time instead of hanging.
setTimeout(() => {
  for (const x of sockets) if (!x.closed) results.push({ written: x.written, closedByBroker: false });
  console.log(JSON.stringify(results));
  process.exit(0);
}, 60000).unref();
`;

void describe('pre-authentication frames (fault injection)', () => {
  let inst: Instance;
  let f: Fractal;
  let port = 0;
  let rank0Pid = 0;
  before(async () => {
    inst = await Instance.start({ size: 2, extraArgs: ['-o', 'overlay=tcp'] });
    f = await inst.api();
    const rank0 = processesMatching(inst.state).find((p) => isBrokerCmd(p.cmdline) && /--rank\s0\b/.test(p.cmdline));
    assert.ok(rank0, 'rank 0 broker process found');
    const m = /--overlay-uri\s+tcp:\/\/127\.0\.0\.1:(\d+)/.exec(rank0.cmdline);
    assert.ok(m, `rank 0 has a TCP overlay address: ${rank0.cmdline}`);
    port = Number(m[1]);
    rank0Pid = (await f.rpc<{ pid: number }>('broker.info', {}, 0)).pid;
    assert.equal(rank0Pid, rank0.pid);
  });
  after(async () => {
    await inst.destroy();
  });

  void test('three unprivileged connections with 256 MiB prefixes: refused at the TLS handshake, memory flat, jobs answer', async () => {
    // Warm up (a job on both ranks), so that the baseline includes a working instance.
    await inst.ok(['run', '-N2', '-n2', 'true']);
    const base = peakRss(rank0Pid);
    const CAP = 32 * 1024 * 1024;
    const r = await run('runuser', ['-u', 'nobody', '--', process.execPath, '-e', ATTACK, String(port), '3', String(CAP)], { timeoutMs: 120000 });
    assert.equal(r.code, 0, `attack script: ${r.stderr}`);
    const results = JSON.parse(r.stdout) as { written: number; closedByBroker: boolean }[];
    assert.equal(results.length, 3);
    for (const c of results) {
      assert.equal(c.closedByBroker, true, `the broker closed the connection before the client had sent its ${CAP} bytes: ${JSON.stringify(results)}`);
      // What the client got into socket buffers before the reset; the broker itself read one chunk.
      assert.ok(c.written < 16 * 1024 * 1024, `closed early: ${JSON.stringify(results)}`);
    }
    // The broker says why: each stranger was refused at the TLS handshake.
    const log = await waitFor('three log lines', () => {
      const text = readFileSync(join(inst.state, 'broker-0.log'), 'utf8');
      const lines = text.split('\n').filter((l) => l.includes('overlay: refused a TLS peer'));
      return lines.length >= 3 ? lines : undefined;
    });
    assert.equal(log.length, 3, log.join('\n'));
    const grown = peakRss(rank0Pid) - base;
    assert.ok(grown < 24 * 1024 * 1024, `rank 0's peak RSS grew by ${(grown / 1e6).toFixed(1)} MB`);
    const t0 = Date.now();
    const jobs = await inst.fractal(['jobs', '-a'], { timeoutMs: 30000 });
    assert.equal(jobs.code, 0, jobs.stderr);
    assert.match(jobs.stdout, /COMPLETED|CD/);
    // The instance still serves: a job across both ranks (the real child is still connected).
    assert.equal((await inst.ok(['run', '-N2', '-n2', 'true'])).code, 0);
    process.stdout.write(`# frames: peak RSS of rank 0 grew ${(grown / 1e6).toFixed(1)} MB; written before close ${results.map((c) => c.written).join(', ')} bytes; jobs answered in ${Date.now() - t0} ms\n`);
  });

  void test('a peer with the instance\'s keys is still held to the pre-authentication limit until its hello', async () => {
    const conn = await dialTls({ kind: 'tcp', host: '127.0.0.1', port }, loadOverlayTls(join(inst.state, 'tls')));
    const closed = new Promise<void>((r) => conn.socket.once('close', () => r()));
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(256 * 1024 * 1024, 0);
    conn.socket.write(prefix);
    conn.socket.write(Buffer.alloc(65536, 0x61));
    await closed;
    await waitFor('the log line naming the limit', () =>
      readFileSync(join(inst.state, 'broker-0.log'), 'utf8').includes(`frame of ${256 * 1024 * 1024} bytes exceeds the ${PREAUTH_MAX_FRAME}-byte limit`) || undefined);
  });

  void test('a frame over the configured maximum on the client socket is closed at the prefix', async () => {
    const sock = net.createConnection(inst.socketPath);
    let closed = false;
    sock.on('close', () => { closed = true; });
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(DEFAULT_MAX_FRAME + 1, 0);
    sock.write(Buffer.concat([prefix, Buffer.alloc(4096, 0x61)]));
    // Closed without the rest of the frame (an old broker waits for all 64 MiB).
    await waitFor('the broker to close the connection', () => closed, 30000);
    await waitFor('the log line', () => readFileSync(join(inst.state, 'broker-0.log'), 'utf8').includes(`frame of ${DEFAULT_MAX_FRAME + 1} bytes exceeds the ${DEFAULT_MAX_FRAME}-byte limit`));
    // A frame at the limit's scale that is legitimate still works: a 1 MiB payload.
    const r = await f.rpc<{ payload: { s: string } }>('broker.ping', { s: 'x'.repeat(1024 * 1024) });
    assert.equal(r.payload.s.length, 1024 * 1024);
  });

  void test('__proto__, constructor, prototype keys: an EINVAL naming the key, the connection stays usable', async () => {
    for (const [payload, key] of [
      [JSON.parse('{"states": ["all"], "__proto__": {"polluted": true}}') as unknown, '__proto__'],
      [{ states: ['all'], x: { constructor: { prototype: 1 } } }, 'constructor'],
    ] as const) {
      await assert.rejects(f.rpc('job-manager.list', payload), (e: { code?: string; message?: string }) => {
        assert.equal(e.code, 'EINVAL', e.message);
        assert.match(e.message ?? '', new RegExp(`"${key}"`));
        return true;
      });
    }
    // Same connection: still answered.
    const ping = await f.rpc<{ rank: number }>('broker.ping', {});
    assert.equal(ping.rank, 0);
    // A raw frame too (not through the API's encoder).
    const sock = net.createConnection(inst.socketPath);
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    await new Promise((r) => sock.once('connect', r));
    sock.write(encodeFrame({ t: 0, id: 41, topic: 'broker.ping', payload: JSON.parse('{"__proto__": 1}') as unknown }));
    sock.write(encodeFrame({ t: 0, id: 42, topic: 'broker.ping', payload: {} }));
    await waitFor('two answers', () => Buffer.concat(got).length > 0 && Buffer.concat(got).includes(Buffer.from('rank')));
    sock.destroy();
    const text = Buffer.concat(got).toString('latin1');
    assert.match(text, /EINVAL/);
    assert.match(text, /__proto__/);
  });
});
