/**
 * Input edges (issue 11): time limits past what a Node timer holds, the
 * longest time limit, environment names, output paths built from job names,
 * user text printed to a terminal, and --state-dir on a directory Fractal
 * did not create. One instance for most of it; the state-dir cases start
 * their own.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FractalError } from '../src/errors/index.js';
import { jobspecFromCommand } from '../src/jobspec/index.js';
import { describeResult, failedCleanly, Instance } from './helpers.js';

// Characters a terminal acts on: C0 (except the newline ending each line), DEL, C1, bidi controls.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const EVIL = 'evil\u001b[31mred\nline\u202e';

let inst: Instance;

before(async () => {
  inst = await Instance.start({ coresPerRank: 4 });
});
after(async () => {
  await inst?.destroy();
});

function assertFails(r: Awaited<ReturnType<Instance['fractal']>>, message: RegExp): void {
  const problem = failedCleanly(r, message);
  assert.equal(problem, undefined, problem);
  assert.equal(r.code, 1, describeResult(r));
}

void describe('time limits', () => {
  void test('a 30-day time limit (past 2^31 ms) does not end the job at once, in the executor or in test mode', async () => {
    const real = await inst.submit(['-t', '30d', 'sleep', '300']);
    const fake = await inst.submit(['-t', '30d', '--setattr', 'exec.test.run_duration=30d', 'true']);
    await inst.waitStarted(real);
    await inst.waitStarted(fake);
    // A later job runs to its end; a timer that overflowed (fires after 1 ms) would have ended both by then.
    const later = await inst.fractal(['run', 'true']);
    assert.equal(later.code, 0, describeResult(later));
    for (const id of [real, fake]) {
      const j = await inst.job(id);
      assert.equal(j.state, 'RUN', `job ${id} (30d limit) is ${j.state} ${j.result ?? ''} ${j.exception?.note ?? ''}`);
      assert.equal(j.duration, 30 * 86400);
    }
    await inst.ok(['cancel', String(real), String(fake)]);
    await inst.waitState(real, ['INACTIVE']);
    await inst.waitState(fake, ['INACTIVE']);
  });

  void test('durations beyond 365 days are refused at submit with the maximum stated', async () => {
    for (const t of ['9223372036854775808s', '1e308', '400d', '31536001']) {
      assertFails(await inst.fractal(['submit', '-t', t, 'true']), new RegExp(`-t/--time-limit ${t}: .*more than the maximum time limit of 365d \\(31536000 s\\)`));
    }
    // The maximum itself and no limit are fine.
    const ok = await inst.submit(['-t', '365d', '--urgency', '0', 'true']);
    const inf = await inst.submit(['-t', 'inf', '--urgency', '0', 'true']);
    assert.equal((await inst.job(ok)).duration, 365 * 86400);
    assert.equal((await inst.job(inf)).duration ?? 0, 0);
    await inst.ok(['cancel', String(ok), String(inf)]);
  });

  void test('the broker refuses them too (API submit and update), and so does fractal update', async () => {
    const f = await inst.api();
    for (const duration of [2 ** 63, 1e308]) {
      const js = jobspecFromCommand(['true'], {}, { cwd: inst.work });
      js.attributes.system!.duration = duration;
      await assert.rejects(f.submit(js), (e: unknown) => e instanceof FractalError && e.code === 'EINVAL' && /maximum time limit of 365d/.test(e.message));
    }
    const held = await inst.submit(['--urgency', '0', 'true']);
    assertFails(await inst.fractal(['update', String(held), 'duration=400d']), /duration=400d: 400d is more than the maximum time limit of 365d/);
    await assert.rejects(f.update(held, { duration: 1e308 }), (e: unknown) => e instanceof FractalError && e.code === 'EINVAL' && /maximum time limit of 365d/.test(e.message));
    await inst.ok(['update', String(held), 'duration=365d']);
    assert.equal((await inst.job(held)).duration, 365 * 86400);
    await inst.ok(['cancel', String(held)]);
  });
});

void describe('environment names', () => {
  void test('--env "BAD NAME=1" is refused, at the CLI and at the broker', async () => {
    assertFails(await inst.fractal(['submit', '--env', 'BAD NAME=1', 'true']), /variable name "BAD NAME" is not valid: names are letters, digits and "_"/);
    const f = await inst.api();
    const js = jobspecFromCommand(['true'], {}, { cwd: inst.work });
    js.attributes.system!.environment = { 'BAD NAME': '1' };
    await assert.rejects(f.submit(js), (e: unknown) => e instanceof FractalError && e.code === 'EINVAL' && /variable name "BAD NAME" is not valid/.test(e.message));
  });

  void test('inherited variables with invalid names are left behind; bash exported functions pass', async () => {
    const env = { ...inst.env(), 'BAD.NAME': 'x', 'BASH_FUNC_hello%%': '() {  echo hello\n}', GOOD_NAME: 'y' };
    const r = await inst.fractal(['run', 'env'], { env });
    assert.equal(r.code, 0, describeResult(r));
    const names = r.stdout.split('\n').map((l) => l.split('=')[0]);
    assert.ok(names.includes('GOOD_NAME'), r.stdout);
    assert.ok(names.includes('BASH_FUNC_hello%%'), r.stdout);
    assert.ok(!names.includes('BAD.NAME'), r.stdout);
  });
});

void describe('output paths', () => {
  void test('a job name cannot move an --output file out of the directory the template names', async () => {
    const r = await inst.fractal(['run', '--job-name', '../escape', '--output', '{name}.out', 'echo', 'hi']);
    assert.equal(r.code, 0, describeResult(r));
    assert.equal(existsSync(join(inst.root, 'escape.out')), false, 'the output was written outside the working directory');
    assert.equal(readFileSync(join(inst.work, '_._escape.out'), 'utf8'), 'hi\n');
  });

  void test('a name with a slash stays one file name under a directory template', async () => {
    mkdirSync(join(inst.work, 'logs'), { recursive: true });
    const r = await inst.fractal(['run', '--job-name', 'a/b', '--output', 'logs/%x-%j.out', 'echo', 'x']);
    assert.equal(r.code, 0, describeResult(r));
    const id = (await inst.jobs(['-a'])).find((j) => j.name === 'a/b')!.id;
    assert.equal(readFileSync(join(inst.work, 'logs', `a_b-${id}.out`), 'utf8'), 'x\n');
  });
});

void describe('user text on the terminal', () => {
  let id: number;
  before(async () => {
    id = await inst.submit(['--job-name', EVIL, '--urgency', '0', 'true']);
  });

  void test('fractal jobs prints names escaped, one line per job, columns kept', async () => {
    const r = await inst.ok(['jobs', '-a']);
    assert.doesNotMatch(r.stdout, RAW_CONTROL);
    const row = r.stdout.split('\n').find((l) => l.trim().startsWith(`${id} `));
    assert.ok(row, r.stdout);
    assert.match(row, /evil\\x1b\[3 +[A-Z]{1,2} /);
    const named = await inst.ok(['jobs', '-a', '-o', '{id} {name}', String(id)]);
    assert.equal(named.stdout, `JOBID NAME\n${id} evil\\x1b[31mred\\nline\\u{202e}\n`);
  });

  void test('--json, job info and the event log are escaped but exact', async () => {
    const json = await inst.ok(['jobs', '--json', String(id)]);
    assert.doesNotMatch(json.stdout.trimEnd(), RAW_CONTROL);
    assert.equal((JSON.parse(json.stdout) as { jobs: { name: string }[] }).jobs[0]!.name, EVIL);
    const info = await inst.ok(['job', 'info', String(id)]);
    assert.doesNotMatch(info.stdout.replaceAll('\n', ''), RAW_CONTROL);
    assert.equal((JSON.parse(info.stdout) as { job: { name: string } }).job.name, EVIL);
    await inst.ok(['update', String(id), `name=${EVIL}2`]);
    const log = await inst.ok(['job', 'eventlog', String(id)]);
    assert.doesNotMatch(log.stdout, RAW_CONTROL);
    assert.match(log.stdout, /jobspec-update attributes\.system\.job\.name=evil\\x1b\[31mred\\nline\\u\{202e\}2\n/);
  });

  void test('notes, reasons and errors echoing input are escaped', async () => {
    await inst.ok(['cancel', '-m', 'bye\u001b]0;pwned\u0007', String(id)]);
    const w = await inst.fractal(['wait', String(id)]);
    assert.equal(w.code, 1, describeResult(w));
    assert.doesNotMatch(w.stderr, RAW_CONTROL);
    assert.match(w.stderr, /bye\\x1b\]0;pwned\\x07/);
    const jobs = await inst.ok(['jobs', '-a', '-o', '{id} {info}', String(id)]);
    assert.doesNotMatch(jobs.stdout, RAW_CONTROL);

    await inst.ok(['queue', 'disable', 'maintenance\u001b[2J\rnow']);
    try {
      const q = await inst.ok(['queue', 'status']);
      assert.doesNotMatch(q.stdout, RAW_CONTROL);
      assert.match(q.stdout, /Job submission is disabled: maintenance\\x1b\[2J\\rnow\n/);
    } finally {
      await inst.ok(['queue', 'enable']);
    }

    const bad = await inst.fractal(['jobs', '-u', 'x\u001b[31m']);
    assertFails(bad, /--user "x\\x1b\[31m": no such user/);
    assert.doesNotMatch(bad.stderr, RAW_CONTROL);
  });
});

void describe('--state-dir on a directory Fractal did not create', () => {
  void test('an existing private directory is used and its mode left alone', async () => {
    const other = new Instance();
    try {
      chmodSync(other.state, 0o755);
      await other.startDaemon();
      assert.equal(statSync(other.state).mode & 0o7777, 0o755, 'the state directory was chmod\'ed');
      await other.ok(['run', 'true']);
    } finally {
      await other.destroy();
    }
  });

  void test('a directory others can write to is refused and not chmod\'ed', async () => {
    const other = new Instance();
    try {
      const shared = join(other.root, 'shared');
      mkdirSync(shared);
      chmodSync(shared, 0o1777);
      const r = await other.fractal(['start', '--daemon', '--state-dir', shared]);
      assertFails(r, /--state-dir .*shared is writable by other users \(mode 1777\); give a directory only you can write/);
      assert.equal(statSync(shared).mode & 0o7777, 0o1777);
    } finally {
      await other.destroy();
    }
  });
});
