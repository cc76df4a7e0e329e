/**
 * `fractal pstree` and `fractal top` on real nested instances, three levels:
 *
 *   .      2 brokers x 2 cores: job 1 `true` (done), job 2 a batch instance
 *          (1 node, 2 cores), job 3 `sleep` whose recorded URI leads nowhere
 *          (an instance that has just ended)
 *   2      job 1 `true` (done), job 2 a batch instance (1 core), job 3
 *          `sleep` (running), job 4 `sleep -n2` (pending: no room)
 *   2/2    job 1 `true` (done), job 2 `sleep` (running)
 *
 * The tests wait for these states (generous bounds: nested instances start
 * slowly on a loaded machine), then assert exact lines and counts.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { spawn } from 'node:child_process';
import { describeResult, FRACTAL_BIN, Instance, waitFor } from './helpers.js';

interface Tree {
  path: string;
  uri: string;
  nodes?: number;
  cores?: number;
  gpus?: number;
  jobs?: { run: number; pending: number; done: number };
  error?: string;
  children: Tree[];
}

/** Path, size and counts of each node: what the tests compare. */
function shape(t: Tree): unknown {
  return t.error !== undefined
    ? { path: t.path, error: t.error, children: t.children.map(shape) }
    : { path: t.path, nodes: t.nodes, cores: t.cores, jobs: t.jobs, children: t.children.map(shape) };
}

const EXPECTED = {
  path: '.', nodes: 2, cores: 4, jobs: { run: 2, pending: 0, done: 1 }, children: [
    {
      path: '2', nodes: 1, cores: 2, jobs: { run: 2, pending: 1, done: 1 }, children: [
        { path: '2/2', nodes: 1, cores: 1, jobs: { run: 1, pending: 0, done: 1 }, children: [] },
      ],
    },
    { path: '3', error: 'not answering (it may have just ended)', children: [] },
  ],
};

const GRANDCHILD = "fractal submit --wait true && fractal submit sleep 600 && sleep 600";
const CHILD = [
  'fractal submit --wait true',
  `fractal batch -n1 -c1 --wrap sh -c '${GRANDCHILD}'`,
  'fractal submit sleep 600',
  'fractal submit -n2 sleep 600',
  'sleep 600',
].join(' && ');

