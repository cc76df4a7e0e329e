/**
 * A broker whose modules are not loaded yet answers client requests with
 * ESTARTING instead of "no service", and the API client retries by itself
 * until the broker is ready (or a bound passes). Real sockets, one broker
 * in this process, a stand-in module.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../api/index.js';
import { FractalError } from '../errors/index.js';
import { localUri } from '../protocol/index.js';
import type { BrokerModule } from '../service/index.js';
import { Broker } from './broker.js';

const dir = mkdtempSync(join(tmpdir(), 'frd-'));
const brokers: Broker[] = [];
after(async () => {
  for (const b of brokers) await b.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

async function startingBroker(name: string): Promise<{ broker: Broker; uri: string }> {
  const localPath = join(dir, `${name}.sock`);
  const uri = localUri(localPath);
  const broker = new Broker({
    info: { rank: 0, size: 1, rundir: dir, statedir: dir, uri, attrs: {}, hostname: 'test' },
    store: undefined, fanout: 2, localPath,
  });
  broker.onShutdown = () => {};
  brokers.push(broker);
  await broker.listen();
  return { broker, uri };
}

/** Resolves once the broker has refused `n` requests (wraps its private reject). */
function refusals(broker: Broker, n: number): Promise<void> {
  const b = broker as unknown as { reject: (...a: unknown[]) => void };
  const original = b.reject.bind(broker);
  let count = 0;
  return new Promise((resolve) => {
    b.reject = (...a: unknown[]) => {
      original(...a);
      if (++count === n) resolve();
    };
  });
}

const ingest: BrokerModule = {
  name: 'job-ingest',
  ranks: 'leader',
  start(ctx) {
    ctx.register([{ topic: 'job-ingest.submit', handler: () => ({ id: 1 }) }]);
  },
};

void test('before its modules are loaded a broker answers ESTARTING, not "no service"; broker.* works', async () => {
  const { uri } = await startingBroker('a');
  const f = await connect(uri, { startingTimeoutMs: 0 });
  try {
    await assert.rejects(f.rpc('job-ingest.submit', {}), (e: unknown) => e instanceof FractalError && e.code === 'ESTARTING' && /still starting/.test(e.message));
    const ping = await f.rpc<{ rank: number }>('broker.ping', {});
    assert.equal(ping.rank, 0);
  } finally {
    f.close();
  }
});

void test('a client call waits while the broker starts, and is answered once it is ready', async () => {
  const { broker, uri } = await startingBroker('b');
  const notices: string[] = [];
  const f = await connect(uri, { startingTimeoutMs: 60_000, startingNoticeMs: 0, onStartingWait: (m) => notices.push(m) });
  try {
    const refused = refusals(broker, 3);
    const call = f.rpc<{ id: number }>('job-ingest.submit', {});
    // Let the client be refused a few times before the modules come up (no sleep: count the refusals).
    await refused;
    await broker.loadModules([ingest]);
    broker.ready = true;
    assert.deepEqual(await call, { id: 1 });
    assert.deepEqual(notices, ['the instance is starting; waiting up to 60s for it'], 'one notice per call');
  } finally {
    f.close();
  }
});

void test('a stream request is retried the same way (no data is delivered twice)', async () => {
  const { broker, uri } = await startingBroker('c');
  const f = await connect(uri);
  try {
    const got: unknown[] = [];
    const refused = refusals(broker, 1);
    const done = f.stream('job-ingest.submit', {}, (p) => got.push(p));
    await refused;
    await broker.loadModules([ingest]);
    broker.ready = true;
    await done;
    assert.deepEqual(got, [{ id: 1 }]);
  } finally {
    f.close();
  }
});

void test('after the bound the call fails with ESTARTING and says what to do', async () => {
  const { uri } = await startingBroker('d');
  const f = await connect(uri, { startingTimeoutMs: 300 });
  try {
    await assert.rejects(f.rpc('job-ingest.submit', {}), (e: unknown) => e instanceof FractalError && e.code === 'ESTARTING'
      && /the instance at .* is still starting after \d+s; check its broker log/.test(e.message));
  } finally {
    f.close();
  }
});
