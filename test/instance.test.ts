/**
 * Instance life cycle: `fractal start` with an initial program (its exit code
 * is the instance's), `--daemon` with a state directory, `uri`, `shutdown`,
 * and refusing a second daemon on the same state directory.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBrokerCmd, isExecutorCmd, cleanEnv, describeResult, FRACTAL_BIN, Instance, processesMatching, run, waitFor, type RunOptions } from './helpers.js';

/** A scratch directory for instances started without --state-dir (TMPDIR points here). */
let scratch: string;

function startEnv(): Record<string, string> {
  const env = cleanEnv();
  env['FRACTAL_HOME'] = join(scratch, 'home');
  env['TMPDIR'] = join(scratch, 'tmp');
  return env;
}

function fractal(args: string[], opts: RunOptions = {}) {
  return run(process.execPath, [FRACTAL_BIN, ...args], { cwd: scratch, env: startEnv(), ...opts });
}

void describe('fractal start with an initial program', () => {
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'frt-'));
    mkdirSync(join(scratch, 'tmp'));
    mkdirSync(join(scratch, 'home'));
  });
  after(() => {
    for (const p of processesMatching(scratch)) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    rmSync(scratch, { recursive: true, force: true });
  });

  void test('--test-size=4 -- fractal run -N4 -n8 prints 8 distinct task lines and exits 0', async () => {
    const r = await fractal(['start', '--test-size=4', '--cores-per-rank=2', '--', 'fractal', 'run', '-N4', '-n8', '--', 'sh', '-c', 'echo task-$FRACTAL_TASK_RANK']);
    assert.equal(r.code, 0, describeResult(r));
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('task-')).sort();
    assert.deepEqual(lines, ['task-0', 'task-1', 'task-2', 'task-3', 'task-4', 'task-5', 'task-6', 'task-7'], describeResult(r));
    // The instance went away with its initial program: no broker left, temporary state removed.
    await waitFor('brokers to exit', () => processesMatching(join(scratch, 'tmp')).length === 0, 15000);
    assert.deepEqual(readdirSync(join(scratch, 'tmp')), [], 'the temporary state directory was not removed');
  });

  void test('the initial program runs with FRACTAL_URI set and fractal on PATH', async () => {
    const r = await fractal(['start', '--', 'sh', '-c', 'echo "uri=$FRACTAL_URI"; command -v fractal']);
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stdout, /^uri=local:\/\/\/.+\.sock$/m);
    assert.match(r.stdout, /bin\/fractal$/m);
  });

  void test('a failing initial program: its exit code is returned', async () => {
    const r = await fractal(['start', '--', 'sh', '-c', 'exit 3']);
    assert.equal(r.code, 3, describeResult(r));
    const r2 = await fractal(['start', '--', 'false']);
    assert.equal(r2.code, 1, describeResult(r2));
  });

  void test('an initial program that cannot be run: 127 and a message', async () => {
    const r = await fractal(['start', '--', '/nonexistent/program']);
    assert.equal(r.code, 127, describeResult(r));
    assert.match(r.stderr, /nonexistent\/program/);
  });

  void test('a job started inside returns its exit code through fractal run and start', async () => {
    const r = await fractal(['start', '--', 'fractal', 'run', 'sh', '-c', 'exit 5']);
    assert.equal(r.code, 5, describeResult(r));
  });
});

