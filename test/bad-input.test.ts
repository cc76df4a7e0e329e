/**
 * Bad input: every command given bad input exits non-zero with a clear
 * message on stderr (no hang, no stack trace), and the instance keeps
 * working. Then abuse of the wire protocol itself: garbage bytes, huge
 * length prefixes, frames that are not messages, unknown topics, malformed
 * payloads, fuzzed jobspecs. The broker must survive all of it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Fractal } from '../src/api/index.js';
import { connect } from '../src/api/index.js';
import { jobspecFromCommand } from '../src/jobspec/index.js';
import { FrameDecoder } from '../src/protocol/index.js';
import { cleanEnv, describeResult, failedCleanly, FRACTAL_BIN, Instance, isAlive, run, sleep } from './helpers.js';

let inst: Instance;
let brokerPid: number;
let finished: number;
let held: number;

/**
 * A CLI normally answers in well under a second, but on a loaded machine Node's
 * own start-up takes seconds: a bad-input case that takes this long has hung.
 */
const HANG_MS = 60000;
/** Resolves 'timeout' after HANG_MS without keeping the process alive. */
const hang = (): Promise<'timeout'> => new Promise((r) => setTimeout(() => r('timeout'), HANG_MS).unref());

interface Case {
  args: () => string[];
  message: RegExp;
  /** A known bug: the case is kept as a todo test. */
  bug?: string;
}

