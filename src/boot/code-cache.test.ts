import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const LOADER = fileURLToPath(new URL('./code-cache.cjs', import.meta.url));

void test('code cache: the first run writes it, later runs use it, a stale one is replaced', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fractal-cc-'));
  try {
    const bundle = join(dir, 'b.code.cjs');
    writeFileSync(bundle, "exports.answer = 42; exports.name = require('node:path').basename(__filename);\n");
    const run = () => spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(LOADER)}).loadCached(${JSON.stringify(bundle)}); process.stdout.write(m.answer + ' ' + m.name)`], { encoding: 'utf8' });
    let r = run();
    assert.equal(r.stdout, '42 b.code.cjs', r.stderr);
    const cache = `${bundle}.cache`;
    assert.ok(existsSync(cache), 'the first run wrote the cache');
    const first = statSync(cache).mtimeMs;
    r = run();
    assert.equal(r.stdout, '42 b.code.cjs', r.stderr);
    assert.equal(statSync(cache).mtimeMs, first, 'an accepted cache is not rewritten');
    // Another source: V8 rejects the old cache; the run still works and writes a new one.
    writeFileSync(bundle, "exports.answer = 43; exports.name = 'x';\n");
    writeFileSync(cache, 'garbage');
    r = run();
    assert.equal(r.stdout, '43 x', r.stderr);
    assert.notEqual(statSync(cache).size, 'garbage'.length, 'the rejected cache was replaced');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