void describe('pstree and top on nested instances', { timeout: 600_000 }, () => {
  let inst: Instance;

  before(async () => {
    inst = await Instance.start({ size: 2, coresPerRank: 2 });
    const done = await inst.submit(['true']);
    assert.equal(done, 1);
    await inst.waitState(1, ['INACTIVE'], 120_000);
    const r = await inst.ok(['batch', '-N1', '-n1', '-c2', '--wrap', 'sh', '-c', CHILD]);
    assert.equal(r.stdout.trim(), '2');
    // A running job whose recorded URI leads to no instance, as one that has just ended.
    const lost = await inst.submit(['sleep', '600']);
    assert.equal(lost, 3);
    await inst.waitState(3, ['RUN'], 120_000);
    const f = await inst.api();
    await f.rpc('job-manager.memo', { id: 3, memo: { uri: `local://${inst.root}/gone/local.sock` } });
    // The child and grandchild record their URIs once ready, then reach their steady states.
    await waitFor('the child to record its URI', async () => (await inst.fractal(['uri', '2'])).code === 0, 180_000, 250);
    await waitFor('the grandchild to record its URI', async () => (await inst.fractal(['uri', '2/2'])).code === 0, 180_000, 250);
    let last = '';
    await waitFor('the three levels to reach their states', async () => {
      const p = await inst.fractal(['pstree', '--json']);
      last = describeResult(p);
      if (p.code !== 0) return false;
      return isDeepStrictEqual(shape(JSON.parse(p.stdout) as Tree), EXPECTED);
    }, 180_000, 500).catch((e: Error) => { throw new Error(`${e.message}\nlast pstree --json: ${last}`); });
  });

  after(async () => {
    if (!inst) return;
    // Cancel the nested instances (their jobs go with them), then stop the instance.
    await inst.fractal(['cancel', '2', '3']).catch(() => undefined);
    await inst.waitState(2, ['INACTIVE'], 60_000).catch(() => undefined);
    await inst.destroy();
  });

  void test('pstree draws each level under its job with exact counts; a silent child is shown as such', async () => {
    const r = await inst.ok(['pstree', '--ascii']);
    assert.deepEqual(r.stdout.split('\n'), [
      '. - 2 nodes 4 cores | 2 run 0 pending 1 done',
      '|-- 2 - 1 node 2 cores | 2 run 1 pending 1 done',
      '|   `-- 2/2 - 1 node 1 core | 1 run 0 pending 1 done',
      '`-- 3 - not answering (it may have just ended)',
      '',
    ]);
    const u = await inst.ok(['pstree'], { env: { ...inst.env(), LANG: 'C.UTF-8' } });
    assert.deepEqual(u.stdout.split('\n').slice(0, 3), [
      '. ─ 2 nodes 4 cores · 2 run 0 pending 1 done',
      '├── 2 ─ 1 node 2 cores · 2 run 1 pending 1 done',
      '│   └── 2/2 ─ 1 node 1 core · 1 run 0 pending 1 done',
    ]);
    const c = await inst.ok(['pstree'], { env: { ...inst.env(), LANG: 'C', LC_ALL: undefined, LC_CTYPE: undefined } });
    assert.equal(c.stdout.split('\n')[1], '|-- 2 - 1 node 2 cores | 2 run 1 pending 1 done', 'ASCII when the locale is not UTF-8');
  });

  void test('pstree --level bounds the depth', async () => {
    assert.deepEqual((await inst.ok(['pstree', '--ascii', '--level', '1'])).stdout, '. - 2 nodes 4 cores | 2 run 0 pending 1 done\n');
    assert.deepEqual((await inst.ok(['pstree', '--ascii', '-L', '2'])).stdout.split('\n'), [
      '. - 2 nodes 4 cores | 2 run 0 pending 1 done',
      '|-- 2 - 1 node 2 cores | 2 run 1 pending 1 done',
      '`-- 3 - not answering (it may have just ended)',
      '',
    ]);
    const bad = await inst.fractal(['pstree', '--level', '0']);
    assert.equal(bad.code, 1, describeResult(bad));
    assert.match(bad.stderr, /--level must be an integer >= 1/);
  });

  void test('pstree --json gives the tree with paths, URIs, sizes and counts', async () => {
    const t = JSON.parse((await inst.ok(['pstree', '--json'])).stdout) as Tree;
    assert.deepEqual(shape(t), EXPECTED);
    assert.equal(t.uri, inst.uri);
    assert.equal(t.children[0]!.uri, (await inst.ok(['uri', '2'])).stdout.trim());
    assert.equal(t.children[0]!.children[0]!.uri, (await inst.ok(['uri', '2/2'])).stdout.trim());
    assert.equal(t.gpus, 0);
  });

  void test('pstree from a nested instance: -r before or after the command', async () => {
    const want = ['2 - 1 node 2 cores | 2 run 1 pending 1 done', '`-- 2/2 - 1 node 1 core | 1 run 0 pending 1 done', ''];
    assert.deepEqual((await inst.ok(['-r', '2', 'pstree', '--ascii'])).stdout.split('\n'), want);
    assert.deepEqual((await inst.ok(['pstree', '--ascii', '-r', '2'])).stdout.split('\n'), want);
    assert.equal((await inst.ok(['pstree', '--ascii', '-r', '2/2'])).stdout, '2/2 - 1 node 1 core | 1 run 0 pending 1 done\n');
    const none = await inst.fractal(['pstree', '-r', '1']);
    assert.equal(none.code, 1, describeResult(none));
    assert.match(none.stderr, /job 1 has no instance to talk to: it has ended/);
  });

  void test('top --once prints the header counts and the jobs, running first; -r shows the child', async () => {
    const r = await inst.ok(['top', '--once']);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, new RegExp(`^fractal top: \\. \\(${inst.uri.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)   uptime \\S+$`));
    assert.equal(lines[1], 'cores 3/4 used   gpus 0/0 used   nodes 2 up 0 down 0 drained');
    assert.equal(lines[2], 'jobs 2 run 0 pending 1 done   throughput - jobs/s');
    assert.match(lines[4]!, /JOBID USER\s+NAME\s+ST NNODES NCORES\s+RUNTIME/);
    const rows = lines.slice(5).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows.map((c) => [c[0], c[1], c[4]]), [['+', '2', 'R'], ['+', '3', 'R']], r.stdout);

    const c = await inst.ok(['top', '--once', '-r', '2']);
    const cl = c.stdout.trimEnd().split('\n');
    assert.match(cl[0]!, /^fractal top: 2 \(local:\/\/\S+\/jobs\/2\/local\.sock\)   uptime \S+$/);
    assert.equal(cl[1], 'cores 2/2 used   gpus 0/0 used   nodes 1 up 0 down 0 drained');
    assert.equal(cl[2], 'jobs 2 run 1 pending 1 done   throughput - jobs/s');
    // Running (2: the grandchild, marked +; 3), then pending (4).
    const crows = cl.slice(5).map((l) => l.replace(/^\+/, '+ ').trim().split(/\s+/));
    assert.deepEqual(crows.map((x) => x[0] === '+' ? ['+', x[1], x[4]] : ['', x[0], x[3]]), [['+', '2', 'R'], ['', '3', 'R'], ['', '4', 'S']], c.stdout);

    const g = await inst.ok(['-r', '2/2', 'top']); // stdout is not a terminal: one plain frame
    assert.equal(g.stdout.split('\n')[2], 'jobs 1 run 0 pending 1 done   throughput - jobs/s');
  });

  void test('top --iterations prints that many frames; the second has a throughput', async () => {
    const r = await inst.ok(['top', '--iterations', '2', '-d', '0.5']);
    const frames = r.stdout.trimEnd().split('\n\nfractal top: ');
    assert.equal(frames.length, 2, r.stdout);
    assert.match(frames[0]!, /throughput - jobs\/s/);
    assert.match(frames[1]!, /\njobs 2 run 0 pending 1 done   throughput 0\.0 jobs\/s\n/);
    const bad = await inst.fractal(['top', '-d', '0']);
    assert.equal(bad.code, 1, describeResult(bad));
    assert.match(bad.stderr, /-d\/--delay must be a number of seconds/);
  });
  void test('top on a terminal: Enter descends two levels, Backspace returns, a silent child is left, q restores the terminal', async () => {
    // `script` gives top a pseudo-terminal; keys are written to its stdin.
    const cmd = `${process.execPath} ${FRACTAL_BIN} top -d 0.5`;
    const p = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: inst.work, env: { ...inst.env(), LANG: 'C.UTF-8' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const exited = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
    /** Sends keys, then waits for `text` to be drawn after that point. */
    const keys = async (k: string, text: string): Promise<void> => {
      const from = out.length;
      if (k) p.stdin.write(k);
      await waitFor(`"${text}" on the screen after ${JSON.stringify(k)}`, () => out.indexOf(text, from) >= 0, 60_000, 100)
        .catch((e: Error) => { throw new Error(`${e.message}\n--- screen:\n${JSON.stringify(out.slice(-3000))}`); });
    };
    try {
      await keys('', 'jobs 2 run 0 pending 1 done');
      assert.match(out, /\x1b\[\?1049h\x1b\[\?25l/, 'alternate screen entered, cursor hidden');
      await keys('\r', 'fractal top: 2 (');
      await keys('', 'jobs 2 run 1 pending 1 done');
      await keys('\r', 'fractal top: 2/2 (');
      await keys('', 'jobs 1 run 0 pending 1 done');
      await keys('\x7f', 'fractal top: 2 (');
      await keys('\x1b', 'fractal top: . (');
      // Job 3 records a URI that leads nowhere: top stays at the top and says why.
      await keys('j\r', "job 3's instance: not answering (it may have just ended)");
      p.stdin.write('q');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('hung'), 30_000))]);
      assert.equal(code, 0, out.slice(-2000));
      assert.ok(out.trimEnd().endsWith('\x1b[?25h\x1b[?1049l'), `cursor shown and alternate screen left at the end: ${JSON.stringify(out.slice(-200))}`);
    } finally {
      p.kill('SIGKILL');
    }
  });
});

