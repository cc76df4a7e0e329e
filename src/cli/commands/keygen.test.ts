import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { loadOverlayTls } from '../../protocol/index.js';
import { keygen, KEYGEN_FILES } from './keygen.js';

void test('keygen writes a CA and a broker key pair signed by it, keys 0600, the directory 0700', async () => {
  const root = mkdtempSync(join(tmpdir(), 'fractal-keygen-'));
  try {
    const dir = join(root, 'tls');
    const written = await keygen(dir);
    assert.deepEqual(written, KEYGEN_FILES.map(([f]) => join(dir, f)));
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const [f, mode] of KEYGEN_FILES) assert.equal(statSync(join(dir, f)).mode & 0o777, mode, f);
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
    const broker = new X509Certificate(readFileSync(join(dir, 'broker.crt')));
    assert.ok(ca.ca, 'ca.crt is a CA');
    assert.ok(!broker.ca, 'broker.crt is not a CA');
    assert.match(broker.subject, /CN=fractal-broker/);
    assert.ok(broker.verify(ca.publicKey), 'broker.crt is signed by ca.crt');
    const years = (Date.parse(broker.validTo) - Date.now()) / (365 * 86400e3);
    assert.ok(years > 9 && years < 11, `valid ~10 years (${years.toFixed(1)})`);
    // No temporary files are left behind.
    assert.deepEqual(readdirSync(dir).sort(), KEYGEN_FILES.map(([f]) => f).sort());
    const tls = loadOverlayTls(dir);
    assert.ok(tls.ca.length > 0 && tls.cert.length > 0 && tls.key.length > 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

void test('keygen refuses to replace existing keys unless forced', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fractal-keygen-'));
  try {
    await keygen(dir);
    const before = readFileSync(join(dir, 'ca.key'));
    await assert.rejects(keygen(dir), (e: { code?: string; message?: string }) => {
      assert.equal(e.code, 'EBUSY');
      assert.match(e.message ?? '', /ca\.key.*already exist.*--force/);
      return true;
    });
    assert.deepEqual(readFileSync(join(dir, 'ca.key')), before, 'the old key is untouched');
    // One file is enough to refuse.
    for (const [f] of KEYGEN_FILES) if (f !== 'broker.key') unlinkSync(join(dir, f));
    await assert.rejects(keygen(dir), /broker\.key already exists/);
    await keygen(dir, { force: true });
    assert.notDeepEqual(readFileSync(join(dir, 'ca.key')), before, 'a new CA');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('loadOverlayTls names a missing or broken file and says how to make the keys', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fractal-keygen-'));
  try {
    assert.throws(() => loadOverlayTls(dir), new RegExp(`${join(dir, 'ca.crt')} is missing; .*fractal keygen ${dir}`));
    await keygen(dir);
    unlinkSync(join(dir, 'broker.key'));
    assert.throws(() => loadOverlayTls(dir), /broker\.key is missing/);
    writeFileSync(join(dir, 'broker.key'), 'not a key\n');
    assert.throws(() => loadOverlayTls(dir), /broker\.key is not a PEM file.*keygen --force/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('keygen says when openssl is missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fractal-keygen-'));
  try {
    const { execFileSync } = await import('node:child_process');
    // OPENSSL is read when the module loads: check the message in a child process.
    const mod = new URL('./keygen.js', import.meta.url).href;
    let err = '';
    try {
      execFileSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(mod)}).then((m) => m.keygen(${JSON.stringify(join(dir, 'k'))})).catch((e) => { process.stderr.write(e.message); process.exit(1); })`], {
        env: { ...process.env, FRACTAL_OPENSSL: join(dir, 'no-openssl') }, stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (e) {
      err = String((e as { stderr?: Buffer }).stderr);
    }
    assert.match(err, /no-openssl was not found: install OpenSSL/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
