/**
 * The broker's routing error paths, with real brokers in this process talking
 * over unix sockets: a request for a rank the instance does not have, an
 * internal topic called by a client (directly or through another broker), an
 * unknown topic, a payload that is not an object, and a child broker lost
 * while requests forwarded to it are in flight (each is answered with an
 * error at once, later requests for that rank too).
 *
 * What a child does when it loses its PARENT is not tested here (it changes
 * with the reconnecting overlay); a child is lost here by shutting it down.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Fractal } from '../api/index.js';
import { DEFERRED, type Req } from '../service/index.js';
import { Broker } from './broker.js';

const TOKEN = 'test-token';

function makeBroker(dir: string, rank: number, size: number): Broker {
  const localPath = join(dir, `local-${rank}.sock`);
  return new Broker({
    info: { rank, size, rundir: dir, statedir: dir, uri: `local://${localPath}`, attrs: {}, hostname: 'test' },
    store: undefined,
    fanout: 2,
    overlayUri: `local://${join(dir, `overlay-${rank}.sock`)}`,
    ...(rank > 0 ? { parentUri: `local://${join(dir, 'overlay-0.sock')}` } : {}),
    overlayToken: TOKEN,
    localPath,
  });
}

/** The error a call ends with (fails the test if it succeeds). */
async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    const v = await p;
    assert.fail(`the call succeeded: ${JSON.stringify(v)}`);
  } catch (e) {
    const x = e as { code?: string; message?: string };
    if (x.code === 'ERR_ASSERTION') throw e;
    return { code: String(x.code), message: String(x.message) };
  }
}

void describe('broker routing error paths', () => {
  let dir: string;
  let root: Broker;
  let child: Broker;
  let onRoot: Fractal;
  let onChild: Fractal;
  /** Requests the child's "hold" service took in and never answered. */
  const held: Req[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'frb-'));
    root = makeBroker(dir, 0, 2);
    child = makeBroker(dir, 1, 2);
    root.register([
      { topic: 'secret.get', internal: true, handler: () => ({ secret: 1 }) },
      { topic: 'echo.get', handler: (req) => ({ got: req.payload }) },
    ]);
    child.register([
      {
        topic: 'hold.wait', handler: (req) => {
          held.push(req);
          return DEFERRED;
        },
      },
    ]);
    await root.listen();
    await child.listen();
    await Promise.all([root.joinOverlay(10000), child.joinOverlay(10000)]);
    // As main.ts does once the modules are loaded: until then clients are told ESTARTING.
    root.ready = true;
    child.ready = true;
    onRoot = await connect(root.info.uri);
    onChild = await connect(child.info.uri);
  });
  after(async () => {
    onRoot.close();
    onChild.close();
    await child.shutdown();
    await root.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  void test('a rank the instance does not have: EINVAL naming the ranks it has', async () => {
    for (const rank of [2, 99, -5]) {
      const e = await errorOf(onRoot.rpc('echo.get', {}, rank));
      assert.equal(e.code, 'EINVAL', `rank ${rank}: ${e.message}`);
      assert.match(e.message, new RegExp(`no broker rank ${rank}: the instance has ranks 0-1`));
    }
    // The same from the child (checked before going up).
    const e = await errorOf(onChild.rpc('echo.get', {}, 7));
    assert.equal(e.code, 'EINVAL');
  });

  void test('an internal topic called by a client is refused with EPERM, directly or through the child broker', async () => {
    const direct = await errorOf(onRoot.rpc('secret.get', {}));
    assert.equal(direct.code, 'EPERM');
    assert.match(direct.message, /secret\.get is internal to the instance; clients use the public services/);
    // Forwarded up from rank 1: the request keeps its client origin.
    const viaChild = await errorOf(onChild.rpc('secret.get', {}));
    assert.equal(viaChild.code, 'EPERM');
    const addressed = await errorOf(onChild.rpc('secret.get', {}, 0));
    assert.equal(addressed.code, 'EPERM');
    // A module of the broker may call it.
    assert.deepEqual(await root.rpc('secret.get', {}), { secret: 1 });
  });

  void test('unknown topics and services: ENOSYS; a payload that is not an object: EINVAL', async () => {
    const method = await errorOf(onRoot.rpc('echo.nosuch', {}));
    assert.equal(method.code, 'ENOSYS');
    assert.match(method.message, /service "echo" has no method "nosuch"/);
    const service = await errorOf(onRoot.rpc('nosuch.thing', {}));
    assert.equal(service.code, 'ENOSYS');
    assert.match(service.message, /no service "nosuch" in this instance/);
    const onRank1 = await errorOf(onRoot.rpc('echo.get', {}, 1));
    assert.equal(onRank1.code, 'ENOSYS', 'echo is not loaded on rank 1');
    for (const payload of [[1, 2], 'text', 5]) {
      const e = await errorOf(onRoot.rpc('echo.get', payload));
      assert.equal(e.code, 'EINVAL', JSON.stringify(payload));
      assert.match(e.message, /the payload must be an object/);
    }
    // Routing works (the errors above are not a broken link).
    assert.deepEqual(await onChild.rpc('echo.get', { a: 1 }), { got: { a: 1 } });
  });

  // Last: it takes the child down.
  // A time-out, not a sleep: without the fix the requests would hang for ever.
  void test('a lost child: requests in flight to it end with ECONN at once, later ones too; the loss is published', { timeout: 60000 }, async () => {
    const lost: unknown[] = [];
    root.contextFor({ name: 'test', ranks: 'all', start: () => undefined }).subscribe('overlay.lost', (_t, p) => lost.push(p));
    const inFlight = [onRoot.rpc('hold.wait', { n: 1 }, 1), onRoot.rpc('hold.wait', { n: 2 }, 1)];
    const outcomes = inFlight.map((p) => errorOf(p));
    // Both reached the child (they are held there), then the child goes away.
    while (held.length < 2) await new Promise((r) => setImmediate(r));
    await child.shutdown();
    for (const e of await Promise.all(outcomes)) {
      assert.equal(e.code, 'ECONN');
      assert.match(e.message, /lost connection to child rank 1/);
    }
    const later = await errorOf(onRoot.rpc('hold.wait', {}, 1));
    assert.equal(later.code, 'ECONN');
    assert.match(later.message, /broker rank 1 is not reachable from rank 0/);
    assert.deepEqual(lost, [{ rank: 1, ranks: [1] }], "the lost rank and its whole subtree");
    // Rank 0 still serves its own clients.
    assert.deepEqual(await onRoot.rpc('echo.get', { ok: true }), { got: { ok: true } });
  });
});