const cases: Record<string, Case> = {
  // ---- submit: shapes and options
  'submit -n 0': { args: () => ['submit', '-n', '0', 'true'], message: /-n\/--ntasks must be an integer >= 1 \(got "0"\)/ },
  'submit -N 0': { args: () => ['submit', '-N', '0', 'true'], message: /-N\/--nodes must be an integer >= 1/ },
  'submit -c abc': { args: () => ['submit', '-c', 'abc', 'true'], message: /-c\/--cores-per-task .*"abc"/ },
  'submit -g -1': { args: () => ['submit', '-g', '-1', 'true'], message: /gpus-per-task/ },
  'submit -t 5x': { args: () => ['submit', '-t', '5x', 'true'], message: /invalid duration "5x"/ },
  'submit -t -5s': { args: () => ['submit', '-t', '-5s', 'true'], message: /duration "-5s".*negative/ },
  'submit with an unknown flag': { args: () => ['submit', '--no-such-flag', 'true'], message: /unknown option '--no-such-flag'/ },
  'submit without a command': { args: () => ['submit'], message: /missing required argument 'command'/ },
  'submit with an empty program name': { args: () => ['submit', ''], message: /program name must not be empty/ },
  'submit -n 1000 (can never fit)': { args: () => ['submit', '-n', '1000', 'true'], message: /unsatisfiable/ },
  'submit -N 3 on 2 nodes': { args: () => ['submit', '-N', '3', '-n', '3', 'true'], message: /unsatisfiable.*3 nodes/ },
  'submit -g 1 without GPUs': { args: () => ['submit', '-g', '1', 'true'], message: /unsatisfiable.*GPU/ },
  'submit -c 2 on 1-core nodes': { args: () => ['submit', '-c', '2', 'true'], message: /unsatisfiable/ },
  'submit -N 2 -n 1': { args: () => ['submit', '-N', '2', '-n', '1', 'true'], message: /2 nodes is more than the 1 task/ },
  'submit --exclusive without -N': { args: () => ['submit', '--exclusive', 'true'], message: /--exclusive: requires -N/ },
  'submit --urgency 32': { args: () => ['submit', '--urgency', '32', 'true'], message: /urgency must be 0-31/ },
  'submit --urgency high': { args: () => ['submit', '--urgency', 'high', 'true'], message: /--urgency must be an integer/ },
  'submit --dependency on a job that does not exist': { args: () => ['submit', '--dependency', 'afterok:99999', 'true'], message: /no job 99999/ },
  'submit --dependency with an unknown scheme': { args: () => ['submit', '--dependency', 'sometime:1', 'true'], message: /--dependency "sometime:1"/ },
  'submit --dependency afterok:abc': { args: () => ['submit', '--dependency', 'afterok:abc', 'true'], message: /--dependency "afterok:abc"/ },
  'submit --begin-time nonsense': { args: () => ['submit', '--begin-time', 'tomorrowish', 'true'], message: /--begin-time "tomorrowish"/ },
  'submit --cc abc': { args: () => ['submit', '--cc', 'abc', 'true'], message: /invalid idset "abc"/ },
  'submit --cc 5-1': { args: () => ['submit', '--cc', '5-1', 'true'], message: /invalid idset "5-1"/ },
  'submit --env without =': { args: () => ['submit', '--env', 'NOEQUALS', 'true'], message: /--env "NOEQUALS" must look like VAR=VALUE/ },
  'submit --error without --output': { args: () => ['submit', '--error', 'e.txt', 'true'], message: /--error needs --output/ },
  'submit --setattr without =': { args: () => ['submit', '--setattr', 'noeq', 'true'], message: /--setattr "noeq"/ },
  'submit --setattr duration=-5': { args: () => ['submit', '--setattr', 'duration=-5', 'true'], message: /attributes\.system\.duration/ },

  // ---- run
  'run -t soon': { args: () => ['run', '-t', 'soon', 'true'], message: /invalid duration "soon"/ },
  'run -n 1000 (can never fit)': { args: () => ['run', '-n', '1000', 'true'], message: /unsatisfiable/ },
  'run with an unknown flag': { args: () => ['run', '--bogus', 'true'], message: /unknown option '--bogus'/ },

  // ---- job submit / validate
  'job submit of invalid YAML': { args: () => ['job', 'submit', 'bad.yaml'], message: /bad\.yaml: not valid YAML\/JSON/ },
  'job submit of a jobspec with count 0': { args: () => ['job', 'submit', 'count0.yaml'], message: /resources\[0\]\.count: must be an integer >= 1/ },
  'job submit of a jobspec with count "abc"': { args: () => ['job', 'submit', 'countabc.yaml'], message: /resources\[0\]\.count/ },
  'job submit of a jobspec of version 2': { args: () => ['job', 'submit', 'v2.yaml'], message: /version: must be 1/ },
  'job submit of a file that is not a mapping': { args: () => ['job', 'submit', 'string.yaml'], message: /jobspec|mapping/ },
  'job submit of an empty file': { args: () => ['job', 'submit', 'empty.yaml'], message: /jobspec|mapping|empty/ },
  'job submit of a missing file': { args: () => ['job', 'submit', 'no-such-file.yaml'], message: /cannot read no-such-file\.yaml: ENOENT/ },
  'job validate of a bad file': { args: () => ['job', 'validate', 'good.yaml', 'bad.yaml'], message: /bad\.yaml: .*not valid YAML/ },

  // ---- job ids that do not exist or are not ids
  'cancel of a nonexistent id': { args: () => ['cancel', '99999'], message: /no job 99999/ },
  'cancel abc': { args: () => ['cancel', 'abc'], message: /"abc" is not a job id/ },
  'cancel without ids': { args: () => ['cancel'], message: /give job ids to cancel, or --all/ },
  'cancel --all with ids': { args: () => ['cancel', '--all', '5'], message: /not both/ },
  'cancel of a finished job': { args: () => ['cancel', String(finished)], message: /already inactive/ },
  'wait of a nonexistent id': { args: () => ['wait', '99999'], message: /no job 99999/ },
  'wait abc': { args: () => ['wait', 'abc'], message: /"abc" is not a job id/ },
  'wait without an id': { args: () => ['wait'], message: /give one job id, or --all/ },
  'wait --all with an id': { args: () => ['wait', '--all', '5'], message: /not both/ },
  'attach of a nonexistent id': { args: () => ['attach', '99999'], message: /no job 99999/ },
  'attach abc': { args: () => ['attach', 'abc'], message: /"abc" is not a job id/ },
  'job info of a nonexistent id': { args: () => ['job', 'info', '99999'], message: /no job 99999/ },
  'job info abc': { args: () => ['job', 'info', 'abc'], message: /"abc" is not a job id/ },
  'job info with an unknown key': { args: () => ['job', 'info', String(finished), 'nosuchkey'], message: /unknown key "nosuchkey"/ },
  'job eventlog of a nonexistent id': { args: () => ['job', 'eventlog', '99999'], message: /no job 99999/ },
  'job eventlog abc': { args: () => ['job', 'eventlog', 'abc'], message: /"abc" is not a job id/ },

  // ---- update
  'update of a nonexistent id': { args: () => ['update', '99999', 'urgency=3'], message: /no active job 99999/ },
  'update abc': { args: () => ['update', 'abc', 'urgency=3'], message: /"abc" is not a job id/ },
  'update with an unknown key': { args: () => ['update', String(held), 'foo=bar'], message: /cannot update "foo"/ },
  'update with a bad duration': { args: () => ['update', String(held), 'duration=forever'], message: /invalid duration "forever"/ },
  'update urgency=99': { args: () => ['update', String(held), 'urgency=99'], message: /urgency must be 0-31/ },
  'update without =': { args: () => ['update', String(held), 'noequals'], message: /must look like KEY=VALUE/ },
  'update without updates': { args: () => ['update', String(held)], message: /missing required argument/ },
  'update of a finished job': { args: () => ['update', String(finished), 'duration=1m'], message: /no active job/ },

  // ---- jobs
  "jobs -o '{nosuchfield}'": { args: () => ['jobs', '-o', '{nosuchfield}'], message: /unknown field \{nosuchfield\}/ },
  'jobs -f with an unknown state': { args: () => ['jobs', '-f', 'bogus'], message: /unknown job state "bogus"/ },
  'jobs -c abc': { args: () => ['jobs', '-c', 'abc'], message: /--count must be an integer/ },
  'jobs abc': { args: () => ['jobs', 'abc'], message: /"abc" is not a job id/ },
  'jobs -u with a bad user': { args: () => ['jobs', '-u', 'nobody-xyz'], message: /--user/ },

  // ---- resource, queue
  'resource drain 99': { args: () => ['resource', 'drain', '99'], message: /no rank 99/ },
  'resource drain without targets': { args: () => ['resource', 'drain'], message: /give ranks/ },
  'resource drain of an unknown host': { args: () => ['resource', 'drain', 'nosuchhost'], message: /no node named "nosuchhost"/ },
  'resource undrain 99': { args: () => ['resource', 'undrain', '99'], message: /no rank 99/ },
  'resource with an unknown subcommand': { args: () => ['resource', 'frobnicate'], message: /unknown resource subcommand "frobnicate"/ },
  'queue with an unknown subcommand': { args: () => ['queue', 'frobnicate'], message: /unknown queue subcommand "frobnicate"/ },
  'queue without a subcommand': { args: () => ['queue'], message: /missing required argument/ },

  // ---- global
  'an unknown command': { args: () => ['frobnicate'], message: /unknown command 'frobnicate'/ },
  'a malformed --uri': { args: () => ['--uri', 'bogus://x', 'jobs'], message: /bad URI "bogus:\/\/x"/ },
  'a --uri with nobody listening': { args: () => ['--uri', `local://${inst.root}/nobody.sock`, 'jobs'], message: /cannot connect/ },
  'start --test-size 0': { args: () => ['start', '--test-size', '0'], message: /--test-size must be an integer >= 1/ },
  'start --cores-per-rank 0': { args: () => ['start', '--cores-per-rank', '0', '--', 'true'], message: /--cores-per-rank must be an integer >= 1/ },
  'start --state-dir too long for a socket': { args: () => ['start', '--daemon', '--state-dir', join(inst.root, 'x'.repeat(120))], message: /too long/ },
};

