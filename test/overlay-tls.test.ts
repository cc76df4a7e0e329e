/**
 * The TCP overlay over mutual TLS (-o tls-dir=DIR, keys from `fractal keygen`):
 * a broker with the instance's certificate joins; a peer with a certificate
 * from another CA, or speaking plain TCP, cannot join or read anything.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Connection, dialTls, encodeFrame, FrameDecoder, loadOverlayTls, RpcPeer, tlsServerOptions, type Message, type OverlayTls,
} from '../src/protocol/index.js';
import { keygen } from '../src/cli/commands/keygen.js';
import { cleanEnv, describeResult, FRACTAL_BIN, Instance, isBrokerCmd, processesMatching, run, waitFor } from './helpers.js';

/** Sends an overlay hello in plain TCP; resolves with the first answer, or 'closed'. */
function plainHello(port: number, token: string): Promise<Message | 'closed'> {
  return new Promise((resolve) => {
    const sock = net.createConnection(port, '127.0.0.1');
    const dec = new FrameDecoder();
    let got: Message | undefined;
    sock.on('connect', () => sock.write(encodeFrame({ t: 0, id: 1, topic: 'overlay.hello', payload: { rank: 1, token } })));
    sock.on('data', (d: Buffer) => {
      try {
        got ??= dec.push(d)[0];
      } catch { /* TLS bytes are not frames */ }
      if (got) sock.destroy();
    });
    sock.on('error', () => { /* reset by the server: same as closed */ });
    sock.on('close', () => resolve(got ?? 'closed'));
  });
}

void describe('overlay TLS on loopback', () => {
  let root: string;
  let mine: OverlayTls;
  let other: OverlayTls;
  let srv: tls.Server;
  let port: number;
  const accepted: Connection[] = [];
  const refusals: Error[] = [];
  let waiters: Array<() => void> = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'fractal-tls-'));
    await keygen(join(root, 'mine'));
    await keygen(join(root, 'other'));
    mine = loadOverlayTls(join(root, 'mine'));
    other = loadOverlayTls(join(root, 'other'));
    // A stand-in for a broker's overlay server: answers every request with its topic.
    srv = tls.createServer(tlsServerOptions(mine), (sock) => {
      const conn = new Connection(sock);
      accepted.push(conn);
      const peer = new RpcPeer(conn);
      peer.onRequest = (req) => peer.respond(req, { topic: req.topic, secure: (sock as tls.TLSSocket).encrypted === true });
    });
    srv.on('tlsClientError', (e) => {
      refusals.push(e);
      for (const w of waiters) w();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    port = (srv.address() as net.AddressInfo).port;
  });
  after(() => {
    for (const c of accepted) c.close();
    srv.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** Resolves once the server has refused `n` handshakes in all (an alert may arrive after the client gave up). */
  const refusedAtLeast = (n: number): Promise<void> => new Promise((r) => {
    const check = () => {
      if (refusals.length < n) return;
      waiters = waiters.filter((w) => w !== check);
      r();
    };
    waiters.push(check);
    check();
  });

  void test('a client with the instance certificate connects over TLS 1.3 and talks', async () => {
    const conn = await dialTls({ kind: 'tcp', host: '127.0.0.1', port }, mine);
    try {
      assert.equal((conn.socket as tls.TLSSocket).getProtocol(), 'TLSv1.3');
      const peer = new RpcPeer(conn);
      assert.deepEqual(await peer.call('overlay.hello', { rank: 1, token: 'x' }), { topic: 'overlay.hello', secure: true });
    } finally {
      conn.close();
    }
  });

  void test('a client of another CA fails the handshake: it does not trust the server and the server does not trust it', async () => {
    const before = accepted.length;
    const refusedBefore = refusals.length;
    await assert.rejects(dialTls({ kind: 'tcp', host: '127.0.0.1', port }, other), /TLS handshake with tcp:\/\/127\.0\.0\.1:\d+ failed/);
    // Even knowing the instance's CA certificate (public), its own certificate is refused by the server.
    const outcome = await dialTls({ kind: 'tcp', host: '127.0.0.1', port }, { ...other, ca: mine.ca }).then(
      // TLS 1.3: the client may finish its side before the server's alert arrives; then nothing ever answers.
      (conn) => new RpcPeer(conn).call('overlay.hello', { rank: 1, token: 'x' }).then(() => 'answered', () => 'closed'),
      () => 'refused',
    );
    await refusedAtLeast(refusedBefore + 2);
    assert.notEqual(outcome, 'answered');
    assert.equal(accepted.length, before, 'no connection reached the server');
  });

  void test('a plain TCP client that says hello gets nothing back', async () => {
    const before = accepted.length;
    const refusedBefore = refusals.length;
    assert.equal(await plainHello(port, 'x'), 'closed');
    await refusedAtLeast(refusedBefore + 1);
    assert.equal(accepted.length, before);
  });
});

