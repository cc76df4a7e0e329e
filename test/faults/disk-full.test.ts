/**
 * Fault injection: the state directory's file system fills up during a
 * submission burst, with jobs running (issue 11, scope 1 and 6).
 *
 * The state directory is a small tmpfs, filled with a filler file. The
 * broker runs in daemon mode, so its own log file is on the full file system
 * too. Claims checked:
 * - every refused submission got the ENOSPC error text; the broker stays up
 *   and answers; running jobs keep running;
 * - when the filler is deleted the instance resumes by itself: new submits
 *   succeed, the completions queued in memory are written (exit codes real);
 * - after a restart on the same state directory, the jobs are exactly the
 *   acknowledged ones (none lost, none from a refused submit), each once, with
 *   its real result; ids are unique and a new id collides with none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, truncateSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { jobspecFromCommand, type Jobspec } from '../../src/jobspec/index.js';
import { FractalError } from '../../src/errors/index.js';
import { isBrokerCmd, Instance, describeResult, isAlive, waitFor, sleep } from '../helpers.js';

const ENOSPC_TEXT = /^ENOSPC: the state directory's file system is full \(/;
const root = process.getuid?.() === 0;

function mount(dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
}

function umount(dir: string): void {
  for (let i = 0; i < 50; i++) {
    try {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      return;
    } catch { /* busy: a process is still exiting */ }
    execFileSync('sleep', ['0.1']);
  }
  execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
}

/** Writes zeros into `path` until the file system is full; returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  let n = 0;
  try {
    for (;;) {
      try {
        n += writeSync(fd, chunk);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
        // The last partial page.
        for (const size of [4096, 512, 1]) {
          try { for (;;) n += writeSync(fd, chunk.subarray(0, size)); } catch { /* full at this size */ }
        }
        return n;
      }
    }
  } finally {
    closeSync(fd);
  }
}