/**
 * A minimal msgpack encoder (maps, arrays, strings, integers, booleans, nil),
 * independent of the library the project uses, to build frames by hand.
 */
function msgpack(v: unknown): Buffer {
  if (v === null || v === undefined) return Buffer.from([0xc0]);
  if (v === true) return Buffer.from([0xc3]);
  if (v === false) return Buffer.from([0xc2]);
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`msgpack: unsupported number ${v}`);
    if (v < 128) return Buffer.from([v]);
    const b = Buffer.alloc(5);
    b[0] = 0xce;
    b.writeUInt32BE(v, 1);
    return b;
  }
  if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    if (s.length > 255) throw new Error('msgpack: string too long');
    return Buffer.concat([Buffer.from(s.length < 32 ? [0xa0 | s.length] : [0xd9, s.length]), s]);
  }
  if (Array.isArray(v)) {
    if (v.length > 15) throw new Error('msgpack: array too long');
    return Buffer.concat([Buffer.from([0x90 | v.length]), ...v.map(msgpack)]);
  }
  if (typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length > 15) throw new Error('msgpack: map too large');
    return Buffer.concat([Buffer.from([0x80 | entries.length]), ...entries.flatMap(([k, x]) => [msgpack(k), msgpack(x)])]);
  }
  throw new Error(`msgpack: unsupported ${typeof v}`);
}

