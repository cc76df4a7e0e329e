/**
 * Preserved history of nested instances (issue 12, scope 6; docs/hierarchy.md):
 * a child's jobs are asked live while it runs and read from the parent's
 * archive after it ended (`fractal jobs -a --recursive`, `fractal job info
 * 1/2`, `fractal job eventlog 1/2`), three levels end up in the root with
 * paths 1/1/1, `--level` bounds the depth, and bad paths fail cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Instance, eventNames, failedCleanly } from './helpers.js';
import { NESTED_TIMEOUT_MS, batch, childDir, pathJobs, paths, waitArchived, waitFile } from './nested.js';

void test('a child\'s jobs: live while it runs, from the archive after it ended', { timeout: 600_000 }, async () => {
  const inst = await Instance.start({ coresPerRank: 2 });
  try {
    const w = inst.work;
    const id = await batch(inst, `fractal submit --cc=1-3 true >/dev/null && fractal wait --all && touch ${w}/ready && while [ ! -e ${w}/go ]; do sleep 0.2; done`);
    assert.equal(id, 1);
    await waitFile(inst, 'ready');

    // Live: asked of the running child through job 1's URI.
    const live = JSON.parse((await inst.ok(['job', 'info', '1/2'])).stdout) as { job: { id: number; state: string; name: string; path?: string } };
    assert.equal(live.job.id, 2);
    assert.equal(live.job.state, 'INACTIVE');
    assert.equal(live.job.name, 'true');
    const liveEvents = eventNames((await inst.ok(['job', 'eventlog', '1/2'])).stdout);
    assert.deepEqual(liveEvents.filter((e) => ['submit', 'start', 'finish', 'clean'].includes(e)), ['submit', 'start', 'finish', 'clean']);
    assert.deepEqual(paths(await pathJobs(inst, ['-a', '--recursive'])), ['1', '1/1', '1/2', '1/3']);
    assert.deepEqual(paths(await pathJobs(inst, ['--recursive'])), ['1'], 'without -a only active jobs: the child\'s are done');
    assert.deepEqual(paths(await pathJobs(inst, ['-a', '--recursive', '--level', '1'])), ['1']);
    assert.ok(existsSync(join(childDir(inst, 1), 'fractal.db')), 'the running child keeps its own store');

    writeFileSync(join(w, 'go'), '');
    await inst.waitState(1, ['INACTIVE'], NESTED_TIMEOUT_MS);
    await waitArchived(inst, 1);

    // Archived: the same jobs and event logs, from the root's store.
    const all = await pathJobs(inst, ['-a', '--recursive']);
    assert.deepEqual(paths(all), ['1', '1/1', '1/2', '1/3']);
    for (const j of all.filter((x) => x.path !== '1')) {
      assert.equal(j.state, 'INACTIVE', j.path);
      assert.equal(j.result, 'COMPLETED', j.path);
      assert.equal(j.name, 'true', j.path);
    }
    const info = JSON.parse((await inst.ok(['job', 'info', '1/2'])).stdout) as { job: { id: number; path: string; result: string; returncode: number }; jobspec: { tasks: { command: string[] }[] } };
    assert.equal(info.job.path, '1/2');
    assert.equal(info.job.id, 2);
    assert.equal(info.job.result, 'COMPLETED');
    assert.equal(info.job.returncode, 0);
    assert.deepEqual(info.jobspec.tasks[0]?.command, ['true']);
    assert.deepEqual(eventNames((await inst.ok(['job', 'eventlog', '1/2'])).stdout), liveEvents);
    assert.deepEqual(paths(await pathJobs(inst, ['-a', '--recursive', '--level', '1'])), ['1']);
    assert.deepEqual(paths(await pathJobs(inst, ['-a', '--recursive', '--level', '2'])), ['1', '1/1', '1/2', '1/3']);
    assert.equal((await pathJobs(inst, ['-a', '--recursive', '--count', '2'])).length, 2);
    // The table shows paths in the JOBID column.
    const table = (await inst.ok(['jobs', '-a', '-R'])).stdout;
    assert.match(table, /^\s+1\/3 /m);

    // Bad paths and options: one clear line each.
    const bad: Array<[string[], RegExp]> = [
      [['job', 'info', '1/x'], /"1\/x" is not a job path/],
      [['job', 'info', '1/9'], /no job 1\/9: the instance job 1 ran had no job 9/],
      [['job', 'eventlog', '1/9'], /no job 1\/9/],
      [['job', 'info', '7/1'], /no job 7 in this instance/],
      [['job', 'info', '1/2/1'], /no job 1\/2\/1: no history of an instance run by job 1\/2/],
      [['jobs', '-R', '--level', '0'], /--level must be an integer >= 1/],
      [['jobs', '--level', '2'], /--level bounds the depth of --recursive/],
      [['jobs', '-R', '1'], /--recursive lists whole levels/],
    ];
    for (const [args, re] of bad) {
      const why = failedCleanly(await inst.fractal(args), re);
      assert.equal(why, undefined, `fractal ${args.join(' ')}: ${why}`);
    }
  } finally {
    await inst.destroy();
  }
});

void test('three levels are archived into the root with their paths; --level bounds the depth', { timeout: 600_000 }, async () => {
  const inst = await Instance.start({ coresPerRank: 2 });
  try {
    const w = inst.work;
    const inner = `fractal run true && fractal run false; fractal run true`;
    const id = await batch(inst, `fractal batch --output=${w}/inner-{id}.out --wrap sh -c '${inner}' >/dev/null && fractal wait --all; fractal run true`);
    await inst.waitState(id, ['INACTIVE'], NESTED_TIMEOUT_MS);
    await waitArchived(inst, id);
    const all = await pathJobs(inst, ['-a', '-R']);
    assert.deepEqual(paths(all), ['1', '1/1', '1/1/1', '1/1/2', '1/1/3', '1/2']);
    const by = new Map(all.map((j) => [j.path, j]));
    assert.equal(by.get('1/1/2')?.result, 'FAILED');
    assert.equal(by.get('1/1/2')?.returncode, 1);
    assert.equal(by.get('1/1/3')?.result, 'COMPLETED');
    assert.equal(by.get('1/1')?.result, 'COMPLETED', 'the inner instance exits with its script\'s code (0)');
    assert.deepEqual(paths(await pathJobs(inst, ['-a', '-R', '-L', '2'])), ['1', '1/1', '1/2']);
    assert.deepEqual(paths(await pathJobs(inst, ['-a', '-R', '-L', '3'])), paths(all));
    const info = JSON.parse((await inst.ok(['job', 'info', '1/1/2', 'job'])).stdout) as { path: string; name: string };
    assert.deepEqual([info.path, info.name], ['1/1/2', 'false']);
    const events = eventNames((await inst.ok(['job', 'eventlog', '1/1/2'])).stdout);
    assert.deepEqual(events.filter((e) => ['submit', 'start', 'finish', 'clean'].includes(e)), ['submit', 'start', 'finish', 'clean']);
    // Only finished jobs were asked for by -a; without it nothing is active any more.
    assert.deepEqual(await pathJobs(inst, ['-R']), []);
    const why = failedCleanly(await inst.fractal(['job', 'info', '1/1/9']), /no job 1\/1\/9: the instance job 1\/1 ran had no job 9/);
    assert.equal(why, undefined, why);
  } finally {
    await inst.destroy();
  }
});
