import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, dial } from './connection.js';
import { encodeFrame } from './codec.js';
import { RpcPeer } from './rpc.js';
import type { Message } from './message.js';

/** A server Connection and a raw client socket on a fresh unix socket. */
async function pair(maxFrame?: number): Promise<{ server: Promise<Connection>; client: net.Socket; done: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'fractal-conn-'));
  const path = join(dir, 's.sock');
  let resolveConn!: (c: Connection) => void;
  const server = new Promise<Connection>((r) => { resolveConn = r; });
  const srv = net.createServer((s) => resolveConn(new Connection(s, maxFrame === undefined ? {} : { maxFrame })));
  await new Promise<void>((r) => srv.listen(path, r));
  const client = net.createConnection(path);
  await new Promise((r) => client.once('connect', r));
  return { server, client, done: () => { client.destroy(); srv.close(); rmSync(dir, { recursive: true, force: true }); } };
}

void test('a request with __proto__ gets an EINVAL naming the key; the connection stays usable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fractal-conn-'));
  const path = join(dir, 's.sock');
  const srv = net.createServer((s) => {
    const peer = new RpcPeer(new Connection(s));
    peer.onRequest = (req) => peer.respond(req, { echo: req.payload });
  });
  await new Promise<void>((r) => srv.listen(path, r));
  try {
    const client = new RpcPeer(await dial(`local://${path}`));
    await assert.rejects(client.call('a.b', JSON.parse('{"x": 1, "__proto__": {"polluted": 1}}') as unknown), (e: { code?: string; message?: string }) => {
      assert.equal(e.code, 'EINVAL');
      assert.match(e.message ?? '', /"__proto__"/);
      return true;
    });
    await assert.rejects(client.call('a.b', { constructor: 1 }), /"constructor"/);
    assert.deepEqual(await client.call('a.b', { ok: 1 }), { echo: { ok: 1 } });
    client.conn.close();
  } finally {
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a frame over the connection limit closes it at the prefix', async () => {
  const p = await pair(4096);
  try {
    const conn = await p.server;
    const closed = new Promise<Error | undefined>((r) => conn.on('close', r));
    const got: Message[] = [];
    conn.on('message', (m) => got.push(m));
    p.client.write(encodeFrame({ t: 2, topic: 'a.b', payload: {} }));
    const big = Buffer.alloc(4);
    big.writeUInt32BE(256 * 1024 * 1024, 0);
    p.client.write(big);
    const err = await closed;
    assert.match(err?.message ?? '', /exceeds the 4096-byte limit/);
    assert.equal(got.length, 1, 'the frame before it was delivered');
  } finally {
    p.done();
  }
});
