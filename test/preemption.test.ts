/**
 * QOS levels and preemption with a real broker and real processes: a job of
 * a QOS that may preempt others stops running jobs of those levels, which
 * are requeued (and run again later) or ended, and the event log names the
 * preemptor. Also the QOS factor of multifactor priority, and bad QOS input.
 *
 * One rank with two cores.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Instance } from './helpers.js';

void describe('QOS and preemption', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({ coresPerRank: 2, extraArgs: ['-o', 'priority=multifactor', '-o', 'priority.weight.fairshare=0', '-o', 'priority.weight.age=0'] });
    await inst.ok(['qos', 'add', 'standby']);
    await inst.ok(['qos', 'add', 'scavenger', '--preempt-mode', 'cancel']);
    await inst.ok(['qos', 'add', 'urgent', '--priority', '100', '--preempt', 'standby,scavenger']);
  });
  after(async () => {
    await inst.destroy();
  });

  void test('an urgent job preempts: the standby job is requeued and runs again, the scavenger job ends as PREEMPTED', async () => {
    // Runs until the test ends it: its second run must still be running when the test looks, however slow the machine.
    const standby = await inst.submit(['-q', 'standby', 'sh', '-c', 'echo run; while :; do sleep 0.1; done']);
    const scavenger = await inst.submit(['-q', 'scavenger', 'sh', '-c', 'while :; do sleep 0.1; done']);
    await inst.waitStarted(standby);
    await inst.waitStarted(scavenger);
    const urgent = await inst.submit(['-q', 'urgent', '-n', '2', '-t', '5m', 'sleep', '1']);
    await inst.ok(['wait', String(urgent)]);
    assert.equal((await inst.job(urgent)).result, 'COMPLETED');

    const sc = await inst.job(scavenger);
    assert.equal(sc.result, 'PREEMPTED');
    assert.equal(sc.exception?.note, `preempted by job ${urgent}`);

    // The standby job went back to the queue and started again after the urgent one.
    await inst.waitState(standby, ['RUN']);
    const log = (await inst.ok(['job', 'eventlog', String(standby)])).stdout;
    assert.match(log, new RegExp(`exception type=preempt severity=0 userid=0 note=preempted by job ${urgent}; requeued preemptor=${urgent} requeue=true`));
    const names = log.trim().split('\n').map((l) => l.split(/\s+/)[1]);
    assert.deepEqual(names.slice(names.indexOf('exception')), ['exception', 'finish', 'release', 'free', 'requeue', 'priority', 'alloc', 'start']);
    assert.ok((await inst.job(standby)).t_run! >= (await inst.job(urgent)).t_run!, 'the requeued job restarted after the preemptor started');
    // The second run is a run like any other: cancel stops it (it would never end by itself).
    await inst.ok(['cancel', String(standby)]);
    assert.equal((await inst.waitState(standby, ['INACTIVE'])).result, 'CANCELED');
  });

  void test('the QOS priority raises a job in multifactor priority', async () => {
    const plain = await inst.submit(['--urgency', '0', 'true']);
    const boosted = await inst.submit(['--urgency', '0', '-q', 'urgent', 'true']);
    for (const id of [plain, boosted]) await inst.ok(['update', String(id), 'urgency=16']);
    await inst.ok(['wait', String(plain)]);
    await inst.ok(['wait', String(boosted)]);
    const [p, b] = [await inst.job(plain), await inst.job(boosted)];
    // Weights: QOS 10000 x (100/100) on top of the same urgency and size terms.
    assert.equal(b.priority - p.priority, 10000);
  });

  void test('QOS mistakes are refused with what to do', async () => {
    for (const [args, message] of [
      [['submit', '-q', 'nosuch', 'true'], /no QOS "nosuch"; the instance has urgent, scavenger, standby/],
      [['qos', 'add', 'urgent'], /exists/],
      [['qos', 'add', 'x', '--preempt', 'ghost'], /no QOS "ghost" to preempt/],
      [['qos', 'add', 'y', '--preempt-mode', 'suspend'], /preempt mode must be requeue or cancel/],
      [['qos', 'modify', 'urgent', '--preempt', 'urgent'], /cannot preempt itself/],
      [['qos', 'delete', 'standby'], /QOS urgent may preempt "standby"; change them first/],
      [['qos', 'add', 'z', '--priority', 'high'], /--priority must be a number/],
    ] as const) {
      const r = await inst.fractal([...args]);
      assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
      assert.match(r.stderr, message, args.join(' '));
    }
  });
});
