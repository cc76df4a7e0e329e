/**
 * Nested instances (docs/hierarchy.md): `fractal batch` to three levels with
 * the cores of each level checked from inside it, directives, exit codes,
 * `alloc` with a command and with --bg, `uri`/`-r`/`proxy`/`connect('12/5')`,
 * a nested instance's time limit bounding its jobs, and a parent broker
 * killed (-9) and restarted while its children run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../src/api/index.js';
import { Instance, describeResult, failedCleanly, isAlive, processesMatching, waitFor } from './helpers.js';

/** "0-2,5" → [0, 1, 2, 5]. */
function cpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a!; i <= (b ?? a!); i++) out.push(i);
  }
  return out;
}

/** The NCORES column of `fractal resource list` (the instance's cores: nothing runs when it is printed). */
function coresOf(text: string, tag: string): number {
  const m = new RegExp(`^${tag} cores\\s+(\\d+)$`, 'm').exec(text);
  assert.ok(m, `no "${tag} cores" line in:\n${text}`);
  return Number(m[1]);
}

function cpusOf(text: string, tag: string): number[] {
  const m = new RegExp(`^${tag} Cpus_allowed_list:\\s*(\\S+)$`, 'm').exec(text);
  assert.ok(m, `no "${tag} Cpus_allowed_list" line in:\n${text}`);
  return cpuList(m[1]!);
}

/** The brokers of the nested instance kept in `dir`, by rank (tasks whose environment names it). */
function childBrokers(dir: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const p of processesMatching(`FRACTAL_CHILD_DIR=${dir}\0`)) {
    if (!/ start\b/.test(p.cmdline)) continue;
    let env = '';
    try { env = readFileSync(`/proc/${p.pid}/environ`, 'utf8'); } catch { continue; }
    const m = /(?:^|\0)FRACTAL_TASK_RANK=(\d+)\0/.exec(env);
    if (m) out.set(Number(m[1]), p.pid);
  }
  return out;
}

/** A level's script: its cores, the CPUs a job using all of them is bound to, then the next level (or a refused job). */
function levelScript(tag: string, cores: number, next?: { script: string; cores: number; out: string }): string {
  const lines = [
    '#!/bin/sh',
    `echo "${tag} cores $(fractal resource list | awk 'NR==2 {print $3}')"`,
    `fractal run -n1 -c${cores} grep Cpus_allowed_list /proc/self/status | sed 's/^/${tag} /'`,
  ];
  if (next) lines.push(`id=$(fractal batch -n1 -c${next.cores} --output ${next.out} ${next.script}) || exit 9`, 'fractal wait $id');
  else lines.push(`fractal submit -n1 -c${cores + 1} true 2>${tag}.refused; echo "${tag} refused rc=$?"`);
  return lines.join('\n') + '\n';
}

