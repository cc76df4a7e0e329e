/**
 * Instances across hosts: hosts are Linux network namespaces with their own
 * addresses and hostnames (test/netns.ts); each runs `fractal start --config
 * FILE` with the same TOML [bootstrap] file, and the brokers form one
 * instance over real TCP between 10.200.0.x addresses.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { FRACTAL_BIN, cleanEnv } from './helpers.js';
import { makeHosts, netnsAvailable, type Hosts } from './netns.js';

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
    mkdirSync(tls, { mode: 0o700 });
    writeFileSync(join(tls, 'broker.key'), randomBytes(32).toString('hex'), { mode: 0o600 });
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
      'sh', '-c', 'fractal run -N3 hostname | sort; fractal resource list'], { env, timeoutMs: 180000 });
    assert.equal(r0.code, 0, `rank 0 failed: ${r0.stderr}`);
    assert.deepEqual(r0.stdout.split('\n').filter((l) => /^node\d$/.test(l)), ['node0', 'node1', 'node2'], r0.stdout);
    assert.match(r0.stdout, /node\[0-2\]/, 'resource list names the three hosts');
    // The instance's shutdown reaches every host's broker.
    const ends = await Promise.all(exits);
    for (const e of ends) assert.equal(e.code, 0, e.err);
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
