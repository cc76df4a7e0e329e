/**
 * Instances across hosts: hosts are Linux network namespaces with their own
 * addresses and hostnames (src/testing/netns.ts); each runs `fractal start --config
 * FILE` with the same TOML [bootstrap] file, and the brokers form one
 * instance over real TCP between 10.200.0.x addresses.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { FRACTAL_BIN, cleanEnv } from './helpers.js';
import { connect } from '../src/api/index.js';
import { makeHosts, netnsAvailable, type Hosts } from '../src/testing/index.js';

const canNetns = netnsAvailable();

void describe('instances across hosts (network namespaces)', { skip: canNetns ? false : 'needs root and iproute2 to make network namespaces' }, () => {
  let net: Hosts;
  let dir: string;
  const brokers: ChildProcess[] = [];
  const env = { ...cleanEnv(), FRACTAL_HOME: '' };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'frmh-'));
    env.FRACTAL_HOME = join(dir, 'home');
    net = makeHosts(3);
    const tls = join(dir, 'tls');
    // The instance's TLS keys, as an admin makes them and copies them to every host.
    execFileSync(process.execPath, [FRACTAL_BIN, 'keygen', tls], { env, stdio: 'ignore' });
    writeFileSync(join(dir, 'fractal.toml'), [
      '[bootstrap]',
      'default_port = 8050',
      'default_bind = "tcp://eth0:%p"',
      'default_connect = "tcp://%h:%p"',
      'tls_dir = "tls"',
      'fanout = 1',
      'hosts = [ { host = "node[0-2]" } ]',
      '',
    ].join('\n'));
  });

  after(() => {
    for (const b of brokers) b.kill('SIGKILL');
    net?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  void it('three hosts form one instance from one TOML file; a job runs on every host; shutdown stops them all', async () => {
    const conf = join(dir, 'fractal.toml');
    // Ranks 1 and 2 first, in the foreground of their hosts: they wait for their parent.
    const exits = [1, 2].map((i) => {
      const b = net.hosts[i]!.spawn([process.execPath, FRACTAL_BIN, 'start', '--config', conf, '--state-dir', join(dir, `s${i}`)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      brokers.push(b);
      let err = '';
      b.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      return new Promise<{ code: number | null; err: string }>((r) => b.on('close', (code) => r({ code, err })));
    });
    const r0 = await net.hosts[0]!.run([process.execPath, FRACTAL_BIN, 'start', '--config', conf, '--state-dir', join(dir, 's0'), '--',
      'sh', '-c', 'fractal run -N3 hostname | sort; fractal resource list; fractal run -N3 -n3 --label-io hostname | sort; fractal run -N3 -n3 sh -c "exit \\$((FRACTAL_TASK_RANK + 3))"; echo "highest exit $?"'], { env, timeoutMs: 180000 });
    assert.equal(r0.code, 0, `rank 0 failed: ${r0.stderr}`);
    assert.match(r0.stdout, /^0: node0\n1: node1\n2: node2$/m, 'each task\'s output labelled with its rank, from its host');
    assert.match(r0.stdout, /^highest exit 5$/m, 'the exit codes of tasks on three hosts aggregate to the highest');
    assert.deepEqual(r0.stdout.split('\n').filter((l) => /^node\d$/.test(l)), ['node0', 'node1', 'node2'], r0.stdout);
    assert.match(r0.stdout, /node\[0-2\]/, 'resource list names the three hosts');
    // The instance's shutdown reaches every host's broker.
    const ends = await Promise.all(exits);
    for (const e of ends) assert.equal(e.code, 0, e.err);
  });

  void it('a host cut off the network is marked down after overlay.timeout, its jobs end with node-failure, the others run on; it re-joins when the link is back', async () => {
    const conf = join(dir, 'loss.toml');
    writeFileSync(conf, '[bootstrap]\ndefault_port = 8051\ndefault_bind = "tcp://eth0:%p"\ndefault_connect = "tcp://%h:%p"\ntls_dir = "tls"\nfanout = 2\nhosts = [ { host = "node[0-2]" } ]\n');
    const opts = ['-o', 'overlay.timeout=3s', '-o', 'exec.rank-grace=1s'];
    for (const i of [1, 2]) {
      const b = net.hosts[i]!.spawn([process.execPath, FRACTAL_BIN, 'start', '--config', conf, '--state-dir', join(dir, `l${i}`), ...opts], { env, stdio: 'ignore' });
      brokers.push(b);
    }
    const r0 = await net.hosts[0]!.run([process.execPath, FRACTAL_BIN, 'start', '--config', conf, '--state-dir', join(dir, 'l0'), '--daemon', ...opts], { env, timeoutMs: 180000 });
    assert.equal(r0.code, 0, r0.stderr);
    const uri = r0.stdout.trim().split('\n').pop()!;
    const f = await connect(uri);
    const status = async () => (await f.rpc<{ ranks: { rank: number; up: boolean }[] }>('resource.status', {})).ranks;
    const until = async (what: string, pred: () => Promise<boolean>, ms = 60000) => {
      const end = Date.now() + ms;
      while (!(await pred())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      const js = (host: string) => ({ version: 1, resources: [{ type: 'node', count: 1, with: [{ type: 'slot', count: 1, label: 'task', with: [{ type: 'core', count: 1 }] }] }],
        tasks: [{ command: ['sleep', '300'], slot: 'task', count: { per_slot: 1 } }],
        attributes: { system: { duration: 0, cwd: '/', environment: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, constraints: { hostlist: [host] } } } });
      const onLost = await f.submit(js('node2'));
      const onKept = await f.submit(js('node1'));
      // Started: their tasks run on their hosts (the start event, not only the RUN state of the allocation).
      const started = async (id: number) => { const evs: string[] = []; await f.watch(id, (ev) => evs.push(ev.name), false); return evs.includes('start'); };
      await until('both jobs started', async () => (await started(onLost)) && (await started(onKept)));
      const t0 = Date.now();
      net.linkDown(net.hosts[2]!);
      const w = await f.wait(onLost);
      const lostAfter = (Date.now() - t0) / 1000;
      assert.equal(w.success, false);
      assert.match(`${w.errstr} ${JSON.stringify((await f.info(onLost)).job.exception ?? null)}`, /node-failure/, JSON.stringify(w) + readFileSync(join(dir, "l0", "broker-0.log"), "utf8"));
      // overlay.timeout 3s + exec.rank-grace 1s, with room for a loaded machine.
      assert.ok(lostAfter < 30, `the job on the cut-off host ended after ${lostAfter}s`);
      assert.equal((await status()).find((r) => r.rank === 2)?.up, false, 'rank 2 is down');
      assert.equal((await f.list({ ids: [onKept] }))[0]?.state, 'RUN', 'the job on another host runs on');
      net.linkUp(net.hosts[2]!);
      await until('rank 2 up again', async () => (await status()).find((r) => r.rank === 2)?.up === true, 120000);
      await f.cancel([onKept]);
      await f.wait(onKept);
    } finally {
      await f.shutdown().catch(() => {});
      f.close();
    }
  });

  void it('a host that is not in the file, or a file without tls_dir, gets a clear error', async () => {
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[bootstrap]\ndefault_port = 8050\ndefault_bind = "tcp://eth0:%p"\ndefault_connect = "tcp://%h:%p"\nhosts = [ { host = "node[0-2]" } ]\n');
    const r = await net.hosts[0]!.run([process.execPath, FRACTAL_BIN, 'start', '--config', bad, 'true'], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /tls_dir/);
    const other = join(dir, 'other.toml');
    writeFileSync(other, '[bootstrap]\ndefault_port = 8050\ndefault_bind = "tcp://eth0:%p"\ndefault_connect = "tcp://%h:%p"\ntls_dir = "tls"\nhosts = [ { host = "login[1-2]" } ]\n');
    const r2 = await net.hosts[1]!.run([process.execPath, FRACTAL_BIN, 'start', '--config', other, 'true'], { env });
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /this host's name "node1" is not in \[bootstrap\] hosts \(login\[1-2\]\)/);
  });
});
