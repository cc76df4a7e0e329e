/**
 * The benchmark's probe: runs as the initial program of a fresh instance
 * (`fractal start -- node probe.js SPEC`), so instance start-up is outside
 * every timed window. It drives the instance with the same CLI commands a
 * user types (`fractal submit --cc`, `fractal wait --all`, `fractal run`)
 * and the public API (`f.submit`, `broker.info`), and writes its figures
 * as JSON to the file named in the spec.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { connect, type Fractal } from '../../src/api/index.js';
import { jobspecFromCommand } from '../../src/jobspec/index.js';
import type { CpuBreakdown, LatencyResult, LatencySpec, ProbeSpec, StepResult, ThroughputResult, ThroughputSpec } from './types.js';
import { FRACTAL_BIN, machineCpu, processTree, progress, runCmd, type ProcCpu } from './util.js';

interface BrokerInfo { pid: number; rss: number; size: number }

async function rss(f: Fractal, size: number): Promise<{ rank0: number; all: number }> {
  let all = 0;
  let rank0 = NaN;
  for (let r = 0; r < size; r++) {
    const info = await f.rpc<BrokerInfo>('broker.info', {}, r);
    if (r === 0) rank0 = info.rss;
    all += info.rss;
  }
  return { rank0, all };
}

interface CpuSnap { procs: Map<number, ProcCpu>; machine: { busy: number; total: number }; t: number }

function snap(): CpuSnap {
  const procs = new Map<number, ProcCpu>();
  for (const p of processTree(process.ppid)) procs.set(p.pid, p);
  return { procs, machine: machineCpu(), t: performance.now() };
}

/** Splits the CPU used between two snapshots by process role (see CpuBreakdown). */
function breakdown(a: CpuSnap, b: CpuSnap): CpuBreakdown {
  const out = { brokers: 0, executors: 0, jobProcs: 0, cli: 0 };
  for (const p of b.procs.values()) {
    const q = a.procs.get(p.pid);
    const self = p.self - (q?.self ?? 0);
    const kids = p.children - (q?.children ?? 0);
    if (p.pid === process.pid) out.cli += kids; // the fractal submit / wait commands
    else if (/\/(broker\/main\.js|bundle\/broker\.cjs)\b/.test(p.cmdline)) { out.brokers += self; out.jobProcs += kids; }
    else if (/\/(shell\/main\.js|bundle\/shell\.cjs)\b/.test(p.cmdline)) { out.executors += self; out.jobProcs += kids; }
    else if (p.pid === process.ppid) out.cli += self; // `fractal start` itself, idle
    else out.jobProcs += self + kids; // a job process alive at the snapshot
  }
  const elapsed = (b.t - a.t) / 1000;
  const machineBusy = b.machine.busy - a.machine.busy;
  const ours = out.brokers + out.executors + out.jobProcs + out.cli;
  return { elapsed, ...out, other: Math.max(0, machineBusy - ours), machineBusy, capacity: elapsed * cpus().length };
}

async function throughput(spec: ThroughputSpec): Promise<ThroughputResult> {
  const f = await connect();
  const info = await f.rpc<BrokerInfo>('broker.info', {}, 0);
  const size = info.size;
  const idle = await rss(f, size);
  const setattr = spec.noop ? ['--setattr=exec.test.run_duration=0'] : [];
  const steps: StepResult[] = [];
  let cumulative = 0;
  for (const n of spec.steps) {
    const before = snap();
    const t0 = performance.now();
    const sub = await runCmd(FRACTAL_BIN, ['submit', `--cc=1-${n}`, '--quiet', ...setattr, 'true']);
    const t1 = performance.now();
    cumulative += n;
    progress(spec.t0EpochMs, `${spec.label}: ${n} submitted in ${((t1 - t0) / 1000).toFixed(2)} s; fractal wait --all`);
    let waiting = true;
    let wake: () => void = () => {};
    let timer: NodeJS.Timeout | undefined;
    const watcher = (async () => {
      while (waiting) {
        await new Promise<void>((r) => { wake = r; timer = setTimeout(r, 5000); });
        if (!waiting) break;
        try {
          const st = await f.rpc<{ active: number }>('job-manager.stats');
          if (waiting) progress(spec.t0EpochMs, `${spec.label}: ${cumulative - st.active}/${cumulative} inactive, ${((performance.now() - t0) / 1000).toFixed(0)} s in this step`);
        } catch { /* progress only */ }
      }
    })();
    const wait = await runCmd(FRACTAL_BIN, ['wait', '--all']);
    const t2 = performance.now();
    waiting = false;
    clearTimeout(timer);
    wake();
    const after = snap();
    const r = await rss(f, size);
    steps.push({
      jobs: n, cumulative, submitMs: t1 - t0, totalMs: t2 - t0, submitRc: sub.code, waitRc: wait.code,
      rssRank0: r.rank0, rssAllRanks: r.all, cpu: breakdown(before, after),
    });
    await watcher;
  }
  const jobs = await f.list({ states: ['inactive'] });
  const results: Record<string, number> = {};
  for (const j of jobs) results[j.result ?? 'none'] = (results[j.result ?? 'none'] ?? 0) + 1;
  f.close();
  return {
    mode: 'throughput', label: spec.label, size, noop: spec.noop, rssIdleRank0: idle.rank0, rssIdleAllRanks: idle.all,
    steps, inactive: jobs.length, notCompleted: jobs.length - (results['COMPLETED'] ?? 0), results,
  };
}

async function latency(spec: LatencySpec): Promise<LatencyResult> {
  const f = await connect();
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) environment[k] = v;
  // The jobspec `fractal submit --setattr=exec.test.run_duration=0 true` sends: the round
  // trip is ingest (validate, id, store) only; the no-op job adds no process work behind it.
  const js = jobspecFromCommand(['true'], {}, { cwd: process.cwd(), environment, exec: { test: { run_duration: 0 } } });
  for (let i = 0; i < 10; i++) await f.submit(js);
  await f.waitAll();
  const api: number[] = [];
  for (let i = 0; i < spec.apiSamples; i++) {
    const t = performance.now();
    await f.submit(js);
    api.push(performance.now() - t);
  }
  await f.waitAll();
  progress(spec.t0EpochMs, `latency: ${spec.apiSamples} API submits done; ${spec.runSamples} x fractal run true`);
  await runCmd(FRACTAL_BIN, ['run', 'true']); // warm-up, not counted
  const run: number[] = [];
  let runFailures = 0;
  for (let i = 0; i < spec.runSamples; i++) {
    const r = await runCmd(FRACTAL_BIN, ['run', 'true'], { timeoutMs: 60000 });
    if (r.code !== 0) runFailures++;
    run.push(r.ms);
  }
  const nodeFloor: number[] = [];
  for (let i = 0; i < 10; i++) nodeFloor.push((await runCmd(process.execPath, ['-e', '0'])).ms);
  f.close();
  return { mode: 'latency', api, run, runFailures, nodeFloor };
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ProbeSpec;
  const result = spec.mode === 'throughput' ? await throughput(spec) : await latency(spec);
  writeFileSync(spec.resultFile, JSON.stringify(result));
}

main().then(() => process.exit(0), (e: unknown) => {
  process.stderr.write(`bench probe: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
