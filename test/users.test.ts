/**
 * What users rely on (issue 11, item 5): `wait` reports failures of jobs
 * that ended before it, signals read as signals, unknown ids are errors
 * everywhere, dependency lists as documented, queued-job limits, a bulk
 * cancel, hints for Slurm/Flux option spellings, and the demo's figures.
 *
 * One instance of 1 broker with 2 cores (limits: a second one, small).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { describeResult, failedCleanly, FRACTAL_BIN, Instance, ROOT, run } from './helpers.js';

let inst: Instance;
const USR1 = constants.signals.SIGUSR1;

void describe('what users rely on', () => {
  before(async () => {
    inst = await Instance.start({ size: 1, coresPerRank: 2 });
  });
  after(async () => {
    await inst.destroy();
  });

  void describe('wait', () => {
    void test('wait --all exits 1 for a job that failed before the wait began, and reaps it once', async () => {
      await inst.fractal(['wait', '--all']); // reap whatever came before
      const bad = await inst.submit(['sh', '-c', 'exit 3']);
      const good = await inst.submit(['true']);
      await inst.waitState(bad, ['INACTIVE']);
      await inst.waitState(good, ['INACTIVE']);
      const w = await inst.fractal(['wait', '--all']);
      assert.equal(w.code, 1, describeResult(w));
      assert.match(w.stderr, new RegExp(`job ${bad}: FAILED: exited with code 3\\n`));
      assert.doesNotMatch(w.stderr, new RegExp(`job ${good}:`));
      assert.match(w.stderr, /1 job\(s\) failed/);
      const again = await inst.fractal(['wait', '--all']);
      assert.equal(again.code, 0, `each result is reaped once: ${describeResult(again)}`);
      const byId = await inst.fractal(['wait', String(bad)]);
      assert.equal(byId.code, 1, `wait ID still reports it: ${describeResult(byId)}`);
    });

    void test('a failure collected by wait ID is not reported again by wait --all', async () => {
      const bad = await inst.submit(['sh', '-c', 'exit 4']);
      const w1 = await inst.fractal(['wait', String(bad)]);
      assert.equal(w1.code, 1, describeResult(w1));
      const w = await inst.fractal(['wait', '--all']);
      assert.equal(w.code, 0, describeResult(w));
    });

    void test('wait --all still waits for active jobs and counts every failure', async () => {
      const early = await inst.submit(['sh', '-c', 'exit 5']);
      await inst.waitState(early, ['INACTIVE']);
      const late = await inst.submit(['sh', '-c', 'sleep 1; exit 6']);
      const w = await inst.fractal(['wait', '--all']);
      assert.equal(w.code, 1, describeResult(w));
      assert.match(w.stderr, new RegExp(`job ${early}: FAILED: exited with code 5\\n`));
      assert.match(w.stderr, new RegExp(`job ${late}: FAILED: exited with code 6\\n`));
      assert.match(w.stderr, /2 job\(s\) failed/);
    });
  });

  void describe('signals', () => {
    void test('a task killed by SIGUSR1: run exits 128+n; wait, jobs and job info say "killed by SIGUSR1"', async () => {
      const r = await inst.fractal(['run', '--job-name=usr1', '--', 'sh', '-c', 'kill -USR1 $$']);
      assert.equal(r.code, 128 + USR1, describeResult(r));
      const [j] = (await inst.jobs(['-a'])).filter((x) => x.name === 'usr1');
      assert.ok(j, 'the job is listed');
      assert.equal(j.signal, 'SIGUSR1');
      assert.equal(j.returncode, 128 + USR1);
      const w = await inst.fractal(['wait', String(j.id)]);
      assert.equal(w.code, 1);
      assert.match(w.stderr, new RegExp(`job ${j.id}: FAILED: killed by SIGUSR1\\n`));
      assert.doesNotMatch(w.stderr, /exited with code/);
      const table = await inst.ok(['jobs', '-o', '{id} {info}', '-n', String(j.id)]);
      assert.equal(table.stdout, `${j.id} killed by SIGUSR1\n`);
      const info = JSON.parse((await inst.ok(['job', 'info', String(j.id), 'job'])).stdout) as { signal?: string };
      assert.equal(info.signal, 'SIGUSR1');
    });
  });

  void describe('unknown ids', () => {
    const cases: Record<string, string[]> = {
      'jobs ID': ['jobs', '999999'],
      'jobs --json ID': ['jobs', '--json', '999999'],
      'job info': ['job', 'info', '999999'],
      'job eventlog': ['job', 'eventlog', '999999'],
      'job kill': ['job', 'kill', '999999'],
      cancel: ['cancel', '999999'],
      wait: ['wait', '999999'],
      attach: ['attach', '999999'],
      update: ['update', '999999', 'urgency=3'],
    };
    for (const [name, args] of Object.entries(cases)) {
      void test(`${name}: an error naming the id and a non-zero status`, async () => {
        const r = await inst.fractal(args);
        const why = failedCleanly(r, /999999/);
        assert.equal(why, undefined, why);
        assert.equal(r.code, 1, describeResult(r));
      });
    }

    void test('jobs with a known and an unknown id lists the known one and exits 1', async () => {
      const id = await inst.submit(['true']);
      await inst.ok(['wait', String(id)]);
      const r = await inst.fractal(['jobs', '-n', '-o', '{id}', String(id), '999999']);
      assert.equal(r.code, 1, describeResult(r));
      assert.equal(r.stdout, `${id}\n`);
      assert.match(r.stderr, /no job 999999/);
    });
  });

  void describe('dependencies', () => {
    void test('afterany:A,B, afterany:A:B and afterok:A,afterany:B are accepted and wait for both', async () => {
      const a = await inst.submit(['--urgency=0', 'true']);
      const b = await inst.submit(['--urgency=0', 'true']);
      const forms = [`afterany:${a},${b}`, `afterany:${a}:${b}`, `afterok:${a},afterany:${b}`];
      const ids: number[] = [];
      for (const form of forms) ids.push(await inst.submit([`--dependency=${form}`, 'true']));
      const expected = [[`afterany=${a}`, `afterany=${b}`], [`afterany=${a}`, `afterany=${b}`], [`afterok=${a}`, `afterany=${b}`]];
      for (const [i, id] of ids.entries()) {
        const j = await inst.waitState(id, ['DEPEND']);
        assert.deepEqual(j.dependencies, expected[i], `--dependency=${forms[i]}`);
      }
      await inst.ok(['update', String(a), 'urgency=16']);
      await inst.ok(['wait', String(a)]);
      assert.deepEqual((await inst.job(ids[0]!)).dependencies, [`afterany=${b}`], 'one of two met: still waiting');
      await inst.ok(['cancel', String(b)]);
      const w0 = await inst.fractal(['wait', String(ids[0])]);
      const w1 = await inst.fractal(['wait', String(ids[1])]);
      const w2 = await inst.fractal(['wait', String(ids[2])]);
      assert.deepEqual([w0.code, w1.code, w2.code], [0, 0, 0], [w0, w1, w2].map(describeResult).join('\n'));
      await inst.fractal(['wait', '--all']); // reap the canceled b
    });
  });

  void describe('bulk cancel', () => {
    void test('cancel --all of 3000 pending jobs cancels each exactly once; queue status shows none left', async () => {
      const blocker = await inst.submit(['-n2', 'sleep', '300']);
      await inst.waitStarted(blocker);
      const r = await inst.ok(['submit', '--cc=1-3000', '--quiet', 'true']);
      assert.equal(r.stdout, '');
      const st = await inst.ok(['queue', 'status']);
      assert.match(st.stdout, /^3000 pending, 1 running$/m);
      const c = await inst.fractal(['cancel', '--all'], { timeoutMs: 120000 });
      assert.equal(c.code, 0, describeResult(c));
      assert.match(c.stderr, /canceled 3001 job\(s\)/);
      const w = await inst.fractal(['wait', '--all'], { timeoutMs: 120000 });
      assert.equal(w.code, 1);
      assert.match(w.stderr, /3001 job\(s\) failed/);
      assert.match(w.stderr, /\.\.\. and 2001 more/);
      const after = await inst.ok(['queue', 'status']);
      assert.match(after.stdout, /^0 pending, 0 running$/m);
      const results = (await inst.jobs(['-a'])).filter((j) => j.id >= blocker);
      assert.equal(results.length, 3001);
      assert.equal(results.filter((j) => j.result === 'CANCELED').length, 3001);
    });
  });

  void describe('options', () => {
    const hints: Array<[string[], RegExp]> = [
      [['submit', '--array=1-3', 'true'], /unknown option '--array=1-3'\nFractal's spelling of --array: --cc=IDSET/],
      [['submit', '--hold', 'true'], /Fractal's spelling of --hold: --urgency=0/],
      [['run', '--partition', 'debug', 'true'], /Fractal's spelling of --partition: --queue/],
      [['submit', '--time', '10', 'true'], /Fractal's spelling of --time: -t\/--time-limit/],
      [['submit', '--cpus-per-task=2', 'true'], /Fractal's spelling of --cpus-per-task: -c\/--cores-per-task/],
      [['submit', '--ntaks', '2', 'true'], /Did you mean --ntasks\?/],
    ];
    for (const [args, re] of hints) {
      void test(`${args.slice(0, 2).join(' ')}: the error names what to type`, async () => {
        const r = await inst.fractal(args);
        const why = failedCleanly(r, re);
        assert.equal(why, undefined, why);
      });
    }

    void test('--cc=1-2000000 is refused before anything is submitted', async () => {
      const before = (await inst.jobs(['-a'])).length;
      const r = await inst.fractal(['submit', '--cc=1-2000000', 'true']);
      const why = failedCleanly(r, /--cc "1-2000000" asks for 2000000 jobs; at most 100000/);
      assert.equal(why, undefined, why);
      assert.equal((await inst.jobs(['-a'])).length, before);
    });
  });
});

void describe('queued-job limit', () => {
  let small: Instance;
  before(async () => {
    small = await Instance.start({ size: 1, coresPerRank: 1, extraArgs: ['-o', 'job-manager.max-jobs=4'] });
  });
  after(async () => {
    await small.destroy();
  });

  void test('-o job-manager.max-jobs=4: the 5th active job is refused with the limit named; room returns after cancel', async () => {
    const held = await small.submitMany(['--cc=1-3', '--urgency=0', 'true']);
    assert.equal(held.length, 3);
    const over = await small.fractal(['submit', '--cc=1-2', '--urgency=0', 'true']);
    const why = failedCleanly(over, /too many jobs: the instance has 3 active job\(s\) and allows 4 \(job-manager.max-jobs\)/);
    assert.equal(why, undefined, why);
    assert.equal((await small.jobs(['-a'])).length, 3, 'refused whole: nothing of it was queued');
    await small.submit(['--urgency=0', 'true']);
    const fifth = await small.fractal(['submit', 'true']);
    assert.equal(failedCleanly(fifth, /max-jobs/), undefined, describeResult(fifth));
    await small.ok(['cancel', '--all']);
    const id = await small.submit(['true']);
    await small.ok(['wait', String(id)]);
  });
});

void describe('the README demo', () => {
  void test('examples/ensemble.sh prints "4 nodes, 8 cores" for a 4-node, 8-core instance', async () => {
    const r = await run(process.execPath, [FRACTAL_BIN, 'start', '--test-size=4', '--cores-per-rank=2', '--', 'examples/ensemble.sh', '--instance'], { cwd: ROOT, timeoutMs: 120000 });
    assert.equal(r.code, 0, describeResult(r));
    assert.equal(r.stdout, '4 nodes, 8 cores\n');
  });
});
