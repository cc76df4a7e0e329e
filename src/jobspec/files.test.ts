import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FractalError } from '../errors/index.js';
import { parseJobspecText, validateFiles } from './index.js';
import { vectors } from './test-vectors.js';

void test('YAML and JSON parse to the same data', () => {
  const yaml = parseJobspecText('version: 1\nattributes:\n  system:\n    duration: 3600.\n', 'a.yaml');
  const json = parseJobspecText('{"version": 1, "attributes": {"system": {"duration": 3600}}}', 'a.json');
  assert.deepEqual(yaml, json);
});

void test('a syntax error names the source and the line', () => {
  assert.throws(() => parseJobspecText('version: 1\nfoo: bar: baz\n', 'job.yaml'), (e: unknown) => {
    assert.ok(e instanceof FractalError);
    assert.equal(e.code, 'EINVAL');
    assert.equal(e.message, 'job.yaml: not valid YAML/JSON: Nested mappings are not allowed in compact mappings at line 2');
    return true;
  });
  assert.throws(() => parseJobspecText('{"a": 1,\n "a": 2}', 'dup.json'), /^FractalError: dup\.json: not valid YAML\/JSON: Map keys must be unique at line 2$/);
});

void test('validateFiles: ok, invalid, unparsable and missing files, in order, without throwing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'jobspec-files-'));
  try {
    const valid = vectors('valid_v1')[0];
    assert.ok(valid);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nresources: []\n');
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'a: [1,\n');
    const missing = join(dir, 'missing.yaml');
    const r = await validateFiles([valid.path, bad, broken, missing]);
    assert.deepEqual(r.map((x) => [x.path, x.ok]), [[valid.path, true], [bad, false], [broken, false], [missing, false]]);
    assert.equal(r[0]?.error, undefined);
    assert.match(r[1]?.error ?? '', /^resources: must list at least one/);
    assert.match(r[2]?.error ?? '', /broken\.yaml: not valid YAML\/JSON: .* at line \d+$/);
    assert.equal(r[3]?.error, `${missing}: cannot read: no such file`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('validateFiles checks every vector as its folder expects', async () => {
  const count = async (folder: string, version: 'any' | 'canonical' | 'v1') =>
    (await validateFiles(vectors(folder).map((v) => v.path), { version })).filter((x) => x.ok).length;
  assert.equal(await count('valid', 'canonical'), vectors('valid').length);
  assert.equal(await count('valid_v1', 'v1'), vectors('valid_v1').length);
  assert.equal(await count('invalid', 'any'), 0);
  assert.equal(await count('invalid_v1', 'v1'), 0);
});
