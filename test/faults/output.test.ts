/**
 * Fault injection: a job writes 200 MB to stdout, kept in the store; then
 * `fractal attach` feeds it to a deliberately slow reader. Every byte arrives, in order; the broker
 * reads the store page by page and sends a page only when the reader has
 * taken the previous one, so neither the broker nor the client grows with
 * the output. A job past its output limit gets an `output-limit` exception
 * and is killed, with exactly the limit stored.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isExecutorCmd, FRACTAL_BIN, Instance, run, waitFor } from '../helpers.js';

/** Peak resident memory (bytes) of a live process, or 0 once it is gone. */
function peakRss(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Lines 1..N of `seq`: about 200 MB, every line checkable for order. */
const LINES = 23_000_000;

/**
 * The slow reader: takes one pipe read (≤ 64 KiB), then pauses 2 ms (at most
 * ~30 MB/s, slower than the broker serves), and prints the byte count and the SHA-256.
 */
const SLOW_READER = `
const h = require('node:crypto').createHash('sha256');
let n = 0;
process.stdin.on('data', (b) => {
  h.update(b); n += b.length;
  process.stdin.pause();
  setTimeout(() => process.stdin.resume(), 2);
});
process.stdin.on('end', () => console.log(n, h.digest('hex')));
`;

const MB = 1024 * 1024;

void describe('200 MB of output through a slow reader (fault injection)', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({ size: 1 });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('fractal attach: all bytes, in order; broker and client memory bounded', async () => {
    const expected = await run('sh', ['-c', `seq 1 ${LINES} | sha256sum; seq 1 ${LINES} | wc -c`], { timeoutMs: 120000 });
    assert.equal(expected.code, 0);
    const [sumLine, countLine] = expected.stdout.trim().split('\n');
    const wantSum = sumLine!.split(/\s+/)[0]!;
    const wantBytes = Number(countLine);
    assert.ok(wantBytes > 190_000_000, `${wantBytes} bytes`);

    const f = await inst.api();
    const info = await f.rpc<{ pid: number }>('broker.info', {}, 0);
    const brokerBase = peakRss(info.pid);
    // The whole output is in the store before the reader starts (the old broker loaded it all at once then).
    const id = await inst.submit(['--', 'seq', '1', String(LINES)]);
    assert.equal((await inst.fractal(['wait', String(id)], { timeoutMs: 120000 })).code, 0);
    const brokerAfterJob = peakRss(info.pid);

    const reader = spawn(process.execPath, ['-e', SLOW_READER], { stdio: ['pipe', 'pipe', 'inherit'] });
    let readerOut = '';
    reader.stdout.setEncoding('utf8').on('data', (d: string) => { readerOut += d; });
    const attach = spawn(process.execPath, [FRACTAL_BIN, 'attach', String(id)], { cwd: inst.work, env: inst.env(), stdio: ['ignore', reader.stdin, 'pipe'] });
    reader.stdin.destroy(); // attach holds the pipe's write end now
    let attachErr = '';
    attach.stderr.setEncoding('utf8').on('data', (d: string) => { attachErr += d; });
    // VmHWM only grows: the last sample before the client exits is its peak.
    let clientPeak = 0;
    const sampler = setInterval(() => { clientPeak = Math.max(clientPeak, peakRss(attach.pid!)); }, 50);
    const attachCode = await new Promise<number | null>((resolve) => attach.on('exit', (code) => resolve(code)));
    clearInterval(sampler);
    const readerCode = await new Promise<number | null>((resolve) => (reader.exitCode !== null && reader.stdout.closed ? resolve(reader.exitCode) : reader.on('close', (c) => resolve(c))));
    assert.equal(attachCode, 0, attachErr);
    assert.equal(readerCode, 0);
    const [gotBytes, gotSum] = readerOut.trim().split(/\s+/);
    assert.equal(Number(gotBytes), wantBytes, 'every byte arrived');
    assert.equal(gotSum, wantSum, 'in order (same SHA-256 as seq itself)');

    const brokerPeak = peakRss(info.pid);
    const execPid = inst.processes().find((p) => isExecutorCmd(p.cmdline))?.pid;
    const execPeak = execPid ? peakRss(execPid) : 0;
    process.stdout.write(`# output: broker peak RSS ${(brokerBase / MB).toFixed(0)} -> ${(brokerAfterJob / MB).toFixed(0)} (job) -> ${(brokerPeak / MB).toFixed(0)} MiB (attach), client (attach) peak ${(clientPeak / MB).toFixed(0)} MiB, executor peak ${(execPeak / MB).toFixed(0)} MiB, ${wantBytes} bytes\n`);
    // Old code: the broker loaded the whole output (~700 MB peak) and the client buffered it all.
    assert.ok(brokerPeak < 200 * MB, `broker peak RSS ${(brokerPeak / MB).toFixed(0)} MiB`);
    assert.ok(clientPeak > 0 && clientPeak < 150 * MB, `client peak RSS ${(clientPeak / MB).toFixed(0)} MiB`);
    const job = await inst.job(id);
    assert.equal(job.state, 'INACTIVE');
    assert.equal(job.returncode, 0);
  });
});

void describe('the output limit (fault injection)', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({ size: 1, extraArgs: ['-o', 'exec.output-limit=1M'] });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('a job writing without end gets an output-limit exception and is killed; exactly 1 MiB is kept', async () => {
    const r = await inst.fractal(['run', '--', 'yes'], { timeoutMs: 60000 });
    assert.equal(r.timedOut, false, 'the job was stopped');
    assert.match(r.stderr, /output-limit exception: output limit of 1 MiB exceeded/);
    assert.equal(r.stdout.length, MB, 'fractal run printed exactly the limit');
    assert.equal(r.stdout, 'y\n'.repeat(MB / 2));
    const id = Number(/job (\d+)/.exec(r.stderr)?.[1]);
    const job = await waitFor('the job to be inactive', async () => {
      const j = await inst.job(id);
      return j.state === 'INACTIVE' ? j : undefined;
    });
    assert.equal(job.exception?.type, 'output-limit');
    assert.equal(job.exception?.note, 'output limit of 1 MiB exceeded');
    assert.equal(r.code, job.returncode ?? 1);
    assert.notEqual(r.code, 0);
    // attach reads the same stored 1 MiB.
    const a = await inst.fractal(['attach', String(id)]);
    assert.equal(a.stdout.length, MB);
  });
});