void describe('fractal start --daemon, uri, shutdown', () => {
  let inst: Instance;
  before(async () => {
    inst = new Instance({ size: 2, coresPerRank: 1 });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('start --daemon prints the URI and returns, leaving the brokers running', async () => {
    const uri = await inst.startDaemon();
    assert.match(uri, /^local:\/\/\/.+\/local\.sock$/);
    assert.ok(uri.includes(inst.state), 'the socket is in the state directory');
    const procs = inst.processes();
    assert.equal(procs.filter((p) => isBrokerCmd(p.cmdline)).length, 2, `expected 2 brokers, found:\n${procs.map((p) => p.cmdline).join('\n')}`);
    assert.equal(readFileSync(join(inst.state, 'uri'), 'utf8').trim(), uri);
    // The most recent daemon is recorded under FRACTAL_HOME for clients without FRACTAL_URI.
    assert.equal(readFileSync(join(inst.home, 'current'), 'utf8').trim(), uri);
  });

  void test('uri --state-dir prints the URI; uri with only FRACTAL_HOME finds the last daemon', async () => {
    const r = await inst.ok(['uri', '--state-dir', inst.state]);
    assert.equal(r.stdout.trim(), inst.uri);
    const r2 = await inst.fractal(['uri'], { env: inst.env({ withUri: false }) });
    assert.equal(r2.code, 0, describeResult(r2));
    assert.equal(r2.stdout.trim(), inst.uri);
    // A client without FRACTAL_URI talks to that daemon.
    const r3 = await inst.fractal(['jobs', '-a'], { env: inst.env({ withUri: false }) });
    assert.equal(r3.code, 0, describeResult(r3));
  });

  void test('uri --state-dir of a directory without an instance fails with a message', async () => {
    const r = await inst.fractal(['uri', '--state-dir', join(inst.root, 'nothing-here')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no instance is running/);
  });

  void test('jobs run in the daemon (the executor starts on first use)', async () => {
    const r = await inst.fractal(['run', '-N2', '-n2', '--', 'sh', '-c', 'echo rank-$FRACTAL_TASK_RANK']);
    assert.equal(r.code, 0, describeResult(r));
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['rank-0', 'rank-1']);
    assert.ok(inst.processes().some((p) => isExecutorCmd(p.cmdline)), 'an executor process is running');
  });

  void test('a second daemon on the same state directory is refused with a clear message', async () => {
    const pids = inst.processes().map((p) => p.pid).sort();
    const r = await inst.fractal(inst.startArgs(), { env: inst.env({ withUri: false }) });
    assert.notEqual(r.code, 0, describeResult(r));
    assert.match(r.stderr, /already running/, describeResult(r));
    assert.ok(r.stderr.includes(inst.state), 'the message names the state directory');
    // The first instance is untouched and still serves.
    assert.deepEqual(inst.processes().map((p) => p.pid).sort(), pids);
    const ok = await inst.fractal(['run', 'true']);
    assert.equal(ok.code, 0, describeResult(ok));
  });

  void test('shutdown stops the brokers and executors; nothing is left running', async () => {
    const r = await inst.fractal(['shutdown']);
    assert.equal(r.code, 0, describeResult(r));
    await waitFor('every broker and executor to exit', () => inst.processes().length === 0, 15000)
      .catch(() => assert.fail(`processes left after shutdown:\n${inst.processes().map((p) => `${p.pid} ${p.cmdline}`).join('\n')}`));
    assert.ok(!existsSync(join(inst.state, 'local.sock')), 'the client socket was removed');
    const after = await inst.fractal(['jobs']);
    assert.notEqual(after.code, 0, 'clients cannot talk to a stopped instance');
    assert.match(after.stderr, /cannot connect/);
  });

  void test('a stopped daemon can be started again on its state directory and keeps its jobs', async () => {
    await inst.startDaemon();
    const jobs = await inst.jobs();
    assert.equal(jobs.length, 2, 'the two jobs run before the shutdown are still listed');
    assert.ok(jobs.every((j) => j.state === 'INACTIVE' && j.result === 'COMPLETED'));
  });
});

void describe('--help on every command', { concurrency: 4 }, () => {
  const commands = [[], ['start'], ['shutdown'], ['uri'], ['submit'], ['run'], ['job'], ['job', 'submit'], ['job', 'info'], ['job', 'eventlog'],
    ['job', 'validate'], ['jobs'], ['cancel'], ['wait'], ['attach'], ['update'], ['queue'], ['resource']];
  for (const cmd of commands) {
    void test(`fractal ${cmd.join(' ')} --help`, async () => {
      const r = await run(process.execPath, [FRACTAL_BIN, ...cmd, '--help'], { env: cleanEnv(), timeoutMs: 20000 });
      assert.equal(r.code, 0, describeResult(r));
      assert.match(r.stdout, new RegExp(`^Usage: fractal${cmd.length ? ' ' + cmd.join(' ') : ''} `, 'm'), describeResult(r));
    });
  }
});
