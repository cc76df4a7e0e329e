/**
 * The graph scheduler with real brokers and real jobs: queue policies (EASY
 * backfill vs FCFS) with the reasons and estimated starts `fractal jobs`
 * shows, node constraints (--requires) against node properties, drained
 * nodes, `fractal resource list`, the simple scheduler as an option, and
 * bad scheduler settings.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { describeResult, FRACTAL_BIN, Instance, cleanEnv, run, waitFor } from './helpers.js';

/** Ranks of a job's R (from `fractal job info`). */
async function ranksOf(inst: Instance, id: number): Promise<number[]> {
  const info = JSON.parse((await inst.ok(['job', 'info', String(id)])).stdout) as { R: { execution: { R_lite: { rank: string }[] } } };
  const out: number[] = [];
  for (const e of info.R.execution.R_lite) {
    for (const part of e.rank.split(',')) {
      const [a, b] = part.split('-').map(Number);
      for (let r = a!; r <= (b ?? a!); r++) out.push(r);
    }
  }
  return out.sort((x, y) => x - y);
}

/**
 * One rank with 2 cores. A (1 core, limit 5 min) runs; B (2 cores) must wait
 * for A; C (1 core, 1 h) fits now but would delay B; D (1 core, 30 s) fits
 * now and ends before B's reservation. A's limit is long so that A still runs
 * while the test looks, however slow the machine (the test cancels it).
 */
async function backfillScenario(inst: Instance): Promise<{ a: number; b: number; c: number; d: number }> {
  const a = await inst.submit(['-n1', '-t', '5m', 'sleep', '600']);
  await inst.waitState(a, ['RUN']);
  const b = await inst.submit(['-n2', '-t', '1m', 'true']);
  const c = await inst.submit(['-n1', '-t', '1h', 'true']);
  const d = await inst.submit(['-n1', '-t', '30s', 'true']);
  return { a, b, c, d };
}

void describe('graph scheduler: EASY backfilling', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({ coresPerRank: 2, extraArgs: ['-o', 'sched.policy=easy'] });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('a short job backfills; the blocked head shows its estimated start; a long job waits for the reservation', async () => {
    const { a, b, c, d } = await backfillScenario(inst);
    await inst.waitState(d, ['INACTIVE']);
    assert.equal((await inst.job(d)).result, 'COMPLETED');
    const jobA = await inst.job(a);
    const jobB = await waitFor('B to be annotated', async () => {
      const j = await inst.job(b);
      return j.t_estimate !== undefined ? j : undefined;
    });
    assert.equal(jobB.state, 'SCHED');
    assert.equal(jobB.reason, 'resources');
    // B starts when A's time limit runs out (A holds its core until then). A's
    // start as the scheduler saw it and as the job manager recorded it differ
    // by the messages between them (seconds on a busy machine).
    assert.ok(Math.abs(jobB.t_estimate! - (jobA.t_run! + 300)) < 10, `t_estimate ${jobB.t_estimate} vs A's end ${jobA.t_run! + 300}`);
    const jobC = await inst.job(c);
    assert.equal(jobC.state, 'SCHED');
    assert.equal(jobC.reason, 'reservation');
    const table = (await inst.ok(['jobs', '-o', '{id} {reason} {t_estimate}'])).stdout;
    assert.match(table, new RegExp(`^${b} resources \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d$`, 'm'));
    assert.match(table, new RegExp(`^${c} reservation -$`, 'm'));
    assert.match((await inst.ok(['jobs'])).stdout, /\(resources, start in \d/);
    // When A ends early, B starts at once (the reservation is only a bound), then C.
    await inst.ok(['cancel', String(a)]);
    await inst.ok(['wait', String(b)]);
    await inst.ok(['wait', String(c)]);
    assert.ok((await inst.job(b)).t_run! <= (await inst.job(c)).t_run!, 'B, the reserved job, starts before C');
  });
});

void describe('graph scheduler: FCFS and node constraints', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({
      size: 4, coresPerRank: 1,
      extraArgs: ['-o', 'sched.policy=fcfs', '-o', 'resource.property.bigmem=2-3', '-o', 'resource.property.arch=zen4@0'],
    });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('fcfs: nothing passes the blocked head; the others wait for priority', async () => {
    // Runs until canceled below (a limit far beyond the test's length).
    const a = await inst.submit(['-N3', '-t', '5m', 'sleep', '600']);
    await inst.waitState(a, ['RUN']);
    const b = await inst.submit(['-N2', 'true']);
    const d = await inst.submit(['-n1', '-t', '30s', 'true']);
    const jobD = await waitFor('D to be annotated', async () => {
      const j = await inst.job(d);
      return j.reason === 'priority' ? j : undefined;
    });
    assert.equal(jobD.state, 'SCHED', 'D would fit, but FCFS does not backfill');
    assert.equal((await inst.job(b)).reason, 'resources');
    await inst.ok(['cancel', String(a)]);
    await inst.ok(['wait', String(b)]);
    await inst.ok(['wait', String(d)]);
  });

  void test('--requires places jobs on nodes with the property; valued properties match NAME=VALUE', async () => {
    const id = await inst.submit(['-N2', '--requires', 'bigmem', 'true']);
    await inst.ok(['wait', String(id)]);
    assert.deepEqual(await ranksOf(inst, id), [2, 3]);
    const z = await inst.submit(['-N1', '--requires', 'arch=zen4', 'true']);
    await inst.ok(['wait', String(z)]);
    assert.deepEqual(await ranksOf(inst, z), [0]);
    const host = await inst.submit(['-n1', '--requires', '-bigmem & -arch=zen4', 'true']);
    await inst.ok(['wait', String(host)]);
    assert.ok([1].includes((await ranksOf(inst, host))[0]!), 'neither bigmem nor zen4: rank 1');
  });

  void test('a constraint no node can meet is refused at submit, saying why', async () => {
    const r = await inst.fractal(['submit', '-N3', '--requires', 'bigmem', 'true']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unsatisfiable request/);
    assert.match(r.stderr, /constraints/);
    const bad = await inst.fractal(['submit', '--requires', '(bigmem', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /missing "\)"/);
  });

  void test('a drained node is not used until undrained; resource list shows types and properties', async () => {
    await inst.ok(['resource', 'drain', '3', 'maintenance']);
    const id = await inst.submit(['-N2', '--requires', 'bigmem', 'true']);
    await waitFor('the job to wait for resources', async () => (await inst.job(id)).reason === 'resources');
    const list = (await inst.ok(['resource', 'list'])).stdout;
    assert.match(list, /^\s+drained\s+1\s+1/m);
    assert.match(list, /^\s+core\s+4\s+3\s+0\s+1\s+0$/m);
    assert.match(list, /^\s+bigmem 2-3$/m);
    assert.match(list, /^\s*arch=zen4 0$/m);
    await inst.ok(['resource', 'undrain', '3']);
    await inst.ok(['wait', String(id)]);
    assert.deepEqual(await ranksOf(inst, id), [2, 3]);
  });
});

