import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseSwf, readSwf } from './swf.js';
import { toWorkload } from './workload.js';

const line = (f: number[]) => f.join(' ');
// id submit wait run alloc cpu mem reqProcs reqTime reqMem status user group exe queue part prev think
const SAMPLE = [
  '; Version: 2.2',
  '; MaxNodes: 338 (batch partition; 512 total)',
  '; MaxProcs: 128',
  ';',
  line([1, 0, 5, 100, 4, -1, -1, 4, 200, -1, 1, 1, 1, 1, 1, 1, -1, -1]),
  '   ' + line([2, 10, 0, 50, -1, -1, -1, 8, -1, -1, 1, 2, 1, 1, 1, 1, -1, -1]) + '  ',
  '',
  line([3, 20, 0, -1, -1, -1, -1, 2, 60, -1, 5, 2, 1, 1, 1, 1, -1, -1]),
  line([4, 30, 0, 0, 16, -1, -1, 16, 0, -1, 1, 2, 1, 1, 1, 1, -1, -1]),
  line([5, 40, 0, 300, 1, -1, -1, 1, 120, -1, 0, 2, 1, 1, 1, 1, -1, -1]),
].join('\n');

void test('parses header values (leading integers) and job lines', () => {
  const t = parseSwf(SAMPLE, 'sample.swf');
  assert.equal(t.header.maxProcs, 128);
  assert.equal(t.header.maxNodes, 338);
  assert.equal(t.header.fields.get('Version'), '2.2');
  assert.equal(t.jobs.length, 5);
  assert.deepEqual(t.jobs[1], {
    id: 2, submit: 10, wait: 0, run: 50, allocProcs: -1, cpuTime: -1, usedMemory: -1, reqProcs: 8, reqTime: -1, reqMemory: -1,
    status: 1, user: 2, group: 1, executable: 1, queue: 1, partition: 1, precedingJob: -1, thinkTime: -1,
  });
});

void test('missing values: requested processors stand in for allocated, run time for a missing estimate', () => {
  const w = toWorkload(parseSwf(SAMPLE, 'sample.swf'));
  assert.deepEqual(w.jobs.map((j) => [j.id, j.procs, j.run, j.estimate]), [[1, 4, 100, 200], [2, 8, 50, 50], [4, 16, 0, 0], [5, 1, 300, 120]]);
  assert.deepEqual([...w.dropped], [['no run time (never ran)', 1]]);
  assert.equal(w.maxProcs, 128);
  assert.equal(w.maxProcsFrom, 'MaxProcs');
  const exact = toWorkload(parseSwf(SAMPLE, 'sample.swf'), { estimates: 'exact' });
  assert.deepEqual(exact.jobs.map((j) => j.estimate), [100, 50, 0, 300]);
  const noHeader = toWorkload(parseSwf(line([1, 0, 0, 10, 7, -1, -1, 7, 10, -1, 1, 1, 1, 1, 1, 1, -1, -1])));
  assert.equal(noHeader.maxProcs, 7);
  assert.equal(noHeader.maxProcsFrom, 'largest job');
});

void test('bad lines are reported with their line number and what is wrong', () => {
  assert.throws(() => parseSwf('; MaxProcs: 4\n1 2 3\n', 'bad.swf'), /bad\.swf line 2: expected 18 numeric fields \(Standard Workload Format\), found 3/);
  const bad = [1, 0, 0, 10, 'x4', -1, -1, 4, 10, -1, 1, 1, 1, 1, 1, 1, -1, -1].join(' ');
  assert.throws(() => parseSwf(`;\n;\n\n${bad}`, 'bad.swf'), /bad\.swf line 4: field 5 \(allocated processors\) is "x4", not a number/);
});

void test('reads plain and gzip files as streams; missing files and bad gzip are clear errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swf-'));
  try {
    // Enough lines to span several stream chunks.
    const big = [SAMPLE, ...Array.from({ length: 5000 }, (_, i) => line([10 + i, 100 + i, 0, 10, 1, -1, -1, 1, 20, -1, 1, 1, 1, 1, 1, 1, -1, -1]))].join('\n') + '\n';
    writeFileSync(join(dir, 'a.swf'), big);
    writeFileSync(join(dir, 'a.swf.gz'), gzipSync(big));
    const plain = await readSwf(join(dir, 'a.swf'));
    const gz = await readSwf(join(dir, 'a.swf.gz'));
    assert.equal(plain.jobs.length, 5005);
    assert.deepEqual(gz.jobs, plain.jobs);
    assert.equal(gz.header.maxProcs, 128);
    await assert.rejects(readSwf(join(dir, 'none.swf')), /trace file ".*none\.swf" does not exist: check the --trace path/);
    writeFileSync(join(dir, 'broken.swf.gz'), Buffer.concat([gzipSync(big).subarray(0, 200), Buffer.from('garbage')]));
    await assert.rejects(readSwf(join(dir, 'broken.swf.gz')), /broken\.swf\.gz: not a valid gzip file|unexpected end/);
    writeFileSync(join(dir, 'c.swf'), `${SAMPLE}\n1 2 3\n`);
    await assert.rejects(readSwf(join(dir, 'c.swf')), /c\.swf line 11: expected 18 numeric fields/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
