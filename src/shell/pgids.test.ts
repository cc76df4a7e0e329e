import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killJobProcesses } from './pgids.js';

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
const exited = (c: ChildProcess) => new Promise<void>((r) => (alive(c) ? c.once('exit', () => r()) : r()));

void test('killJobProcesses: a job of this instance dies; a nested instance\'s job with the same id does not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgids-'));
  const start = (env: Record<string, string>) => spawn('sleep', ['300'], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, stdio: 'ignore' });
  // Job 2 of this instance, and job 2 of the instance that job 1 runs.
  const mine = start({ FRACTAL_CHILD_DIR: join(dir, 'jobs', '2'), FRACTAL_JOB_ID: '2' });
  const nested = start({ FRACTAL_CHILD_DIR: join(dir, 'jobs', '1', 'jobs', '2'), FRACTAL_JOB_ID: '2' });
  try {
    await Promise.all([mine, nested].map((c) => new Promise((r) => c.once('spawn', r))));
    assert.equal(killJobProcesses(new Map([[2, []]]), dir), 1);
    await exited(mine);
    assert.equal(mine.signalCode, 'SIGKILL');
    assert.ok(alive(nested), 'the nested job with the same id still runs');
  } finally {
    for (const c of [mine, nested]) c.kill('SIGKILL');
    await Promise.all([exited(mine), exited(nested)]);
    rmSync(dir, { recursive: true, force: true });
  }
});
