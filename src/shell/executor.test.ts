/**
 * The executor's error paths: a results file damaged by a crash, a job that
 * leaves background children, a result the broker gave up on, and the
 * record of process groups the broker uses after the executor's death.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Executor } from './executor.js';
import type { ShellJob } from './types.js';
import { livePgids } from './pgids.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'fx-exec-'));
}

function spec(id: number, script: string, dir: string): ShellJob {
  return {
    id, tasks: [0], command: ['sh', '-c', script], cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', FRACTAL_JOB_ID: String(id) },
    ntasks: 1, cpus: [], cpusPerTask: 1, gpus: [], expiration: 0, killGrace: 1, nodeIndex: 0, stdoutPath: join(dir, `out-${id}`),
  };
}

async function until(what: string, pred: () => boolean, ms = 20000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

void test('a corrupt line in the results file costs that line only: the other results are kept', () => {
  const dir = tmp();
  try {
    const results = join(dir, 'exec-0.results');
    writeFileSync(results, [
      JSON.stringify({ id: 1, status: 7 << 8, timedOut: false }),
      '{"id":2,"status":25', // torn by a crash
      JSON.stringify({ id: 3, status: 0, timedOut: true }),
      '\u0000\u0000garbage',
      JSON.stringify({ id: 4, status: 9, timedOut: false }),
      JSON.stringify({ ack: 4 }),
      JSON.stringify({ unrelated: true }),
      '',
    ].join('\n'));
    const logged: string[] = [];
    const ex = new Executor(results, 60000, join(dir, 'exec-0.pgids'), (m) => logged.push(m));
    assert.deepEqual(ex.inventory().finished.sort((a, b) => a.id - b.id), [
      { id: 1, status: 7 << 8, timedOut: false },
      { id: 3, status: 0, timedOut: true },
    ]);
    assert.equal(logged.length, 3, logged.join('\n'));
    assert.match(logged[0]!, /exec-0\.results:2: skipped a corrupt line/);
    assert.match(logged[1]!, /exec-0\.results:4: skipped a corrupt line/);
    assert.match(logged[2]!, /exec-0\.results:7: skipped a line that is not a result/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a job that leaves a background child: the child is killed when the job ends', async () => {
  const dir = tmp();
  try {
    const ex = new Executor(join(dir, 'r.results'), 60000);
    ex.start(spec(5, 'sleep 300 & echo $! > bg.pid; exit 3', dir));
    await until('the job to finish', () => ex.inventory().finished.some((f) => f.id === 5));
    assert.deepEqual(ex.inventory().finished, [{ id: 5, status: 3 << 8, timedOut: false }]);
    const bg = Number(readFileSync(join(dir, 'bg.pid'), 'utf8'));
    await until(`the background child ${bg} to die`, () => !alive(bg), 5000);
    // Nothing runs: no live process group in the record.
    assert.deepEqual([...livePgids(readFileSync(join(dir, 'r.pgids'), 'utf8'))], []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

void test("the process groups of running jobs are on disk, for the broker to kill if the executor dies", async () => {
  const dir = tmp();
  const ex = new Executor(join(dir, 'r.results'), 60000);
  try {
    ex.start(spec(6, 'echo $$ > task.pid; exec sleep 300', dir));
    await until('the task to start', () => { try { return readFileSync(join(dir, 'task.pid'), 'utf8').endsWith('\n'); } catch { return false; } });
    const pid = Number(readFileSync(join(dir, 'task.pid'), 'utf8'));
    assert.deepEqual([...livePgids(readFileSync(join(dir, 'r.pgids'), 'utf8'))], [[6, [pid]]], 'the task leads its own process group');
  } finally {
    ex.kill(6, 'SIGKILL');
    await until('the job to end', () => ex.inventory().running.length === 0);
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('a job the broker acknowledged while it ran (it gave up on it) leaves no result behind', async () => {
  const dir = tmp();
  try {
    const results = join(dir, 'r.results');
    const ex = new Executor(results, 60000);
    ex.start(spec(7, 'exec sleep 300', dir));
    assert.deepEqual(ex.ack([7]), { acked: 0 });
    ex.kill(7, 'SIGKILL');
    await until('the job to end', () => ex.inventory().running.length === 0);
    assert.deepEqual(ex.inventory().finished, []);
    assert.equal(new Executor(results, 60000).inventory().finished.length, 0, 'nothing in the results file either');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