void describe('instance with a TLS overlay', () => {
  let inst: Instance;
  let keys: string;
  before(async () => {
    keys = mkdtempSync(join(tmpdir(), 'fractal-tls-'));
    await keygen(keys);
    inst = await Instance.start({ size: 3, extraArgs: ['-o', 'overlay=tcp', '-o', `tls-dir=${keys}`] });
  });
  after(async () => {
    await inst.destroy();
    rmSync(keys, { recursive: true, force: true });
  });

  void test('a job spans the 3 ranks connected over TLS', async () => {
    const r = await inst.ok(['run', '-N3', '-n3', '--', 'sh', '-c', 'echo rank-$FRACTAL_NODE_RANK']);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['rank-0', 'rank-1', 'rank-2']);
  });

  void test('a plain TCP peer with the right token gets nothing back; the instance keeps working', async () => {
    const rank0 = processesMatching(inst.state).find((p) => isBrokerCmd(p.cmdline) && /--rank\s0\b/.test(p.cmdline));
    assert.ok(rank0, 'rank 0 broker process found');
    assert.match(rank0.cmdline, new RegExp(`--attr tls-dir=${keys}\\b`));
    const m = /--overlay-uri\s+tcp:\/\/127\.0\.0\.1:(\d+)/.exec(rank0.cmdline);
    assert.ok(m, `rank 0 has a TCP overlay address: ${rank0.cmdline}`);
    const token = readFileSync(join(inst.state, 'overlay.key'), 'utf8').trim();
    assert.equal(await plainHello(Number(m[1]), token), 'closed');
    await waitFor('rank 0 to log the refused peer', () => readFileSync(join(inst.state, 'broker-0.log'), 'utf8').includes('overlay: refused a TLS peer'), 60000);
    const r = await inst.ok(['run', '-N3', '-n3', 'true']);
    assert.equal(r.code, 0);
  });

  void test('a peer with the keys but a wrong hello key is refused (EPERM): the second check', async () => {
    const rank0 = processesMatching(inst.state).find((p) => isBrokerCmd(p.cmdline) && /--rank\s0\b/.test(p.cmdline));
    const m = /--overlay-uri\s+tcp:\/\/127\.0\.0\.1:(\d+)/.exec(rank0?.cmdline ?? '');
    assert.ok(m, 'rank 0 has a TCP overlay address');
    const conn = await dialTls({ kind: 'tcp', host: '127.0.0.1', port: Number(m[1]) }, loadOverlayTls(keys));
    try {
      await assert.rejects(new RpcPeer(conn).call('overlay.hello', { rank: 1, token: 'not-the-key' }), (e: { code?: string; message?: string }) => e.code === 'EPERM' && /wrong token/.test(e.message ?? ''));
    } finally {
      conn.close();
    }
  });

  void test('a killed broker restarted on the same state directory re-joins over TLS', async () => {
    const rank1 = processesMatching(inst.state).find((p) => isBrokerCmd(p.cmdline) && /--rank\s1\b/.test(p.cmdline));
    assert.ok(rank1, 'rank 1 broker process found');
    process.kill(rank1.pid, 'SIGKILL');
    await waitFor('rank 1 to exit', () => !processesMatching(inst.state).some((p) => p.pid === rank1.pid), 30000);
    // Rank 0 still runs: `fractal start --daemon` starts only the missing rank, with the same keys.
    await inst.ok(inst.startArgs(), { timeoutMs: 120000 });
    const r = await inst.ok(['run', '-N3', '-n3', '--', 'sh', '-c', 'echo rank-$FRACTAL_NODE_RANK'], { timeoutMs: 120000 });
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['rank-0', 'rank-1', 'rank-2']);
  });
});

void test('-o overlay=tcp without a tls-dir: the instance makes its own keys in its state directory and its overlay is TLS', async () => {
  const inst = await Instance.start({ size: 2, extraArgs: ['-o', 'overlay=tcp'] });
  try {
    for (const f of ['ca.crt', 'ca.key', 'broker.crt', 'broker.key']) assert.ok(existsSync(join(inst.state, 'tls', f)), `state dir has tls/${f}`);
    const rank0 = processesMatching(inst.state).find((p) => isBrokerCmd(p.cmdline) && /--rank\s0\b/.test(p.cmdline));
    assert.ok(rank0);
    assert.match(rank0.cmdline, /--attr tls-dir=\S+\/tls\b/);
    const m = /--overlay-uri\s+tcp:\/\/127\.0\.0\.1:(\d+)/.exec(rank0.cmdline);
    assert.ok(m, rank0.cmdline);
    const token = readFileSync(join(inst.state, 'overlay.key'), 'utf8').trim();
    assert.equal(await plainHello(Number(m[1]), token), 'closed', 'a plain TCP peer with the right token gets nothing');
    const r = await inst.ok(['run', '-N2', '-n2', '--', 'sh', '-c', 'echo rank-$FRACTAL_NODE_RANK']);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['rank-0', 'rank-1']);
  } finally {
    await inst.destroy();
  }
});

void test('fractal start with a tls-dir without keys says which file is missing and how to make it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fractal-tls-'));
  try {
    const r = await run(FRACTAL_BIN, ['start', '--test-size=2', '-o', 'overlay=tcp', '-o', `tls-dir=${dir}`, 'true'], { env: { ...cleanEnv(), FRACTAL_HOME: dir } });
    assert.equal(r.code, 1, describeResult(r));
    assert.match(r.stderr, new RegExp(`${join(dir, 'ca.crt')} is missing; create the instance's keys with \`fractal keygen ${dir}\``));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