void describe('nested instances', () => {
  let inst: Instance;
  before(async () => {
    inst = await Instance.start({ size: 2, coresPerRank: 4 });
  });
  after(async () => {
    await inst?.destroy();
  });

  void it('batch to three levels: each level owns exactly what its parent granted and refuses more', async () => {
    writeFileSync(join(inst.work, 'L3.sh'), levelScript('L3', 1));
    writeFileSync(join(inst.work, 'L2.sh'), levelScript('L2', 2, { script: 'L3.sh', cores: 1, out: 'L3.out' }));
    writeFileSync(join(inst.work, 'L1.sh'), levelScript('L1', 3, { script: 'L2.sh', cores: 2, out: 'L2.out' }).replace('#!/bin/sh\n', '#!/bin/sh\n#FRACTAL: -n1 -c3\n'));
    const id = Number((await inst.ok(['batch', 'L1.sh'])).stdout.trim());
    const done = await inst.waitState(id, ['INACTIVE'], 180000);
    const out1 = readFileSync(join(inst.work, `fractal-${id}.out`), 'utf8');
    assert.equal(done.returncode, 0, `level 1 failed:\n${out1}\n${existsSync(join(inst.work, 'L2.out')) ? readFileSync(join(inst.work, 'L2.out'), 'utf8') : ''}`);
    assert.equal(done.ncores, 3, 'the #FRACTAL: directive gave the job 3 cores');
    const out2 = readFileSync(join(inst.work, 'L2.out'), 'utf8');
    const out3 = readFileSync(join(inst.work, 'L3.out'), 'utf8');
    assert.equal(coresOf(out1, 'L1'), 3);
    assert.equal(coresOf(out2, 'L2'), 2);
    assert.equal(coresOf(out3, 'L3'), 1);
    // The root's cores are CPUs modulo this machine's count: each level's binding lies within its parent's.
    const [c1, c2, c3] = [cpusOf(out1, 'L1'), cpusOf(out2, 'L2'), cpusOf(out3, 'L3')];
    assert.ok(c2.every((c) => c1.includes(c)), `level 2 CPUs ${c2} within level 1's ${c1}`);
    assert.ok(c3.every((c) => c2.includes(c)), `level 3 CPUs ${c3} within level 2's ${c2}`);
    assert.equal(c3.length, 1, 'a 1-core job at level 3 is bound to one CPU');
    assert.match(out3, /^L3 refused rc=1$/m);
    assert.match(readFileSync(join(inst.work, 'L3.refused'), 'utf8'), /unsatisfiable/);
  });

  void it('batch: the script\'s exit code is the job\'s, output goes to fractal-{id}.out, the command line beats directives', async () => {
    writeFileSync(join(inst.work, 'exit3.sh'), '#!/bin/sh\n#FRACTAL: -n1 -c1\n#FRACTAL: --job-name "from directive"\necho "hello from $FRACTAL_URI"\nexit 3\n');
    const id = Number((await inst.ok(['batch', '-c', '2', 'exit3.sh'])).stdout.trim());
    const j = await inst.waitState(id, ['INACTIVE'], 120000);
    assert.equal(j.returncode, 3);
    assert.equal(j.ncores, 2, 'the command line -c 2 wins over the directive -c1');
    assert.equal(j.name, 'from directive');
    assert.match(readFileSync(join(inst.work, `fractal-${id}.out`), 'utf8'), new RegExp(`hello from local://.*/jobs/${id}/local\\.sock`));
    const w = Number((await inst.ok(['batch', '--output', 'wrap-{id}.txt', '--wrap', 'sh', '-c', 'echo "wrapped $0"'])).stdout.trim());
    assert.equal((await inst.waitState(w, ['INACTIVE'], 120000)).returncode, 0);
    assert.match(readFileSync(join(inst.work, `wrap-${w}.txt`), 'utf8'), /^wrapped sh$/m);
  });

  void it('batch and uri refuse bad input with a clear message', async () => {
    writeFileSync(join(inst.work, 'noshebang.sh'), 'echo hi\n');
    writeFileSync(join(inst.work, 'baddir.sh'), '#!/bin/sh\n#FRACTAL: --frobnicate\ntrue\n');
    const cases: [string[], RegExp][] = [
      [['batch', 'noshebang.sh'], /must start with a "#!" line/],
      [['batch', 'missing.sh'], /cannot read the batch script missing\.sh: no such file/],
      [['batch', 'baddir.sh'], /#FRACTAL: directive: unknown option '--frobnicate'/],
      [['batch', '--wrap'], /--wrap needs a command/],
      [['uri', 'x/1'], /is not a job path/],
      [['uri', '999999'], /no job 999999/],
      [['-r', '999999', 'jobs'], /no job 999999/],
    ];
    for (const [args, msg] of cases) {
      const problem = failedCleanly(await inst.fractal(args), msg);
      assert.equal(problem, undefined, `fractal ${args.join(' ')}: ${problem}`);
    }
  });

  void it('alloc runs a command against a new instance and ends it; the exit code is the command\'s', async () => {
    const r = await inst.fractal(['alloc', '-n1', '-c2', 'sh', '-c', 'fractal resource list | awk \'NR==2 {print "cores", $3}\'; fractal run echo inside; exit 7'], { timeoutMs: 120000 });
    assert.equal(r.code, 7, describeResult(r));
    assert.match(r.stdout, /^cores 2$/m);
    assert.match(r.stdout, /^inside$/m);
    const jobs = await inst.jobs(['-a']);
    const alloc = jobs.find((j) => j.name === 'sh');
    assert.ok(alloc, `the alloc job is listed: ${JSON.stringify(jobs)}`);
    assert.equal(alloc.state, 'INACTIVE', 'the instance ended with the command');
  });

  void it('uri, -r, proxy and connect() reach nested instances through two levels; shutdown -r ends one', async () => {
    const a = Number((await inst.ok(['alloc', '--bg', '-n1', '-c2'])).stdout.trim());
    const uriA = (await inst.ok(['uri', String(a)])).stdout.trim();
    assert.match(uriA, new RegExp(`^local://.*/jobs/${a}/local\\.sock$`));
    assert.equal((await inst.ok(['-r', String(a), 'uri'])).stdout.trim(), uriA);
    const b = Number((await inst.ok(['-r', String(a), 'alloc', '--bg', '-n1', '-c1'])).stdout.trim());
    const uriB = (await inst.ok(['uri', `${a}/${b}`])).stdout.trim();
    assert.match(uriB, new RegExp(`/jobs/${a}/jobs/${b}/local\\.sock$`));
    const inner = Number((await inst.ok(['-r', `${a}/${b}`, 'submit', 'true'])).stdout.trim());
    const p = await inst.fractal(['proxy', `${a}/${b}`, 'sh', '-c', 'echo "$FRACTAL_URI"; fractal jobs -a -n -o "{id} {state}"']);
    assert.equal(p.code, 0, describeResult(p));
    assert.match(p.stdout, new RegExp(`^${uriB.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(p.stdout, new RegExp(`^${inner} `, 'm'));
    const f = await connect(`${a}/${b}`, { from: inst.uri });
    try {
      assert.equal(f.uri, uriB);
      assert.equal((await f.info(inner)).job.id, inner);
    } finally { f.close(); }
    // Ending the outer instance takes the inner one with it; both jobs complete.
    await inst.ok(['-r', String(a), 'shutdown']);
    const ended = await inst.waitState(a, ['INACTIVE'], 60000);
    assert.equal(ended.result, 'COMPLETED', JSON.stringify(ended));
  });

  void it('a nested instance refuses jobs that would outlive its time limit and bounds unlimited ones', async () => {
    const a = Number((await inst.ok(['alloc', '--bg', '-n1', '-c1', '-t', '10m'])).stdout.trim());
    try {
      const r = await inst.fractal(['-r', String(a), 'submit', '-t', '20m', 'true']);
      assert.equal(failedCleanly(r, /time limit \(20m\) goes past the end of this instance/), undefined);
      const ok = Number((await inst.ok(['-r', String(a), 'submit', '-t', '1m', 'true'])).stdout.trim());
      const unl = Number((await inst.ok(['-r', String(a), 'submit', '--urgency', '0', 'true'])).stdout.trim());
      const f = await connect(String(a), { from: inst.uri });
      try {
        assert.equal((await f.info(ok)).job.duration, 60);
        const d = (await f.info(unl)).job.duration;
        assert.ok(d > 0 && d <= 600, `a job without a limit gets what is left of the instance's 10m: ${d}`);
      } finally { f.close(); }
    } finally {
      await inst.fractal(['cancel', String(a)]);
    }
    await inst.waitState(a, ['INACTIVE'], 60000);
  });

  void it('a nested instance whose rank 0 dies (-9) ends: its other brokers stop and the job fails', async () => {
    const a = Number((await inst.ok(['alloc', '--bg', '-N2'])).stdout.trim());
    assert.equal((await inst.job(a)).ncores, 8, '-N2 without -n: both whole nodes, listed with all their cores');
    const brokers = () => childBrokers(join(inst.state, 'jobs', String(a)));
    const ranks = brokers();
    assert.deepEqual([...ranks.keys()].sort(), [0, 1], `one broker per node: ${JSON.stringify([...ranks])}`);
    process.kill(ranks.get(0)!, 'SIGKILL');
    const j = await inst.waitState(a, ['INACTIVE'], 60000);
    assert.equal(j.result, 'FAILED', JSON.stringify(j));
    assert.equal(j.returncode, 128 + 9);
    assert.ok(!isAlive(ranks.get(1)!), 'rank 1 was stopped with the job');
  });

  void it('the parent broker killed (-9) and restarted: children and their jobs keep running and are found again', async () => {
    const a = Number((await inst.ok(['alloc', '--bg', '-n1', '-c2'])).stdout.trim());
    const uriA = (await inst.ok(['uri', String(a)])).stdout.trim();
    const jobs = [Number((await inst.ok(['-r', String(a), 'submit', 'sleep', '300'])).stdout.trim()), Number((await inst.ok(['-r', String(a), 'submit', 'sleep', '301'])).stdout.trim())];
    const f = await connect(String(a), { from: inst.uri });
    try {
      await waitFor('the child\'s jobs to run', async () => (await f.list({ states: ['run'] })).length === 2, 60000);
    } finally { f.close(); }
    const sleepers = () => processesMatching('sleep').filter((p) => /^sleep 30[01]$/.test(p.cmdline) && processesMatching(inst.root).some((q) => q.pid === p.pid));
    const before = sleepers().map((p) => p.pid).sort();
    assert.equal(before.length, 2, 'both child jobs have a process');
    const pid = await inst.brokerPid();
    process.kill(pid, 'SIGKILL');
    await waitFor('the parent broker to die', () => !isAlive(pid), 30000);
    await inst.startDaemon();
    assert.equal((await inst.ok(['uri', String(a)])).stdout.trim(), uriA, 'the child is found again through the restarted parent');
    const listed = (await inst.ok(['-r', String(a), 'jobs', '-n', '-o', '{id} {state}'])).stdout;
    for (const id of jobs) assert.match(listed, new RegExp(`^${id} RUN$`, 'm'));
    assert.deepEqual(sleepers().map((p) => p.pid).sort(), before, 'the same processes run on');
    assert.equal((await inst.job(a)).state, 'RUN');
    await inst.ok(['cancel', String(a)]);
    await inst.waitState(a, ['INACTIVE'], 60000);
    await waitFor('the child\'s jobs to be killed with it', () => before.every((p) => !isAlive(p)), 30000);
  });
});
