import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FractalError } from '../errors/index.js';
import { prepareStateDir } from './util.js';

const root = mkdtempSync(join(tmpdir(), 'fst-'));
after(() => rmSync(root, { recursive: true, force: true }));
const mode = (p: string): number => statSync(p).mode & 0o7777;

void test('a directory it creates (and its missing parents) gets mode 0700', () => {
  const d = join(root, 'new', 'deeper', 'state');
  assert.equal(prepareStateDir(d), d);
  assert.equal(mode(d), 0o700 & ~process.umask());
  assert.equal(mode(join(root, 'new')), 0o700 & ~process.umask());
});

void test('an existing private directory is used and its mode left alone', () => {
  for (const m of [0o700, 0o755, 0o750]) {
    const d = join(root, `own-${m.toString(8)}`);
    mkdirSync(d);
    chmodSync(d, m);
    prepareStateDir(d);
    assert.equal(mode(d), m, `mode ${m.toString(8)} was changed`);
  }
});

void test('a directory others can write to is refused, and not chmod\'ed (as /tmp would have been)', () => {
  for (const m of [0o1777, 0o777, 0o770, 0o702]) {
    const d = join(root, `shared-${m.toString(8)}`);
    mkdirSync(d);
    chmodSync(d, m);
    assert.throws(() => prepareStateDir(d), (e: unknown) => e instanceof FractalError && e.code === 'EPERM'
      && e.message.includes(`--state-dir ${d} is writable by other users (mode ${m.toString(8)})`) && e.message.includes('created with mode 0700'));
    assert.equal(mode(d), m);
  }
});

void test('a directory of another user is refused', { skip: process.getuid?.() !== 0 && 'needs root to chown' }, () => {
  const d = join(root, 'theirs');
  mkdirSync(d, { mode: 0o755 });
  chownSync(d, 65534, 65534);
  assert.throws(() => prepareStateDir(d), (e: unknown) => e instanceof FractalError && e.code === 'EPERM' && /belongs to uid 65534, not to you/.test(e.message));
  assert.equal(mode(d), 0o755);
});

void test('a file is not a state directory', () => {
  const f = join(root, 'file');
  writeFileSync(f, '');
  assert.throws(() => prepareStateDir(f), (e: unknown) => e instanceof FractalError && e.code === 'EINVAL' && /cannot create it|is not a directory/.test(e.message));
});