void test('disk full during a submission burst: nothing acknowledged is lost, refusals say ENOSPC, the instance resumes by itself', { skip: !root && 'needs root (mounts a tmpfs)', timeout: 600000 }, async (t) => {
  const inst = new Instance({ coresPerRank: 4 });
  mount(inst.state, '24m');
  let passed = false;
  try {
    await inst.startDaemon();
    const f = await inst.api();
    const spec = (command: string[]): Jobspec => jobspecFromCommand(command, {}, { cwd: inst.work, environment: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', PAD: 'p'.repeat(2000) } });
    // Two jobs that run until told to stop, writing a heartbeat; they end with exit code 3.
    const go = join(inst.work, 'go');
    const sleeper = (n: number) => spec(['sh', '-c', `while [ ! -e ${go} ]; do date +%s%N > ${inst.work}/hb${n}; sleep 0.05; done; echo ended > ${inst.work}/ended${n}; exit 3`]);
    const running = [await f.submit(sleeper(1)), await f.submit(sleeper(2))];
    for (const id of running) await inst.waitStarted(id);
    const brokerPid = await inst.brokerPid();

    const filler = join(inst.state, 'filler');
    // Nearly full: 512 KiB left, so the burst is acknowledged at first and then meets the full disk.
    truncateSync(filler, Math.max(0, fill(filler) - 512 * 1024));

    // The burst: API submits, 8 at a time, until 40 were refused (the disk is full).
    const acked: number[] = [];
    const refusals: string[] = [];
    let attempts = 0;
    while (refusals.length < 40 && attempts < 4000) {
      const batch = await Promise.allSettled(Array.from({ length: 8 }, () => f.submit(spec(['true']))));
      attempts += batch.length;
      for (const r of batch) {
        if (r.status === 'fulfilled') acked.push(r.value);
        else refusals.push(r.reason instanceof FractalError ? r.reason.message : String(r.reason));
      }
    }
    assert.ok(refusals.length >= 40, `the full disk refused submissions (${acked.length} acknowledged, ${refusals.length} refused of ${attempts})`);
    assert.ok(acked.length > 0, `submissions were acknowledged before the disk was full (${acked.length} acknowledged, ${refusals.length} refused)`);
    const wrong = refusals.filter((m) => !ENOSPC_TEXT.test(m));
    assert.deepEqual(wrong, [], 'every refusal is the ENOSPC error');
    assert.ok(refusals[0]!.includes(inst.state), `the refusal names the state directory: ${refusals[0]}`);
    assert.equal(new Set(acked).size, acked.length, 'no id acknowledged twice in this run');
    t.diagnostic(`burst on a full disk: ${acked.length} acknowledged, ${refusals.length} refused (ENOSPC) of ${attempts}`);

    // A bulk submit and the CLI are refused the same way while the disk is full (retried until one meets the full store).
    let bulkRefused: string | undefined;
    for (let i = 0; i < 200 && bulkRefused === undefined; i++) {
      try { acked.push(...await f.submitMany(spec(['true']), 5)); } catch (e) { bulkRefused = (e as Error).message; }
    }
    assert.match(bulkRefused ?? '(never refused)', ENOSPC_TEXT);
    let cliRefused = false;
    for (let i = 0; i < 100 && !cliRefused; i++) {
      const r = await inst.fractal(['submit', 'true']);
      if (r.code === 0) { acked.push(Number(r.stdout.trim())); continue; }
      assert.equal(r.code, 1, describeResult(r));
      assert.match(r.stderr, /^fractal submit: ENOSPC: the state directory's file system is full \(/, describeResult(r));
      cliRefused = true;
    }
    assert.ok(cliRefused, 'the CLI submit was refused');

    // The broker (its log file is on the full disk) is up and answers; running jobs keep running.
    assert.ok(isAlive(brokerPid), 'the rank-0 broker is alive');
    assert.ok(existsSync(join(inst.state, 'broker-0.log')), 'the broker log is on the full file system');
    const listed = await f.list({ ids: running });
    assert.deepEqual(listed.map((j) => j.state).sort(), ['RUN', 'RUN']);
    for (const n of [1, 2]) {
      const hb = readFileSync(join(inst.work, `hb${n}`), 'utf8');
      await waitFor(`job ${n}'s heartbeat to move`, () => readFileSync(join(inst.work, `hb${n}`), 'utf8') !== hb, 30000, 50);
    }

    // The running jobs end while the disk is still full: their completions wait in memory.
    execFileSync('touch', [go]);
    for (const n of [1, 2]) await waitFor(`job ${n} to end its loop`, () => existsSync(join(inst.work, `ended${n}`)), 30000, 50);
    await sleep(200); // not a synchronisation: gives the finish a chance to meet the full disk

    // Space returns: the instance resumes by itself.
    unlinkSync(filler);
    const after = await waitFor('a submit to succeed after space returned', async () => f.submit(spec(['true'])), 60000, 200);
    acked.push(after);
    for (const id of running) {
      const w = await f.wait(id);
      assert.equal(w.returncode, 3, `job ${id}'s real exit code`);
      assert.equal(w.result, 'FAILED');
    }
    await f.waitAll();

    // Restart on the same state directory: exactly the acknowledged jobs, once each, with their results.
    assert.equal((await inst.fractal(['shutdown'], { timeoutMs: 60000 })).code, 0);
    await waitFor('the instance to stop', () => inst.processes().filter((p) => isBrokerCmd(p.cmdline)).length === 0, 30000);
    await inst.startDaemon();
    const f2 = await inst.api();
    const all = await f2.list({ states: ['all'] });
    const ids = all.map((j) => j.id);
    assert.equal(new Set(ids).size, ids.length, 'each job listed once');
    const expected = [...running, ...acked].sort((a, b) => a - b);
    assert.deepEqual([...ids].sort((a, b) => a - b), expected, 'the jobs are exactly the acknowledged ones: none lost, none from a refused submit');
    for (const j of all) {
      assert.equal(j.state, 'INACTIVE', `job ${j.id}`);
      if (running.includes(j.id)) assert.equal(j.returncode, 3, `job ${j.id}`);
      else assert.deepEqual([j.result, j.returncode], ['COMPLETED', 0], `job ${j.id}`);
    }
    t.diagnostic(`after the restart: ${ids.length} jobs, exactly the ${expected.length} acknowledged`);
    const fresh = await f2.submit(spec(['true']));
    assert.ok(!ids.includes(fresh) && fresh > Math.max(...ids), `a new id (${fresh}) collides with none`);
    await f2.wait(fresh);
    passed = true;
  } finally {
    // On a failure, what the broker said is the first thing to read (its log is on the tmpfs, gone after umount).
    if (!passed) for (const log of ['broker-0.log', 'exec-0.log']) {
      try { process.stderr.write(`--- ${log} (last 4 KiB):\n${readFileSync(join(inst.state, log), 'utf8').slice(-4096)}\n`); } catch { /* none */ }
    }
    await inst.fractal(['shutdown'], { timeoutMs: 20000 }).catch(() => undefined);
    await waitFor('instance processes to exit', () => inst.processes().length === 0, 10000).catch(() => undefined);
    inst.killAll();
    umount(inst.state);
    await inst.destroy();
  }
});