void describe('pstree and top: counts across a restart, an instance that goes away', { timeout: 300_000 }, () => {
  let inst: Instance;
  before(async () => { inst = await Instance.start({ size: 1, coresPerRank: 1 }); });
  after(async () => { if (inst) await inst.destroy(); });

  void test('the done count is the stored one after a restart', async () => {
    const ids = await inst.submitMany(['--cc', '1-3', 'true']);
    for (const id of ids) await inst.waitState(id, ['INACTIVE'], 120_000);
    assert.equal((await inst.ok(['pstree', '--ascii'])).stdout, '. - 1 node 1 core | 0 run 0 pending 3 done\n');
    await inst.ok(['shutdown']);
    await waitFor('the instance to stop', () => inst.processes().length === 0, 60_000);
    await inst.startDaemon();
    assert.equal((await inst.ok(['pstree', '--ascii'])).stdout, '. - 1 node 1 core | 0 run 0 pending 3 done\n');
  });

  void test('top on a terminal whose instance shuts down: the error is printed after the terminal is restored', async () => {
    const p = spawn('script', ['-qfec', `${process.execPath} ${FRACTAL_BIN} top -d 0.3`, '/dev/null'], { cwd: inst.work, env: inst.env(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const exited = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
    try {
      await waitFor('the first frame', () => out.includes('0 run 0 pending 3 done'), 60_000);
      await inst.ok(['shutdown']);
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('hung'), 60_000))]);
      assert.equal(code, 1, JSON.stringify(out.slice(-1000)));
      const restored = out.lastIndexOf('\x1b[?25h\x1b[?1049l');
      assert.ok(restored > 0, `terminal restored: ${JSON.stringify(out.slice(-500))}`);
      assert.match(out.slice(restored), /fractal: .+/, 'the error comes after, on the normal screen');
    } finally {
      p.kill('SIGKILL');
    }
  });
});
