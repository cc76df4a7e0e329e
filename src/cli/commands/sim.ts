/**
 * `fractal sim`: replay an SWF trace through a scheduling policy with a
 * virtual clock and report wait time, bounded slowdown, utilization and
 * makespan; `--out DIR` adds jobs.csv, summary.json and SVG plots. With
 * `--compat rlscheduler` it reproduces the RLScheduler (SC20) evaluation
 * setup instead. A thin layer over src/sim and src/sched.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { invalid } from '../../errors/index.js';
import { NodePool, POLICY_NAMES, createPolicy, type PolicyOptions } from '../../sched/index.js';
import {
  computeMetrics, jobsCsv, parseEstimateKind, readSwf, runRlscheduler, simulate, timelinePlots, toWorkload,
  type Distribution, type Metrics, type RlsPolicy,
} from '../../sim/index.js';

interface SimFlags {
  trace: string;
  policy: string;
  nodes?: string;
  coresPerNode: string;
  estimates: string;
  reservationDepth: string;
  queueDepth?: string;
  kill: boolean;
  seed: string;
  compat?: string;
  backfill?: boolean;
  out?: string;
  json?: boolean;
}

function posInt(v: string, flag: string, min: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) throw invalid(`${flag} must be a whole number >= ${min} (got "${v}")`);
  return n;
}

const fromCli = (cmd: Command | undefined, key: string) => cmd?.getOptionValueSource(key) === 'cli';
const group = (n: number) => Math.round(n).toLocaleString('en-US');

function progress(label: string): { tick: (done: number, total: number) => void; end: () => void } {
  const t0 = Date.now();
  let last = t0;
  let shown = false;
  return {
    tick(done, total) {
      const now = Date.now();
      if (now - last < 2000 || now - t0 < 2000) return;
      last = now;
      shown = true;
      const pct = total > 0 ? ((100 * done) / total).toFixed(0) : '100';
      const line = `${label}: ${group(done)}/${group(total)} jobs finished (${pct}%), ${((now - t0) / 1000).toFixed(0)} s`;
      process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
    },
    end() {
      if (shown && process.stderr.isTTY) process.stderr.write('\n');
    },
  };
}

export default async function run(_args: string[], opts: Record<string, unknown>, cmd?: Command): Promise<number> {
  const f = opts as unknown as SimFlags;
  if (f.compat !== undefined) return compat(f, cmd);
  if (f.backfill) throw invalid('--backfill only applies with --compat rlscheduler (easy, conservative and hybrid always backfill; fcfs never does)');
  if (!(POLICY_NAMES as readonly string[]).includes(f.policy)) {
    throw invalid(`unknown --policy "${f.policy}": use one of ${POLICY_NAMES.join(', ')} (sjf exists only with --compat rlscheduler)`);
  }
  const estimates = parseEstimateKind(f.estimates);
  const coresPerNode = posInt(f.coresPerNode, '--cores-per-node', 1);
  const nodesFlag = f.nodes !== undefined ? posInt(f.nodes, '--nodes', 1) : undefined;
  const popts: PolicyOptions = {};
  if (fromCli(cmd, 'reservationDepth') && f.policy !== 'hybrid') throw invalid('--reservation-depth only applies to --policy hybrid');
  if (f.policy === 'hybrid') popts.reservationDepth = posInt(f.reservationDepth, '--reservation-depth', 0);
  if (f.queueDepth !== undefined) popts.queueDepth = posInt(f.queueDepth, '--queue-depth', 1);
  const seed = posInt(f.seed, '--seed', 0);
  const policy = createPolicy(f.policy, popts);

  const t0 = Date.now();
  const trace = await readSwf(f.trace);
  const wl = toWorkload(trace, { estimates });
  const nodes = nodesFlag ?? Math.ceil(wl.maxProcs / coresPerNode);
  const pool = new NodePool({ nodes, coresPerNode });
  const jobs = wl.jobs.filter((j) => pool.infeasible(j) === undefined);
  if (jobs.length < wl.jobs.length) wl.dropped.set(`larger than the machine (${pool.capacity} cores)`, wl.jobs.length - jobs.length);
  for (const [why, count] of wl.dropped) process.stderr.write(`sim: dropped ${group(count)} jobs: ${why}\n`);
  if (jobs.length === 0) throw invalid(`${trace.name} has no job that can run on ${pool.description}: check the trace and --nodes/--cores-per-node`);
  const tRead = Date.now();

  const bar = progress('sim');
  const result = simulate(jobs, { policy, pool, onProgress: bar.tick, kill: f.kill !== false, seed });
  bar.end();
  const tSim = Date.now();
  const m = computeMetrics(result);
  process.stderr.write(`sim: ${group(jobs.length)} jobs, ${group(result.cycles)} cycles: read ${((tRead - t0) / 1000).toFixed(2)} s, simulated ${((tSim - tRead) / 1000).toFixed(2)} s\n`);

  const summary = {
    trace: trace.name,
    dropped: Object.fromEntries(wl.dropped),
    machine: { nodes, coresPerNode, cores: pool.capacity, from: nodesFlag !== undefined ? '--nodes' : wl.maxProcsFrom },
    policy: policy.name,
    ...(f.policy === 'hybrid' ? { reservationDepth: popts.reservationDepth } : {}),
    estimates,
    ...m,
    cycles: result.cycles,
  };
  if (f.out !== undefined) {
    const dir = f.out;
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'jobs.csv'), jobsCsv(result));
      writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
      const plots = timelinePlots(result.timeline, pool.capacity, `${trace.name}, ${policy.name}`);
      writeFileSync(join(dir, 'utilization.svg'), plots.utilization);
      writeFileSync(join(dir, 'queue.svg'), plots.queue);
    } catch (e) {
      throw invalid(`cannot write the results to --out "${dir}": ${(e as Error).message}`);
    }
  }
  if (f.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else process.stdout.write(report(summary.trace, jobs.length, pool, summary.machine.from, policy.name, estimates, m, result.cycles, f.out));
  return 0;
}

function fmtDist(d: Distribution, digits: number): string {
  const v = (x: number) => x.toFixed(digits);
  return `mean ${v(d.mean)}  p50 ${v(d.p50)}  p90 ${v(d.p90)}  p95 ${v(d.p95)}  p99 ${v(d.p99)}  max ${v(d.max)}`;
}

function report(name: string, n: number, pool: NodePool, from: string, policy: string, estimates: string, m: Metrics, cycles: number, out?: string): string {
  const rows: [string, string][] = [
    ['trace', `${name}: ${group(n)} jobs`],
    ['machine', `${pool.description} = ${group(pool.capacity)} cores (from ${from})`],
    ['policy', `${policy}, ${estimates} estimates, ${group(m.killed)} jobs killed at their limit`],
    ['makespan', `${group(m.makespan)} s (${(m.makespan / 86400).toFixed(2)} days)`],
    ['utilization', `${(100 * m.utilization).toFixed(2)} %`],
    ['wait (s)', fmtDist(m.wait, 0)],
    ['bsld', fmtDist(m.bsld, 2)],
    ['cycles', group(cycles)],
  ];
  if (out !== undefined) rows.push(['written', `${join(out, 'jobs.csv')}, summary.json, utilization.svg, queue.svg`]);
  return rows.map(([k, v]) => `${k.padEnd(12)} ${v}`).join('\n') + '\n';
}

async function compat(f: SimFlags, cmd?: Command): Promise<number> {
  if (f.compat !== 'rlscheduler') throw invalid(`unknown --compat "${f.compat}": the one supported setup is rlscheduler`);
  if (f.policy !== 'fcfs' && f.policy !== 'sjf') {
    throw invalid(`--compat rlscheduler needs --policy fcfs or --policy sjf${fromCli(cmd, 'policy') ? ` (got "${f.policy}")` : ''}`);
  }
  for (const [key, flag] of [['nodes', '--nodes'], ['coresPerNode', '--cores-per-node'], ['estimates', '--estimates'], ['reservationDepth', '--reservation-depth'], ['out', '--out']] as const) {
    if (fromCli(cmd, key) || (key === 'out' && f.out !== undefined)) {
      throw invalid(`${flag} does not apply with --compat rlscheduler: its machine, estimates and metric are fixed by the setup (see docs/validation.md)`);
    }
  }
  const policy: RlsPolicy = f.policy;
  const backfill = f.backfill === true;
  const trace = await readSwf(f.trace);
  const r = runRlscheduler(trace, policy, backfill);
  if (f.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return 0;
  }
  const lines = [`rlscheduler ${policy} ${backfill ? 'with' : 'without'} backfilling on ${trace.name}: mean bounded slowdown of 10 windows of 1024 jobs`];
  lines.push('window start  bsld');
  for (const w of r.windows) lines.push(`${String(w.start).padEnd(13)} ${w.bsld.toFixed(2)}`);
  lines.push(`${'mean'.padEnd(13)} ${r.mean.toFixed(2)}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