void describe('scheduler choice and settings', () => {
  void test('-o sched=simple runs jobs and refuses constraints with a pointer to the graph scheduler', async () => {
    const inst = await Instance.start({ coresPerRank: 2, extraArgs: ['-o', 'sched=simple'] });
    try {
      const id = await inst.submit(['-n2', 'true']);
      await inst.ok(['wait', String(id)]);
      const r = await inst.fractal(['submit', '--requires', 'bigmem', 'true']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /simple scheduler.*-o sched=graph/);
    } finally {
      await inst.destroy();
    }
  });

  for (const [attr, message] of [
    ['sched=fancy', /use one of graph, simple/],
    ['sched.policy=bogus', /unknown scheduling policy "bogus"/],
    ['sched.match=random', /use one of first, low-id/],
    ['sched.queue-depth=0', /queue depth must be a whole number >= 1/],
    ['resource.property.=0', /property names are/],
    ['resource.property.bigmem=two', /give the ranks that have it as an idset/],
  ] as const) {
    void test(`start -o ${attr} fails with a clear message`, async () => {
      const r = await run(process.execPath, [FRACTAL_BIN, 'start', '-o', attr, 'true'], { env: cleanEnv() });
      assert.notEqual(r.code, 0, describeResult(r));
      assert.match(r.stderr, message, describeResult(r));
    });
  }
});

void describe('named queues (RFC 33)', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({
      size: 3, coresPerRank: 1,
      extraArgs: ['-o', 'queues=debug,batch', '-o', 'queue.debug.ranks=0', '-o', 'queue.debug.max-duration=1m', '-o', 'queue.debug.policy=fcfs',
        '-o', 'queue.batch.ranks=1-2', '-o', 'queue.batch.policy=easy', '-o', 'queue.batch.max-nodes=2', '-o', 'queue.default=batch'],
    });
  });
  after(async () => {
    await inst.destroy();
  });

  void test('each queue has its own policy, ranks and limits; jobs go to the default queue unless they name one', async () => {
    const list = (await inst.ok(['queue', 'list'])).stdout;
    assert.match(list, /^debug\s+fcfs\s+0\s+1\.0m\s+-\s+0\s+0$/m);
    assert.match(list, /^batch\*\s+easy\s+1-2\s+-\s+2\s+0\s+0$/m);
    const d = await inst.submit(['--queue', 'debug', '-t', '30s', 'true']);
    const b = await inst.submit(['-N2', 'true']);
    await inst.ok(['wait', String(d)]);
    await inst.ok(['wait', String(b)]);
    const ranks = async (id: number) => (JSON.parse((await inst.ok(['job', 'info', String(id)])).stdout) as { R: { execution: { R_lite: { rank: string }[] } } }).R.execution.R_lite.map((e) => e.rank).join(',');
    assert.equal(await ranks(d), '0');
    assert.equal(await ranks(b), '1-2');
    for (const [args, message] of [
      [['submit', '--queue', 'debug', 'true'], /queue debug runs jobs of at most 1m; give a time limit within it/],
      [['submit', '--queue', 'debug', '-N2', '-t', '1m', 'true'], /asks for 2 nodes but queue debug has 1/],
      [['submit', '-N3', 'true'], /queue batch runs jobs of at most 2 node\(s\)/],
      [['submit', '--queue', 'nope', 'true'], /no queue "nope"; the queues are debug, batch/],
    ] as const) {
      const r = await inst.fractal([...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, message);
    }
  });

  void test('queue settings that cannot work stop the start with a clear message', async () => {
    for (const [attrs, message] of [
      [['-o', 'queue.x.policy=easy'], /no queue "x"; list the queues first with -o queues=x/],
      [['-o', 'queues=a', '-o', 'queue.a.ranks=5'], /queue\.a\.ranks=5: the instance has ranks 0-0/],
      [['-o', 'queues=a', '-o', 'queue.default=b'], /queue\.default=b: no such queue/],
    ] as const) {
      const r = await run(process.execPath, [FRACTAL_BIN, 'start', ...attrs, 'true'], { env: cleanEnv() });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
    }
  });
});
