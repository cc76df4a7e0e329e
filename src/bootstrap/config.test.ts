import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBootstrap, parseBootstrap, rankOf, parentRank, listenUri } from './index.js';

const base = { default_port: 8050, default_bind: 'tcp://0.0.0.0:%p', default_connect: 'tcp://%h:%p' };

void test('a Flux-style [bootstrap] table: hostlists expand in order, templates fill %h and %p, per-host overrides win', () => {
  const b = parseBootstrap({ bootstrap: { ...base, tls_dir: 'keys', fanout: 3, hosts: [{ host: 'node[0-2]' }, { host: 'login', bind: 'tcp://10.0.0.9:9001', connect: 'tcp://10.0.0.9:9001' }] } }, '/etc/fractal/system.toml');
  assert.deepEqual(b.hosts.map((h) => h.host), ['node0', 'node1', 'node2', 'login']);
  assert.equal(b.hosts[1]!.bind, 'tcp://0.0.0.0:8050');
  assert.equal(b.hosts[1]!.connect, 'tcp://node1:8050');
  assert.equal(b.hosts[3]!.connect, 'tcp://10.0.0.9:9001');
  assert.equal(b.fanout, 3);
  assert.equal(b.tlsDir, '/etc/fractal/keys', 'a relative tls_dir is taken from the file\'s directory');
  assert.equal(rankOf(b, 'node2'), 2);
  assert.equal(rankOf(b, 'login.cluster.example'), 3, 'a fully qualified name matches its short name');
  assert.equal(parentRank(3, 3), 0);
  assert.equal(parentRank(4, 3), 1);
});

void test('mistakes name the file and the key and say what to write', () => {
  const bad = (t: Record<string, unknown>, re: RegExp) => assert.throws(() => parseBootstrap({ bootstrap: t }, 'f.toml'), (e: Error) => re.test(e.message), JSON.stringify(t));
  assert.throws(() => parseBootstrap({}, 'f.toml'), /f\.toml: no \[bootstrap\] table/);
  bad({ ...base, hosts: [] }, /hosts: must be a non-empty array/);
  bad({ ...base, hosts: [{ host: 'a' }], colour: 1 }, /\[bootstrap\] colour: unknown key/);
  bad({ ...base, hosts: [{ host: 'a' }], curve_cert: '/x' }, /not CURVE.*fractal keygen/);
  bad({ ...base, hosts: [{ host: 'n[0-1]' }, { host: 'n1' }] }, /host "n1" is listed twice/);
  bad({ default_bind: 'tcp://0.0.0.0:%p', default_connect: 'tcp://%h:%p', hosts: [{ host: 'a' }] }, /uses %p but no port is set; set default_port/);
  bad({ ...base, default_connect: 'http://%h', hosts: [{ host: 'a' }] }, /gives "http:\/\/a" for a: expected tcp:\/\/HOST:PORT/);
  bad({ ...base, hosts: [{ host: 'n[0-1]', bind: 'tcp://10.0.0.1:1' }] }, /without %h would give all 2 hosts the same address/);
  bad({ ...base, default_port: 70000, hosts: [{ host: 'a' }] }, /default_port: must be a port number/);
  bad({ ...base, fanout: 0, hosts: [{ host: 'a' }] }, /fanout: must be an integer 1-1024/);
  bad({ ...base, hosts: [{ host: 'n[3-1]' }] }, /hosts\[0\]\.host: /);
  const b = parseBootstrap({ bootstrap: { ...base, hosts: [{ host: 'n[0-1]' }] } }, 'f.toml');
  assert.throws(() => rankOf(b, 'other'), /this host's name "other" is not in \[bootstrap\] hosts \(n\[0-1\]\); add it, or give this host's name with -o hostname=NAME/);
});

void test('loadBootstrap reports unreadable files and TOML syntax errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'frboot-'));
  try {
    assert.throws(() => loadBootstrap(join(dir, 'none.toml')), /none\.toml: cannot read it \(ENOENT\)/);
    writeFileSync(join(dir, 'x.toml'), '[bootstrap\nhosts = 1\n');
    assert.throws(() => loadBootstrap(join(dir, 'x.toml')), /x\.toml: not valid TOML/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('listenUri: * and 0.0.0.0 listen everywhere, an interface name becomes its IPv4 address', () => {
  assert.equal(listenUri('tcp://*:8050'), 'tcp://0.0.0.0:8050');
  assert.equal(listenUri('tcp://lo:8050'), 'tcp://127.0.0.1:8050');
  assert.equal(listenUri('tcp://10.1.2.3:8050'), 'tcp://10.1.2.3:8050');
});
