/**
 * Running jobs: shapes (-n, -N, -c, -t), the task environment, CPU binding,
 * exit codes and signals, output files and `attach`, the listing (`jobs`),
 * `job info` and `job eventlog`, bulk submission with --cc, and `wait`.
 *
 * One instance: 2 brokers with 2 cores each.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { join } from 'node:path';
import { describeResult, FRACTAL_BIN, Instance, run } from './helpers.js';

let inst: Instance;

/** "0-2,5" → [0, 1, 2, 5]. */
function parseIds(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-');
    for (let i = Number(a); i <= Number(b ?? a); i++) out.push(i);
  }
  return out;
}

/** Lines "K=V K=V ..." → one record per line. */
function parseKv(text: string): Array<Record<string, string>> {
  return text.split('\n').filter((l) => l.includes('=')).map((l) => Object.fromEntries(l.trim().split(/\s+/).map((kv) => {
    const i = kv.indexOf('=');
    return [kv.slice(0, i), kv.slice(i + 1)];
  })));
}

void describe('jobs', () => {
  before(async () => {
    inst = await Instance.start({ size: 2, coresPerRank: 2 });
  });
  after(async () => {
    await inst.destroy();
  });

  void describe('shapes', () => {
    void test('-n4 runs four tasks, one per core across both nodes', async () => {
      const r = await inst.fractal(['run', '-n4', '--', 'sh', '-c', 'echo task-$FRACTAL_TASK_RANK nodes-$FRACTAL_JOB_NNODES']);
      assert.equal(r.code, 0, describeResult(r));
      assert.deepEqual(r.stdout.trim().split('\n').sort(), ['task-0 nodes-2', 'task-1 nodes-2', 'task-2 nodes-2', 'task-3 nodes-2']);
    });

    void test('-N2 -n2 puts one task on each node', async () => {
      const id = await inst.submit(['-N2', '-n2', '--', 'sh', '-c', 'echo node-$SLURM_NODEID']);
      const r = await inst.fractal(['attach', String(id)]);
      assert.equal(r.code, 0, describeResult(r));
      assert.deepEqual(r.stdout.trim().split('\n').sort(), ['node-0', 'node-1']);
      const j = await inst.job(id);
      assert.equal(j.nnodes, 2);
      assert.equal(j.ntasks, 2);
    });

    void test('-N1 -n2 keeps both tasks on one node', async () => {
      const r = await inst.fractal(['run', '-N1', '-n2', '--', 'sh', '-c', 'echo $FRACTAL_JOB_NNODES-$SLURM_NODEID']);
      assert.equal(r.code, 0, describeResult(r));
      assert.deepEqual(r.stdout.trim().split('\n'), ['1-0', '1-0']);
    });

    void test('-c2 allocates two cores per task', async () => {
      const id = await inst.submit(['-n1', '-c2', 'true']);
      await inst.ok(['wait', String(id)]);
      const j = await inst.job(id);
      assert.equal(j.ncores, 2);
      const R = JSON.parse((await inst.ok(['job', 'info', String(id), 'R'])).stdout) as { execution: { R_lite: Array<{ rank: string; children: { core: string } }> } };
      const cores = R.execution.R_lite.flatMap((e) => parseIds(e.children.core));
      assert.equal(cores.length, 2, `R has two cores: ${JSON.stringify(R)}`);
    });

    void test('-n3 -c2 cannot fit on 2 nodes of 2 cores: rejected at submit as unsatisfiable', async () => {
      const r = await inst.fractal(['submit', '-n3', '-c2', 'true']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /unsatisfiable/);
    });

    void test('-t sets the duration (Flux RFC 23 units)', async () => {
      const a = await inst.submit(['-t', '5m', 'true']);
      const b = await inst.submit(['-t', '1.5h', 'true']);
      const c = await inst.submit(['-t', '90', 'true']);
      await inst.ok(['wait', '--all']);
      assert.equal((await inst.job(a)).duration, 300);
      assert.equal((await inst.job(b)).duration, 5400);
      assert.equal((await inst.job(c)).duration, 90);
    });

    void test('--job-name and the default name (the command)', async () => {
      const a = await inst.submit(['--job-name', 'myjob', 'true']);
      const b = await inst.submit(['/bin/echo', 'x']);
      await inst.ok(['wait', '--all']);
      assert.equal((await inst.job(a)).name, 'myjob');
      assert.equal((await inst.job(b)).name, 'echo');
    });
  });

  void describe('environment', () => {
    void test('tasks see FRACTAL_*, SLURM_* and PMI_* variables', async () => {
      const script = 'echo "RANK=$FRACTAL_TASK_RANK JOBID=$FRACTAL_JOB_ID SIZE=$FRACTAL_JOB_SIZE NNODES=$FRACTAL_JOB_NNODES URI=$FRACTAL_URI ' +
        'SJOBID=$SLURM_JOB_ID PROCID=$SLURM_PROCID NTASKS=$SLURM_NTASKS SNNODES=$SLURM_NNODES NODELIST=$SLURM_JOB_NODELIST FNODELIST=$FRACTAL_JOB_NODELIST ' +
        'LOCALID=$SLURM_LOCALID NODEID=$SLURM_NODEID PMIRANK=$PMI_RANK PMISIZE=$PMI_SIZE FOO=$FOO PWD=$(pwd)"';
      const id = await inst.submit(['-N2', '-n4', '--env', 'FOO=bar-baz', '--', 'sh', '-c', script]);
      const r = await inst.fractal(['attach', String(id)]);
      assert.equal(r.code, 0, describeResult(r));
      const tasks = parseKv(r.stdout).sort((x, y) => Number(x['RANK']) - Number(y['RANK']));
      assert.equal(tasks.length, 4, describeResult(r));
      tasks.forEach((t, rank) => {
        const where = `task ${rank}: ${JSON.stringify(t)}`;
        assert.equal(t['RANK'], String(rank), where);
        assert.equal(t['JOBID'], String(id), where);
        assert.equal(t['SIZE'], '4', where);
        assert.equal(t['NNODES'], '2', where);
        assert.equal(t['URI'], inst.uri, where);
        assert.equal(t['SJOBID'], String(id), where);
        assert.equal(t['PROCID'], String(rank), where);
        assert.equal(t['NTASKS'], '4', where);
        assert.equal(t['SNNODES'], '2', where);
        assert.ok(t['NODELIST'] && t['NODELIST'].includes(hostname()), where);
        assert.equal(t['NODELIST'], t['FNODELIST'], where);
        assert.equal(t['PMIRANK'], String(rank), where);
        assert.equal(t['PMISIZE'], '4', where);
        assert.equal(t['FOO'], 'bar-baz', where);
        assert.equal(t['PWD'], inst.work, `${where}: runs in the submitter's directory`);
      });
      // Block distribution: ranks 0,1 on the first node, 2,3 on the second; local ids count per node.
      assert.deepEqual(tasks.map((t) => t['NODEID']), ['0', '0', '1', '1']);
      assert.deepEqual(tasks.map((t) => t['LOCALID']), ['0', '1', '0', '1']);
    });

    void test('--cwd sets the working directory', async () => {
      const r = await inst.fractal(['run', '--cwd', inst.state, 'pwd']);
      assert.equal(r.code, 0, describeResult(r));
      assert.equal(r.stdout.trim(), inst.state);
    });
  });

  void describe('CPU binding', () => {
    const ncpu = availableParallelism();
    const skip = ncpu < 2 ? 'needs a machine with at least 2 CPUs' : false;

    async function allowed(id: number): Promise<{ cpus: number[]; R: number[] }> {
      const r = await inst.fractal(['attach', String(id)]);
      assert.equal(r.code, 0, describeResult(r));
      const m = /Cpus_allowed_list:\s*(\S+)/.exec(r.stdout);
      assert.ok(m, describeResult(r));
      const R = JSON.parse((await inst.ok(['job', 'info', String(id), 'R'])).stdout) as { execution: { R_lite: Array<{ children: { core: string } }> } };
      const cores = R.execution.R_lite.flatMap((e) => parseIds(e.children.core)).map((c) => c % ncpu);
      return { cpus: parseIds(m[1]!), R: [...new Set(cores)].sort() };
    }

    void test('a 1-core task sees only its allocated core', { skip }, async () => {
      const a = await inst.submit(['-N1', '-n1', '-c1', '--', 'sh', '-c', 'grep Cpus_allowed_list /proc/self/status; sleep 1']);
      const b = await inst.submit(['-N1', '-n1', '-c1', '--', 'sh', '-c', 'grep Cpus_allowed_list /proc/self/status; sleep 1']);
      const ra = await allowed(a);
      const rb = await allowed(b);
      assert.equal(ra.cpus.length, 1, `job ${a} is bound to one CPU: ${JSON.stringify(ra)}`);
      assert.deepEqual(ra.cpus, ra.R);
      assert.equal(rb.cpus.length, 1, `job ${b} is bound to one CPU: ${JSON.stringify(rb)}`);
      assert.deepEqual(rb.cpus, rb.R);
    });

    void test('a 2-core task sees both of its cores', { skip }, async () => {
      const id = await inst.submit(['-N1', '-n1', '-c2', '--', 'grep', 'Cpus_allowed_list', '/proc/self/status']);
      const r = await allowed(id);
      assert.deepEqual(r.cpus, r.R);
      assert.equal(r.cpus.length, 2);
    });

    void test('tasks of one job on one node are bound to distinct cores', { skip }, async () => {
      const r = await inst.fractal(['run', '-N1', '-n2', '-c1', '--', 'sh', '-c', 'echo $FRACTAL_TASK_RANK $(grep Cpus_allowed_list /proc/self/status)']);
      assert.equal(r.code, 0, describeResult(r));
      const cpus = r.stdout.trim().split('\n').map((l) => parseIds(/Cpus_allowed_list:\s*(\S+)/.exec(l)?.[1] ?? ''));
      assert.equal(cpus.length, 2, describeResult(r));
      assert.ok(cpus.every((c) => c.length === 1), `each task sees one CPU: ${r.stdout}`);
      assert.notEqual(cpus[0]![0], cpus[1]![0], `the two tasks share a CPU: ${r.stdout}`);
    });

    void test('--setopt cpu-affinity=off leaves tasks unbound', { skip }, async () => {
      const own = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
      const r = await inst.fractal(['run', '-n1', '-c1', '--setopt', 'cpu-affinity=off', '--', 'grep', 'Cpus_allowed_list', '/proc/self/status']);
      assert.equal(r.code, 0, describeResult(r));
      assert.equal(/Cpus_allowed_list:\s*(\S+)/.exec(r.stdout)?.[1], own);
    });
  });

  void describe('exit codes and signals', () => {
    void test('exit 3: run exits 3, the job is FAILED with returncode 3', async () => {
      const r = await inst.fractal(['run', 'sh', '-c', 'exit 3']);
      assert.equal(r.code, 3, describeResult(r));
      const id = await inst.submit(['sh', '-c', 'exit 3']);
      const w = await inst.fractal(['wait', String(id)]);
      assert.equal(w.code, 1, describeResult(w));
      const j = await inst.job(id);
      assert.equal(j.result, 'FAILED');
      assert.equal(j.returncode, 3);
    });

    void test('kill -9 $$: 137 (128 + signal)', async () => {
      const r = await inst.fractal(['run', 'sh', '-c', 'kill -9 $$']);
      assert.equal(r.code, 137, describeResult(r));
      const id = await inst.submit(['sh', '-c', 'kill -TERM $$']);
      await inst.fractal(['wait', String(id)]);
      const j = await inst.job(id);
      assert.equal(j.result, 'FAILED');
      assert.equal(j.returncode, 143);
    });

    void test('the worst task decides the job exit code', async () => {
      const r = await inst.fractal(['run', '-n3', '--', 'sh', '-c', 'exit $((FRACTAL_TASK_RANK * 2))']);
      assert.equal(r.code, 4, describeResult(r));
    });

    void test('a command that does not exist: 127 and a message', async () => {
      const r = await inst.fractal(['run', '/nonexistent/command']);
      assert.equal(r.code, 127, describeResult(r));
      assert.match(r.stderr, /nonexistent\/command|not found/i);
    });

    void test('exit 0: COMPLETED with returncode 0', async () => {
      const id = await inst.submit(['true']);
      await inst.ok(['wait', String(id)]);
      const j = await inst.job(id);
      assert.equal(j.result, 'COMPLETED');
      assert.equal(j.returncode, 0);
    });
  });

  void describe('output', () => {
    void test('--output=job-{id}.out writes stdout and stderr to a file in the working directory', async () => {
      const id = await inst.submit(['--output=job-{id}.out', '--', 'sh', '-c', 'echo out-$FRACTAL_JOB_ID; echo err-line >&2']);
      await inst.ok(['wait', String(id)]);
      const text = readFileSync(join(inst.work, `job-${id}.out`), 'utf8');
      assert.match(text, new RegExp(`^out-${id}$`, 'm'));
      assert.match(text, /^err-line$/m);
    });

    void test('--output and --error to separate files', async () => {
      const id = await inst.submit(['--output=o-{id}.txt', '--error=e-{id}.txt', '-n2', '--', 'sh', '-c', 'echo out-$FRACTAL_TASK_RANK; echo err-$FRACTAL_TASK_RANK >&2']);
      await inst.ok(['wait', String(id)]);
      const out = readFileSync(join(inst.work, `o-${id}.txt`), 'utf8').trim().split('\n').sort();
      const err = readFileSync(join(inst.work, `e-${id}.txt`), 'utf8').trim().split('\n').sort();
      assert.deepEqual(out, ['out-0', 'out-1']);
      assert.deepEqual(err, ['err-0', 'err-1']);
    });

    void test('attach replays the output of a finished job and exits with its code', async () => {
      const id = await inst.submit(['-n2', '--', 'sh', '-c', 'echo line-$FRACTAL_TASK_RANK; echo err-$FRACTAL_TASK_RANK >&2; exit 4']);
      await inst.fractal(['wait', String(id)]);
      const r = await inst.fractal(['attach', String(id)]);
      assert.equal(r.code, 4, describeResult(r));
      assert.deepEqual(r.stdout.trim().split('\n').sort(), ['line-0', 'line-1']);
      assert.deepEqual(r.stderr.split('\n').filter((l) => l.startsWith('err-')).sort(), ['err-0', 'err-1']);
      // Attaching twice gives the same output.
      const r2 = await inst.fractal(['attach', String(id)]);
      assert.deepEqual(r2.stdout.trim().split('\n').sort(), ['line-0', 'line-1']);
    });

    void test('attach to a running job follows its output to the end', async () => {
      const id = await inst.submit(['sh', '-c', 'echo first; sleep 1; echo second']);
      const r = await inst.fractal(['attach', String(id)]);
      assert.equal(r.code, 0, describeResult(r));
      assert.equal(r.stdout, 'first\nsecond\n');
    });

    void test('output with many lines and no trailing newline arrives complete', async () => {
      const r = await inst.fractal(['run', 'sh', '-c', 'seq 1 2000; printf tail']);
      assert.equal(r.code, 0, describeResult(r));
      const lines = r.stdout.split('\n');
      assert.equal(lines.length, 2001);
      assert.equal(lines[1999], '2000');
      assert.equal(lines[2000], 'tail');
    });
  });

  void describe('listing and job records', () => {
    let okId: number;
    let failId: number;
    before(async () => {
      okId = await inst.submit(['--job-name', 'listed', 'sleep', '0.2']);
      failId = await inst.submit(['sh', '-c', 'exit 2']);
      await inst.fractal(['wait', String(failId)]);
      await inst.ok(['wait', String(okId)]);
    });

    void test('jobs -a --json has id, state, result, returncode and the shape', async () => {
      const jobs = await inst.jobs(['-a']);
      const ok = jobs.find((j) => j.id === okId);
      const bad = jobs.find((j) => j.id === failId);
      assert.ok(ok && bad, 'both jobs are listed');
      assert.equal(ok.state, 'INACTIVE');
      assert.equal(ok.result, 'COMPLETED');
      assert.equal(ok.returncode, 0);
      assert.equal(ok.name, 'listed');
      assert.equal(ok.ntasks, 1);
      assert.equal(ok.nnodes, 1);
      assert.equal(typeof ok.t_submit, 'number');
      assert.equal(typeof ok.t_run, 'number');
      assert.equal(typeof ok.t_inactive, 'number');
      assert.equal(bad.state, 'INACTIVE');
      assert.equal(bad.result, 'FAILED');
      assert.equal(bad.returncode, 2);
      // Without -a only active jobs are shown.
      const active = await inst.jobs([]);
      assert.ok(!active.some((j) => j.id === okId));
    });

    void test('jobs -o formats: fields, header, alignment, --no-header', async () => {
      const r = await inst.ok(['jobs', '-a', '-o', '{id} {state}']);
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines[0], 'JOBID STATE');
      assert.ok(lines.includes(`${okId} INACTIVE`), r.stdout);
      const r2 = await inst.ok(['jobs', '-a', '--no-header', '-o', '{id:>6}|{status}|{returncode}|{name:<8.3}|', String(okId), String(failId)]);
      const rows = r2.stdout.split('\n').filter(Boolean);
      assert.ok(rows.includes(`${String(okId).padStart(6)}|CD|0|lis     |`), r2.stdout);
      assert.ok(rows.includes(`${String(failId).padStart(6)}|F|2|sh      |`), r2.stdout);
      assert.equal(rows.length, 2, 'only the ids asked for');
    });

    void test('jobs --user', async () => {
      const uid = process.getuid?.() ?? 0;
      const mine = await inst.jobs(['-f', 'inactive', '-u', String(uid)]);
      assert.ok(mine.some((j) => j.id === okId));
      const nobody = await inst.jobs(['-f', 'inactive', '-u', '4242']);
      assert.deepEqual(nobody, []);
      const everyone = await inst.jobs(['-f', 'inactive', '-u', 'all']);
      assert.ok(everyone.some((j) => j.id === okId));
    });

    void test('jobs --filter and --count', async () => {
      const inactive = await inst.jobs(['-f', 'inactive']);
      assert.ok(inactive.length >= 2 && inactive.every((j) => j.state === 'INACTIVE'));
      const one = await inst.jobs(['-a', '-c', '1']);
      assert.equal(one.length, 1);
      const none = await inst.jobs(['-f', 'running']);
      assert.ok(none.every((j) => j.state === 'RUN' || j.state === 'CLEANUP'));
    });

    void test('the default table shows a row per job with its status', async () => {
      const r = await inst.ok(['jobs', '-a']);
      const header = r.stdout.split('\n')[0] ?? '';
      for (const col of ['JOBID', 'USER', 'NAME', 'ST', 'NTASKS', 'NNODES', 'TIME']) assert.ok(header.includes(col), header);
      const row = r.stdout.split('\n').find((l) => l.trim().startsWith(`${failId} `));
      assert.ok(row, r.stdout);
      assert.match(row, /\bF\b/);
    });

    void test('the TIME column is a short human duration', async () => {
      const r = await inst.ok(['jobs', '-a', '--no-header', '-o', '{runtime}']);
      const values = r.stdout.trim().split('\n');
      assert.ok(values.length >= 2);
      for (const v of values) assert.match(v, /^\d+(\.\d{1,3})?(ms|s|m|h|d)$/, `runtime "${v}"`);
    });

    void test('job info prints the record, the jobspec and R', async () => {
      const r = await inst.ok(['job', 'info', String(okId)]);
      const info = JSON.parse(r.stdout) as { job: { id: number; state: string }; jobspec: { version: number; tasks: Array<{ command: string[] }> }; R: { version: number; execution: { R_lite: unknown[] } } };
      assert.equal(info.job.id, okId);
      assert.equal(info.job.state, 'INACTIVE');
      assert.equal(info.jobspec.version, 1);
      assert.deepEqual(info.jobspec.tasks[0]?.command, ['sleep', '0.2']);
      assert.equal(info.R.version, 1);
      assert.equal(info.R.execution.R_lite.length, 1);
      const spec = JSON.parse((await inst.ok(['job', 'info', String(okId), 'jobspec'])).stdout) as { version: number };
      assert.equal(spec.version, 1);
    });

    void test('job eventlog lists the RFC 21 events in order', async () => {
      assert.deepEqual(await inst.events(okId), ['submit', 'validate', 'depend', 'priority', 'alloc', 'start', 'finish', 'release', 'free', 'clean']);
      const r = await inst.ok(['job', 'eventlog', String(okId)]);
      assert.match(r.stdout, /^\d+\.\d+ submit .*urgency=16/m);
      assert.match(r.stdout, /^\d+\.\d+ finish status=0$/m);
      const bad = await inst.ok(['job', 'eventlog', String(failId)]);
      assert.match(bad.stdout, /^\d+\.\d+ finish status=512$/m);
    });

    void test('job eventlog piped into head exits quietly', async () => {
      const r = await run('sh', ['-c', `"${process.execPath}" "${FRACTAL_BIN}" job eventlog ${okId} | head -1`], { env: inst.env(), cwd: inst.work, timeoutMs: 15000 });
      assert.equal(r.stdout.split('\n').filter(Boolean).length, 1);
      assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /, r.stderr);
    });

    void test('every job that ran has a start event, even a very short one', async () => {
      const ids = await inst.submitMany(['--cc=1-200', 'true']);
      await inst.ok(['wait', '--all']);
      const f = await inst.api();
      const missing: number[] = [];
      for (const id of ids) {
        const names: string[] = [];
        await f.watch(id, (ev) => names.push(ev.name), false);
        if (!names.includes('start')) missing.push(id);
      }
      assert.deepEqual(missing, [], `${missing.length} of ${ids.length} jobs have no start event`);
    });
  });

  void describe('bulk submission and wait', () => {
    void test('--cc=1-50 submits 50 jobs ({cc} replaced) and wait --all returns 0', async () => {
      const ids = await inst.submitMany(['--cc=1-50', '--', 'sh', '-c', 'echo cc-{cc}']);
      assert.equal(ids.length, 50);
      assert.equal(new Set(ids).size, 50, 'distinct ids');
      const w = await inst.fractal(['wait', '--all']);
      assert.equal(w.code, 0, describeResult(w));
      const jobs = await inst.jobs(ids.map(String));
      assert.equal(jobs.length, 50);
      assert.ok(jobs.every((j) => j.result === 'COMPLETED'), JSON.stringify(jobs.filter((j) => j.result !== 'COMPLETED')));
      const sorted = [...ids].sort((a, b) => a - b);
      const seventh = await inst.ok(['attach', String(sorted[6])]);
      assert.equal(seventh.stdout, 'cc-7\n');
    });

    void test('--progress shows the count and the rate', async () => {
      const r = await inst.ok(['submit', '--cc=1-20', '--quiet', '--progress', 'true']);
      assert.equal(r.stdout, '');
      assert.match(r.stderr.replaceAll('\r', '\n'), /20\/20 jobs.*jobs\/s/);
      await inst.ok(['wait', '--all']);
    });

    void test('--quiet prints no ids', async () => {
      const r = await inst.ok(['submit', '--cc=1-3', '--quiet', 'true']);
      assert.equal(r.stdout, '');
      await inst.ok(['wait', '--all']);
    });

    void test('a failing job makes wait --all and wait ID exit 1', async () => {
      const bad = await inst.submit(['sh', '-c', 'sleep 1; exit 2']);
      const good = await inst.submit(['sh', '-c', 'sleep 1']);
      const w = await inst.fractal(['wait', '--all']);
      assert.equal(w.code, 1, describeResult(w));
      assert.match(w.stderr, /1 job\(s\) failed/);
      const w1 = await inst.fractal(['wait', String(bad)]);
      assert.equal(w1.code, 1, describeResult(w1));
      assert.match(w1.stderr, new RegExp(`job ${bad}: FAILED`));
      const w2 = await inst.fractal(['wait', String(good)]);
      assert.equal(w2.code, 0, describeResult(w2));
    });

    void test('submit --wait exits non-zero when a job fails', async () => {
      const ok = await inst.fractal(['submit', '--wait', '--cc=1-3', 'sleep', '0.3']);
      if (ok.code !== 0) {
        const ids = ok.stdout.trim().split('\n');
        const details = await Promise.all(ids.map(async (id) => `${JSON.stringify(await inst.job(Number(id)))}\n${(await inst.fractal(['job', 'eventlog', id])).stdout}`));
        assert.fail(`${describeResult(ok)}\n${details.join('\n')}`);
      }
      const bad = await inst.fractal(['submit', '--wait', '--cc=1-3', '--', 'sh', '-c', 'sleep 0.3; exit $(( {cc} == 2 ))']);
      assert.equal(bad.code, 1, describeResult(bad));
    });
  });
});