const jobspecFile = (count: string, version = '1') => `version: ${version}
resources:
  - type: slot
    count: ${count}
    label: task
    with:
      - type: core
        count: 1
tasks:
  - command: ["true"]
    slot: task
    count: {per_slot: 1}
attributes: {system: {duration: 0}}
`;

async function healthy(): Promise<void> {
  assert.ok(isAlive(brokerPid), 'the rank-0 broker is still running');
  const f = await connect(inst.uri);
  try {
    const info = await f.rpc<{ pid: number }>('broker.info', {}, 0);
    assert.equal(info.pid, brokerPid, 'the broker was not restarted');
    await f.list({ states: ['all'] });
  } finally {
    f.close();
  }
}

void describe('bad input', () => {
  before(async () => {
    inst = await Instance.start({ size: 2, coresPerRank: 1 });
    brokerPid = await inst.brokerPid();
    finished = await inst.submit(['true']);
    await inst.ok(['wait', String(finished)]);
    held = await inst.submit(['--urgency', '0', 'true']);
    writeFileSync(join(inst.work, 'bad.yaml'), 'version: [\n');
    writeFileSync(join(inst.work, 'count0.yaml'), jobspecFile('0'));
    writeFileSync(join(inst.work, 'countabc.yaml'), jobspecFile('abc'));
    writeFileSync(join(inst.work, 'v2.yaml'), jobspecFile('1', '2'));
    writeFileSync(join(inst.work, 'good.yaml'), jobspecFile('1'));
    writeFileSync(join(inst.work, 'string.yaml'), 'hello\n');
    writeFileSync(join(inst.work, 'empty.yaml'), '');
  });
  after(async () => {
    await inst.destroy();
  });

  void describe('CLI commands', { concurrency: 6 }, () => {
    for (const [name, c] of Object.entries(cases)) {
      void test(`${name}: fails with a clear message`, c.bug ? { todo: c.bug } : {}, async () => {
        const r = await inst.fractal(c.args(), { timeoutMs: HANG_MS });
        const problem = failedCleanly(r, c.message);
        assert.equal(problem, undefined, problem);
      });
    }
  });

  void test('the instance still works after all the CLI cases', async () => {
    await healthy();
    const r = await inst.fractal(['run', 'echo', 'still-alive']);
    assert.equal(r.code, 0, describeResult(r));
    assert.equal(r.stdout, 'still-alive\n');
    // Nothing invalid was accepted: only the two jobs of the setup and this one exist.
    const jobs = await inst.jobs(['-a']);
    assert.equal(jobs.length, 3, JSON.stringify(jobs.map((j) => [j.id, j.name, j.state])));
  });

  void test('a valid jobspec file is accepted (the files above differ only in the bad field)', async () => {
    const r = await inst.fractal(['job', 'submit', 'good.yaml']);
    assert.equal(r.code, 0, describeResult(r));
    await inst.ok(['wait', r.stdout.trim()]);
  });

  void test('shutdown without any instance to talk to: a message, no hang', async () => {
    const env = cleanEnv();
    env['FRACTAL_HOME'] = join(inst.root, 'empty-home');
    const r = await run(process.execPath, [FRACTAL_BIN, 'shutdown'], { env, cwd: inst.work, timeoutMs: HANG_MS });
    const problem = failedCleanly(r, /no Fractal instance to talk to/);
    assert.equal(problem, undefined, problem);
  });

  void test('a job whose --cwd does not exist fails with a message naming the directory', async () => {
    const id = await inst.submit(['--cwd', '/nonexistent/dir', 'true']);
    const r = await inst.fractal(['attach', String(id)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\/nonexistent\/dir/);
  });

  void describe('raw protocol abuse on the local socket', () => {
    const packr = { pack: msgpack };
    const frame = (body: Buffer): Buffer => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(body.length);
      return Buffer.concat([len, body]);
    };

    /** Connects, writes `data`, and reports whether the broker closed the connection and what it sent. */
    function poke(data: Buffer[], waitMs = 3000): Promise<{ closed: boolean; received: Buffer }> {
      return new Promise((resolve, reject) => {
        const sock = net.createConnection(inst.socketPath);
        const chunks: Buffer[] = [];
        let closed = false;
        const timer = setTimeout(() => {
          sock.destroy();
          resolve({ closed, received: Buffer.concat(chunks) });
        }, waitMs);
        let connected = false;
        sock.on('data', (d: Buffer) => chunks.push(d));
        sock.on('error', (e) => {
          // Before connecting: the broker is not listening. After: a reset, which counts as closed.
          if (!connected) {
            clearTimeout(timer);
            reject(e);
          }
        });
        sock.on('close', () => {
          closed = true;
          clearTimeout(timer);
          resolve({ closed, received: Buffer.concat(chunks) });
        });
        sock.on('connect', () => {
          connected = true;
          for (const d of data) sock.write(d);
        });
      });
    }

    /** Decodes the frames a poke received (with the protocol's own decoder). */
    function decode(buf: Buffer): Array<Record<string, unknown>> {
      return new FrameDecoder().push(buf) as unknown as Array<Record<string, unknown>>;
    }

    void test('garbage bytes: the broker drops the connection and keeps serving', async () => {
      const r = await poke([Buffer.from('GET / HTTP/1.1\r\nHost: fractal\r\n\r\n')]);
      assert.ok(r.closed, 'the broker closed the connection');
      await healthy();
      const r2 = await poke([Buffer.from([0, 0, 0, 4, 0xc1, 0xc1, 0xc1, 0xc1])]);
      assert.ok(r2.closed, 'an undecodable frame closes the connection');
      await healthy();
      const r3 = await poke([Buffer.from([0, 0, 0, 0])]);
      assert.ok(r3.closed, 'an empty frame closes the connection');
      await healthy();
    });

    void test('a huge length prefix: dropped, not buffered', async () => {
      const r = await poke([Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])]);
      assert.ok(r.closed, 'a 4 GiB frame is refused at once');
      await healthy();
      // Just under the limit: the broker waits for the body; the client goes away.
      const r2 = await poke([Buffer.from([0x0f, 0xff, 0xff, 0xff, 1, 2, 3])], 500);
      assert.ok(!r2.closed || r2.received.length === 0);
      await healthy();
    });

    void test('a valid msgpack frame that is not a message: dropped', async () => {
      const r = await poke([frame(packr.pack({ hello: 'world' }))]);
      assert.ok(r.closed);
      const r2 = await poke([frame(packr.pack([1, 2, 3]))]);
      assert.ok(r2.closed);
      const r3 = await poke([frame(packr.pack({ t: 0, id: 'x', topic: 5 }))]);
      assert.ok(r3.closed);
      await healthy();
    });

    void test('valid frames with an unknown topic, an unknown method, a bad rank: error responses, connection kept', async () => {
      const r = await poke([
        frame(packr.pack({ t: 0, id: 1, topic: 'nosuch.method', payload: {} })),
        frame(packr.pack({ t: 0, id: 2, topic: 'job-manager.frobnicate', payload: {} })),
        frame(packr.pack({ t: 0, id: 3, topic: 'broker.ping', payload: {}, nodeid: 99 })),
        frame(packr.pack({ t: 1, id: 12345, payload: {} })), // a response nobody asked for: ignored
        frame(packr.pack({ t: 0, id: 4, topic: 'broker.ping', payload: { x: 1 } })),
      ], 1500);
      assert.ok(!r.closed, 'the connection stays open after well-formed requests');
      const msgs = decode(r.received);
      const byId = new Map(msgs.map((m) => [m['id'], m]));
      const err = (id: number) => (byId.get(id)?.['error'] as { code?: string; message?: string } | undefined);
      assert.equal(err(1)?.code, 'ENOSYS', JSON.stringify(msgs));
      assert.match(err(1)?.message ?? '', /no service "nosuch"/);
      assert.equal(err(2)?.code, 'ENOSYS');
      assert.match(err(2)?.message ?? '', /has no method "frobnicate"/);
      assert.match(err(3)?.message ?? '', /no broker rank 99/);
      assert.equal(byId.get(4)?.['error'], undefined, 'the ping after the errors is answered');
      assert.equal((byId.get(4)?.['payload'] as { rank?: number } | undefined)?.rank, 0);
      await healthy();
    });

    void test('a client that disconnects in the middle of streams and waits', async () => {
      const r = await poke([
        frame(packr.pack({ t: 0, id: 1, topic: 'job-manager.journal', payload: { backlog: true } })),
        frame(packr.pack({ t: 0, id: 2, topic: 'job-manager.wait', payload: { all: true } })),
        frame(packr.pack({ t: 0, id: 3, topic: 'job-manager.eventlog', payload: { id: held, follow: true } })),
        frame(packr.pack({ t: 0, id: 4, topic: 'exec.output-watch', payload: { id: held, follow: true } })),
      ], 300);
      assert.ok(!r.closed);
      await sleep(100);
      await healthy();
      // The journal backlog was streamed before the disconnect.
      assert.ok(decode(r.received).some((m) => m['id'] === 1 && m['more'] === true));
    });

    void test('many connections opened and dropped at once', async () => {
      await Promise.all(Array.from({ length: 50 }, (_, i) => poke(i % 2 ? [Buffer.from('junk')] : [], 200)));
      await healthy();
    });
  });

  void describe('malformed payloads through the API', () => {
    let f: Fractal;
    before(async () => {
      f = await inst.api();
    });

    const rejects = async (topic: string, payload: unknown, code: RegExp = /./) => {
      const p = f.rpc(topic, payload);
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), HANG_MS).unref());
      const res = await Promise.race([p.then(() => 'resolved' as const, (e: unknown) => e as { code?: string; message?: string }), timeout]);
      assert.notEqual(res, 'timeout', `${topic} ${JSON.stringify(payload)} never answered`);
      assert.notEqual(res, 'resolved', `${topic} ${JSON.stringify(payload)} was accepted`);
      const e = res as { code?: string; message?: string };
      assert.match(String(e.code), code, `${topic} ${JSON.stringify(payload)}: ${e.code} ${e.message}`);
      assert.ok(e.message && e.message.length > 5, 'the error has a message');
    };

    void test('job-ingest.submit with non-jobspecs: EINVAL naming the field', async () => {
      await rejects('job-ingest.submit', null, /EINVAL/);
      await rejects('job-ingest.submit', { jobspec: 42 }, /EINVAL/);
      await rejects('job-ingest.submit', { jobspec: { version: 1 } }, /EINVAL/);
      await rejects('job-ingest.submit', { jobspec: jobspecFromCommand(['true']), urgency: 99 }, /EINVAL/);
      await rejects('job-ingest.submit', { jobspec: jobspecFromCommand(['true']), urgency: 'x' }, /EINVAL/);
      await rejects('job-ingest.submit', { jobspec: jobspecFromCommand(['true']), flags: -1 }, /EINVAL/);
      await healthy();
    });

    void test('job-manager queries with bad ids and payloads: errors, not crashes', async () => {
      await rejects('job-manager.info', null);
      await rejects('job-manager.info', { id: 'x' }, /EINVAL/);
      await rejects('job-manager.info', { id: 1.5 }, /EINVAL/);
      await rejects('job-manager.info', { id: -1 }, /ENOENT|EINVAL/);
      await rejects('job-manager.wait', { id: 'x' }, /EINVAL/);
      await rejects('job-manager.cancel', { ids: ['a'] }, /EINVAL/);
      await rejects('job-manager.cancel', { ids: [] }, /EINVAL/);
      await rejects('job-manager.urgency', { id: held, urgency: 32 }, /EINVAL/);
      await rejects('job-manager.urgency', { id: held, urgency: 'x' }, /EINVAL/);
      await rejects('job-manager.update', { id: held, updates: { duration: -1 } }, /EINVAL/);
      await rejects('job-manager.update', { id: held, updates: { duration: 'x' } }, /EINVAL/);
      await rejects('job-manager.update', { id: held, updates: { name: '' } }, /EINVAL/);
      await rejects('job-manager.raise', { id: held, type: '!!', severity: 0 }, /EINVAL/);
      await rejects('resource.drain', { targets: 5 }, /EINVAL/);
      await rejects('broker.sub', { topic: 5 }, /EINVAL/);
      await healthy();
    });

    void test('job-manager.list with a malformed states field: EINVAL', async () => {
      await rejects('job-manager.list', { states: 5 }, /EINVAL/);
      await rejects('job-manager.list', { states: [5] }, /EINVAL/);
      await healthy();
    });

    void test('fuzz: random JSON as a jobspec is always rejected, the broker survives', async () => {
      await fc.assert(fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (v) => {
        let accepted: unknown;
        try {
          accepted = await f.submit(v, { urgency: 0 });
        } catch (e) {
          assert.match(String((e as { code?: string }).code), /EINVAL|EUNSAT/, (e as Error).message);
          return;
        }
        assert.fail(`random data was accepted as a jobspec (job ${String(accepted)}): ${JSON.stringify(v)}`);
      }), { numRuns: 150, seed: 42 });
      await healthy();
    });

    void test('fuzz: a valid jobspec with one field replaced is accepted or rejected with EINVAL/EUNSAT, never crashes', async () => {
      const paths = [
        ['version'], ['resources'], ['resources', 0, 'type'], ['resources', 0, 'count'], ['resources', 0, 'with'],
        ['resources', 0, 'with', 0, 'count'], ['resources', 0, 'with', 0, 'type'], ['resources', 0, 'label'],
        ['tasks'], ['tasks', 0, 'command'], ['tasks', 0, 'command', 0], ['tasks', 0, 'slot'], ['tasks', 0, 'count'],
        ['tasks', 0, 'count', 'per_slot'], ['attributes'], ['attributes', 'system'], ['attributes', 'system', 'duration'],
        ['attributes', 'system', 'environment'], ['attributes', 'system', 'cwd'], ['attributes', 'system', 'dependencies'],
        ['attributes', 'system', 'shell'], ['attributes', 'system', 'job'],
      ] as const;
      const ids: number[] = [];
      await fc.assert(fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 2 }), async (path, value) => {
        const spec = jobspecFromCommand(['true'], {}, { environment: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, cwd: inst.work }) as unknown as Record<string | number, unknown>;
        let cur: Record<string | number, unknown> = spec;
        for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
        cur[path[path.length - 1]!] = value;
        try {
          ids.push(await f.submit(spec, { urgency: 0 }));
        } catch (e) {
          assert.match(String((e as { code?: string }).code), /EINVAL|EUNSAT|ENOENT/, `${path.join('.')}=${JSON.stringify(value)}: ${(e as Error).message}`);
          assert.ok(!/Cannot read|is not a function|undefined/.test((e as Error).message), `unclear message for ${path.join('.')}=${JSON.stringify(value)}: ${(e as Error).message}`);
        }
      }), { numRuns: 150, seed: 7 });
      if (ids.length) await f.cancel(ids);
      await healthy();
    });
  });

  void describe('internal service topics called by a client with malformed payloads', () => {
    let f: Fractal;
    before(async () => {
      f = await inst.api();
    });

    /** Calls the topic; it must answer (not hang) with an error of the code given. */
    async function refused(topic: string, payload: unknown, code: string): Promise<void> {
      const p = f.rpc(topic, payload).then((v) => ({ ok: v }), (e: unknown) => ({ error: e as { code?: string; message?: string } }));
      const res = await Promise.race([p, hang()]);
      assert.notEqual(res, 'timeout', `${topic} ${JSON.stringify(payload)} never answered`);
      if (res === 'timeout') return;
      assert.ok('error' in res, `${topic} ${JSON.stringify(payload)} answered with success: ${JSON.stringify('ok' in res ? res.ok : undefined)}`);
      assert.equal(res.error.code, code, `${topic} ${JSON.stringify(payload)}: ${res.error.code} ${res.error.message}`);
      assert.doesNotMatch(res.error.message ?? '', /Cannot read|is not a function|is not iterable/);
    }

    void test('sched, exec, shell and resource topics: an error each, the broker survives', async () => {
      // Internal topics are refused to a client before their payload is looked at (EPERM);
      // exec.output-watch is public and refuses a malformed id (EINVAL).
      const calls: Array<[string, unknown, string]> = [
        ['sched.free', { id: 777777, R: { junk: 1 } }, 'EPERM'],
        ['sched.cancel', { id: 'x' }, 'EPERM'],
        ['sched.prioritize', { jobs: 'x' }, 'EPERM'],
        ['sched.hello', { jobs: 5 }, 'EPERM'],
        ['exec.start', { id: 777777, R: {} }, 'EPERM'],
        ['exec.kill', { id: 'x' }, 'EPERM'],
        ['exec.finished', { id: 'x' }, 'EPERM'],
        ['exec.output-watch', { id: 'x' }, 'EINVAL'],
        ['shell.kill', { id: 'x', signal: 'SIGNOPE' }, 'EPERM'],
        ['shell.ack', { ids: 'x' }, 'EPERM'],
      ];
      for (const [topic, payload, code] of calls) {
        await refused(topic, payload, code);
        await healthy();
      }
    });

    void test('sched.feasibility and shell.start with null inside: refused (EPERM), not a JavaScript error', async () => {
      // All internal: a client is refused before the payload is read.
      for (const [topic, payload] of [['sched.feasibility', { request: null }], ['shell.start', { job: null }], ['sched.alloc', { id: 1 }], ['exec.start', { id: 1 }]] as const) {
        await refused(topic, payload, 'EPERM');
      }
      await healthy();
    });

    void test('a bogus sched.alloc from a client does not block the queue', async () => {
      const p = f.rpc('sched.alloc', { id: 888888, priority: 4294967295, userid: 0, t_submit: 0, request: { nnodes: 0, ntasks: 2, nslots: 2, slotsPerNode: 0, coresPerSlot: 1, gpusPerSlot: 0, duration: 0, exclusive: false } });
      const res = await Promise.race([p.then(() => 'resolved', () => 'rejected'), hang().then(() => 'pending')]);
      // Whatever it answered, a real job must still run.
      const r = await inst.fractal(['run', 'true'], { timeoutMs: 15000 });
      assert.equal(r.code, 0, `a real job could not run after a bogus sched.alloc (${res}): ${describeResult(r)}`);
      assert.equal(res, 'rejected', 'a client sched.alloc for a nonexistent job should be refused');
    });

    // Last: this one used to kill the rank-0 broker.
    void test('job-manager.submit called directly with a malformed payload does not crash the broker', async () => {
      await refused('job-manager.submit', { jobspec: {}, request: {}, name: 'x' }, 'EPERM');
      await healthy();
    });
  });
});
