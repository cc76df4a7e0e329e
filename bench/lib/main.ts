/**
 * bench/throughput: Fractal's throughput benchmark (issue 3, item 10 and the
 * Targets table). Measures on this machine, in one run: the raw
 * process-creation rate (the physical limit of real execution), Fractal's
 * end-to-end rate for N trivial jobs with real and with no-op execution, bulk
 * submit rate, API submit latency, `fractal run` latency, instance start-up,
 * broker RSS, and, when the local Slurm peer is up, Slurm's figures; Flux
 * 0.88's figures are quoted from ../shared/peers/flux/results.md. Prints one
 * aligned plain-text table on stdout; progress goes to stderr.
 *
 * Every Fractal figure comes from a fresh instance (`fractal start`), timed
 * inside it by the probe (probe.ts), so instance start-up is excluded.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FLUX, fluxRate, runSlurm, slurmStatus, srunMedian, type SlurmResult } from './peers.js';
import type { LatencyResult, ProbeResult, ProbeSpec, ThroughputResult } from './types.js';
import {
  FRACTAL_BIN, PROBE_JS, fmt, fmtMs, fmtRate, machineCpu, median, mib, percentile, positiveInt, progress, runCmd, spawnQuiet, usageError, cpuAndGit,
} from './util.js';

const PHASES = ['raw', 'real', 'memory', 'noop', 'latency', 'startup', 'slurm'] as const;
type Phase = (typeof PHASES)[number];

const USAGE = `Usage: bench/throughput [options]

Measures Fractal's job throughput on this machine (see docs/performance.md).

Options:
  --jobs N           jobs per real-execution run (default 1000; --quick: 200)
  --noop-jobs M      jobs per no-op run (default max(N, 10000); --quick: max(N, 1000))
  --sizes LIST       instance sizes (brokers) to measure, e.g. 1,4 (default 1,4)
  --only LIST        run only these phases: ${PHASES.join(',')}
                     (the raw spawn rates are always measured: they are the reference)
  --quick            small N and few samples (CI)
  --smoke            tiny sizes, seconds, no peers (Slurm): checks the benchmark
                     still runs (test/bench-smoke); its figures mean nothing
  --no-slurm         do not measure Slurm even if it is running
  --slurm-timeout S  cap of Slurm's end-to-end run, seconds (default 300)
  --samples K        API submit latency samples (default 500; --quick: 100)
  --json FILE        also write every raw figure as JSON to FILE
  -o KEY=VAL         instance attribute for every fractal start, e.g. -o sched=simple
                     (repeatable)
  -h, --help         this help

Examples:
  bench/throughput --jobs 1000
  bench/throughput --jobs 16000 --only real
  bench/throughput --only noop --noop-jobs 10000`;

interface Config {
  jobs: number;
  noopJobs: number;
  sizes: number[];
  phases: Set<Phase>;
  quick: boolean;
  slurm: boolean;
  slurmTimeout: number;
  apiSamples: number;
  runSamples: number;
  startupSamples: number;
  /** Spawns per raw measurement. */
  rawN: number;
  smoke: boolean;
  srunSamples: number;
  json: string | undefined;
  argv: string[];
}

/** Instance attributes (-o) given to every `fractal start`. */
const startAttrs: string[] = [];

const die = (msg: string): never => usageError('bench/throughput', msg);
const posInt = (v: string | undefined, name: string): number => positiveInt('bench/throughput', v, name);

function parseArgs(argv: string[]): Config {
  let jobs: number | undefined;
  let noopJobs: number | undefined;
  let sizes = [1, 4];
  let only: Phase[] | undefined;
  let quick = false;
  let smoke = false;
  let slurm = true;
  let slurmTimeout = 300;
  let apiSamples: number | undefined;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.includes('=') ? argv[i]!.split(/=(.*)/s, 2) as [string, string] : [argv[i]!, undefined];
    const val = () => inline ?? argv[++i];
    switch (flag) {
      case '--jobs': jobs = posInt(val(), '--jobs'); break;
      case '--noop-jobs': noopJobs = posInt(val(), '--noop-jobs'); break;
      case '--sizes': sizes = (val() ?? '').split(',').map((s) => posInt(s, '--sizes')); break;
      case '--only': {
        only = (val() ?? '').split(',').map((s) => s.trim()).filter(Boolean) as Phase[];
        for (const p of only) if (!PHASES.includes(p)) die(`--only: unknown phase "${p}" (phases: ${PHASES.join(', ')})`);
        break;
      }
      case '--quick': quick = true; break;
      case '--smoke': smoke = true; break;
      case '--no-slurm': slurm = false; break;
      case '--slurm-timeout': slurmTimeout = posInt(val(), '--slurm-timeout'); break;
      case '--samples': apiSamples = posInt(val(), '--samples'); break;
      case '--json': json = val(); if (!json) die('--json needs a file name'); break;
      case '-o': case '--setattr': {
        const kv = val() ?? '';
        if (!/^[\w.-]+=/.test(kv)) die(`-o needs KEY=VALUE (got "${kv}")`);
        startAttrs.push(`--setattr=${kv}`);
        break;
      }
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      default: die(`unknown option "${argv[i]}"\n${USAGE}`);
    }
  }
  if (smoke) {
    // Every phase that measures Fractal, one small instance, no peers: seconds.
    slurm = false;
    if (jobs === undefined) jobs = 10;
    if (noopJobs === undefined) noopJobs = 20;
    sizes = [1];
  }
  const n = jobs ?? (quick ? 200 : 1000);
  const phases = new Set<Phase>(only ?? PHASES);
  if (quick || smoke) phases.delete('memory');
  if (!slurm) phases.delete('slurm');
  return {
    jobs: n,
    noopJobs: noopJobs ?? Math.max(n, quick ? 1000 : 10000),
    sizes,
    phases,
    quick,
    slurm,
    slurmTimeout,
    apiSamples: apiSamples ?? (smoke ? 10 : quick ? 100 : 500),
    runSamples: smoke ? 2 : quick ? 5 : 20,
    startupSamples: smoke ? 1 : quick ? 3 : 5,
    srunSamples: quick ? 3 : 10,
    rawN: smoke ? 40 : 2000,
    smoke,
    json,
    argv,
  };
}

// ---- measurements ------------------------------------------------------------

const T0 = Date.now();
const log = (m: string) => progress(T0, m);

interface Raw { shell: number; taskset: number; nodeSeq: number; nodeConc: number; conc: number }

async function shellLoop(n: number, command: string): Promise<number> {
  const r = await runCmd('bash', ['-c', `t0=$(date +%s%N); for i in $(seq 1 ${n}); do ${command}; done; t1=$(date +%s%N); echo $((t1 - t0))`], { capture: true });
  return n / (Number(r.stdout.trim()) / 1e9);
}

async function measureRaw(N: number): Promise<Raw> {
  log(`raw: shell loop of /bin/true x ${N}`);
  const shell = await shellLoop(N, '/bin/true');
  // Fractal binds each task to its cores with taskset (two execs per job): the limit of that design.
  log(`raw: shell loop of taskset -c 0 /bin/true x ${N / 2}`);
  const taskset = await shellLoop(N / 2, 'taskset -c 0 /bin/true');
  log(`raw: node child_process.spawn of /bin/true x ${N}, sequential`);
  let t = performance.now();
  for (let i = 0; i < N; i++) await spawnQuiet('/bin/true');
  const nodeSeq = N / ((performance.now() - t) / 1000);
  const conc = 8;
  log(`raw: node child_process.spawn of /bin/true x ${N}, ${conc} at a time`);
  let next = 0;
  t = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => { while (next++ < N) await spawnQuiet('/bin/true'); }));
  const nodeConc = N / ((performance.now() - t) / 1000);
  return { shell, taskset, nodeSeq, nodeConc, conc };
}

/** Runs the probe as the initial program of a fresh instance of `size` brokers. */
type SpecIn = ProbeSpec extends infer S ? (S extends ProbeSpec ? Omit<S, 'resultFile' | 't0EpochMs'> : never) : never;

async function inInstance<R extends ProbeResult>(size: number, spec: SpecIn, timeoutMs: number): Promise<R | string> {
  const dir = mkdtempSync(join(tmpdir(), 'fractal-bench-'));
  const resultFile = join(dir, 'result.json');
  const full = { ...spec, resultFile, t0EpochMs: T0 } as ProbeSpec;
  try {
    const r = await runCmd(FRACTAL_BIN, ['start', `--test-size=${size}`, ...startAttrs, '--', process.execPath, PROBE_JS, JSON.stringify(full)], { timeoutMs });
    let out: R | undefined;
    try { out = JSON.parse(readFileSync(resultFile, 'utf8')) as R; } catch { /* no result */ }
    if (out) return out;
    return r.timedOut ? `timed out after ${timeoutMs / 1000} s` : `fractal start exited with ${r.code ?? r.signal} and no result`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Run { key: string; label: string; size: number; noop: boolean; jobs: number; result: ThroughputResult | string }

async function throughputRun(size: number, jobs: number, noop: boolean, steps = [jobs]): Promise<Run> {
  const label = `${noop ? 'no-op exec' : 'real exec'}, ${size} broker${size > 1 ? 's' : ''}, N=${jobs}`;
  log(`${label}: fractal start --test-size=${size}; submit --cc=1-${jobs} --quiet${noop ? ' --setattr=exec.test.run_duration=0' : ''} true; wait --all`);
  // Generous: assumes at least 10 jobs per second.
  const result = await inInstance<ThroughputResult>(size, { mode: 'throughput', label, steps, noop }, 120000 + jobs * 100);
  if (typeof result === 'string') log(`${label}: FAILED: ${result}`);
  return { key: `${noop ? 'noop' : 'real'}.s${size}.n${jobs}`, label, size, noop, jobs, result };
}

async function measureStartup(size: number, samples: number): Promise<{ ms: number[]; failures: number }> {
  log(`start-up: ${samples} x fractal start --test-size=${size} true`);
  const ms: number[] = [];
  let failures = 0;
  for (let i = 0; i < samples; i++) {
    const r = await runCmd(FRACTAL_BIN, ['start', `--test-size=${size}`, ...startAttrs, 'true'], { timeoutMs: 60000 });
    if (r.code === 0) ms.push(r.ms); else failures++;
  }
  return { ms, failures };
}

function machineInfo(): Record<string, string> {
  const { model, git } = cpuAndGit();
  let pkg = '?';
  try { pkg = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version; } catch { /* none */ }
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    host: hostname(),
    cpus: String(cpus().length),
    model,
    kernel: release(),
    node: process.version,
    fractal: `${pkg} (git ${git})`,
  };
}

/** Share of the machine's CPUs busy over one second (other users' work skews every figure). */
async function machineBusy(): Promise<number> {
  const a = machineCpu();
  await new Promise((r) => setTimeout(r, 1000));
  const b = machineCpu();
  return (b.busy - a.busy) / (b.total - a.total);
}

// ---- table -------------------------------------------------------------------

interface Row { figure: string; fractal: string; notes?: string; slurm?: string; flux?: string; target?: string }

function verdict(text: string, ok: boolean | undefined): string {
  return ok === undefined ? text : `${text}: ${ok ? 'ok' : 'MISSED'}`;
}

function printTable(title: string[], rows: Array<Row | string>, footer: string[]): void {
  const head: Row = { figure: 'figure', fractal: 'Fractal (this run)', notes: 'ratio / notes', slurm: 'Slurm 22.05 (this run)', flux: 'Flux 0.88 (quoted*)', target: 'target (issue 3)' };
  const cols: Array<keyof Row> = ['figure', 'fractal', 'notes', 'slurm', 'flux', 'target'];
  const all = [head, ...rows.filter((r): r is Row => typeof r !== 'string')];
  const width = cols.map((c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: Row) => cols.map((c, i) => (r[c] ?? '').padEnd(width[i]!)).join('  ').trimEnd();
  const out = [...title, '', line(head), width.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of rows) out.push(typeof r === 'string' ? r : line(r));
  out.push('', ...footer);
  process.stdout.write(out.join('\n') + '\n');
}

function rate(n: number, ms: number): number {
  return n / (ms / 1000);
}

function lastStep(r: ThroughputResult) {
  return r.steps[r.steps.length - 1]!;
}

async function main(): Promise<void> {
  const cfg = parseArgs(process.argv.slice(2));
  const has = (p: Phase) => cfg.phases.has(p);
  const machine = machineInfo();
  log(`Fractal throughput benchmark: N=${cfg.jobs} real, ${cfg.noopJobs} no-op, sizes ${cfg.sizes.join(',')}, phases ${[...cfg.phases].join(',')}`);
  const busy = await machineBusy();
  if (busy > 0.15) log(`warning: the machine is already ${(busy * 100).toFixed(0)}% busy before the benchmark starts: figures will be low`);

  const raw = await measureRaw(cfg.rawN);

  const runs: Run[] = [];
  const ref1000 = cfg.jobs > 1000 && has('real');
  if (has('real')) {
    for (const s of cfg.sizes) runs.push(await throughputRun(s, cfg.jobs, false));
    if (ref1000) for (const s of cfg.sizes) runs.push(await throughputRun(s, 1000, false));
  }
  if (has('memory') && !(has('real') && cfg.jobs === 4000 && cfg.sizes.includes(1))) runs.push(await throughputRun(1, 4000, false));
  if (has('noop')) for (const s of cfg.sizes) runs.push(await throughputRun(s, cfg.noopJobs, true));

  let lat: LatencyResult | string | undefined;
  if (has('latency')) {
    log(`latency: ${cfg.apiSamples} sequential f.submit() round trips (API), then fractal run true`);
    lat = await inInstance<LatencyResult>(1, { mode: 'latency', apiSamples: cfg.apiSamples, runSamples: cfg.runSamples }, 300000);
    if (typeof lat === 'string') log(`latency: FAILED: ${lat}`);
  }

  const startup = new Map<number, { ms: number[]; failures: number }>();
  if (has('startup')) for (const s of cfg.sizes) startup.set(s, await measureStartup(s, cfg.startupSamples));

  let slurm: SlurmResult | undefined;
  let slurmNote: string;
  if (!cfg.slurm) slurmNote = 'slurm: skipped (--no-slurm)';
  else if (!has('slurm')) slurmNote = 'slurm: not measured (phase not selected with --only)';
  else {
    const st = await slurmStatus();
    if (!st.up) slurmNote = st.why;
    else {
      const r = await runSlurm(cfg.quick ? Math.min(cfg.jobs, 200) : cfg.jobs, cfg.slurmTimeout, cfg.srunSamples, T0, st.version);
      if (typeof r === 'string') slurmNote = r;
      else {
        slurm = r;
        slurmNote = `slurm: ${r.version} (${r.nodes}), measured in this run: ${r.jobs} x sbatch --wrap=true from 4 loops until squeue -h is empty; srun -n1 true x ${r.srunMs.length}`;
      }
    }
  }
  log('done');

  // ---- rows ----
  const rows: Array<Row | string> = [];
  rows.push({ figure: `raw: shell loop of /bin/true, N=${cfg.rawN}`, fractal: `${fmtRate(raw.shell)} spawns/s`, notes: 'physical limit (bash fork+exec)' });
  rows.push({ figure: `raw: shell loop of taskset -c 0 /bin/true, N=${cfg.rawN / 2}`, fractal: `${fmtRate(raw.taskset)} spawns/s`, notes: 'cpu binding through taskset (the fallback when the affinity addon is missing)' });
  rows.push({ figure: 'raw: node spawn of /bin/true, sequential', fractal: `${fmtRate(raw.nodeSeq)} spawns/s`, notes: 'child_process.spawn, one at a time' });
  rows.push({ figure: `raw: node spawn of /bin/true, ${raw.conc} at a time`, fractal: `${fmtRate(raw.nodeConc)} spawns/s`, notes: 'child_process.spawn, concurrent' });

  const byKey = new Map(runs.map((r) => [r.key, r]));
  const okRate = (r: Run) => (typeof r.result === 'string' ? undefined : rate(lastStep(r.result).cumulative, lastStep(r.result).totalMs));
  const failNote = (r: ThroughputResult) => {
    const s = lastStep(r);
    const bad = r.notCompleted + (r.inactive === s.cumulative ? 0 : s.cumulative - r.inactive);
    const warn = bad || s.submitRc || s.waitRc ? `; WARNING: ${r.notCompleted} not COMPLETED, ${r.inactive}/${s.cumulative} inactive, submit rc ${s.submitRc}, wait rc ${s.waitRc}` : '';
    // CPU used by processes outside the instance during the timed window: another workload skewed this figure.
    const other = s.cpu.capacity > 0 ? s.cpu.other / s.cpu.capacity : 0;
    return warn + (other > 0.05 ? `; shared machine: ${(100 * other).toFixed(0)}% of CPU used by others` : '');
  };

  rows.push('');
  for (const r of runs.filter((x) => !x.noop)) {
    const sk = r.size === 1 ? 's1' : r.size === 4 ? 's4' : undefined;
    const figure = `real exec, ${r.size} broker${r.size > 1 ? 's' : ''}, N=${r.jobs} (end to end)`;
    if (typeof r.result === 'string') { rows.push({ figure, fractal: `FAILED (${r.result})` }); continue; }
    const v = okRate(r)!;
    let notes = `${(v / raw.shell).toFixed(2)}x shell loop, ${(v / raw.nodeSeq).toFixed(2)}x node spawn`;
    let target: string | undefined;
    const ref = byKey.get(`real.s${r.size}.n1000`);
    const refRate = ref ? okRate(ref) : undefined;
    if (r.jobs === 1000) target = verdict('>= 300 jobs/s', v >= 300);
    else if (refRate !== undefined) {
      notes += `, ${(v / refRate).toFixed(2)}x the N=1000 rate`;
      if (r.jobs >= 16000) target = verdict('>= 0.90x the N=1000 rate', v >= 0.9 * refRate);
    }
    const fl = sk ? fluxRate(FLUX.realExec[sk], r.jobs) : undefined;
    let slurmCell: string | undefined;
    if (slurm && r.size === 1 && r.jobs === slurm.jobs) {
      slurmCell = `${fmtRate(rate(slurm.completed, slurm.totalMs))} jobs/s${slurm.capped ? ' (capped: time limit)' : ''}`;
    }
    rows.push({
      figure, fractal: `${fmtRate(v)} jobs/s`, notes: notes + failNote(r.result), ...(slurmCell ? { slurm: slurmCell } : {}),
      ...(fl ? { flux: `${fl.rate} jobs/s${fl.n !== r.jobs ? ` (N=${fl.n})` : ''}` } : {}), ...(target ? { target } : {}),
    });
  }
  for (const r of runs.filter((x) => x.noop)) {
    const sk = r.size === 1 ? 's1' : r.size === 4 ? 's4' : undefined;
    const figure = `no-op exec, ${r.size} broker${r.size > 1 ? 's' : ''}, N=${r.jobs} (end to end)`;
    if (typeof r.result === 'string') { rows.push({ figure, fractal: `FAILED (${r.result})` }); continue; }
    const v = okRate(r)!;
    const real = byKey.get(`real.s${r.size}.n${cfg.jobs}`);
    const realRate = real ? okRate(real) : undefined;
    const fl = sk ? fluxRate(FLUX.noop[sk], r.jobs) : undefined;
    rows.push({
      figure, fractal: `${fmtRate(v)} jobs/s`,
      notes: (realRate ? `${(v / realRate).toFixed(1)}x real exec at N=${cfg.jobs}` : 'scheduler + job manager + store') + failNote(r.result),
      ...(fl ? { flux: `${fl.rate} jobs/s (N=${fl.n}, test exec)` } : {}),
      ...(r.jobs === 10000 ? { target: verdict('>= 3000 jobs/s', v >= 3000) } : {}),
    });
  }

  const okRuns = runs.filter((r): r is Run & { result: ThroughputResult } => typeof r.result !== 'string');
  if (okRuns.length || slurm) rows.push('');
  for (const r of okRuns) {
    const s = r.result.steps[0]!;
    const v = rate(s.jobs, s.submitMs);
    const slurmCell = slurm && !r.noop && r.size === 1 && r.jobs === slurm.jobs ? `${fmtRate(rate(slurm.submitted, slurm.submitMs))} jobs/s (4 sbatch loops)` : undefined;
    rows.push({
      figure: `bulk submit alone (${r.noop ? 'no-op' : 'real exec'} run, ${r.size}b, N=${s.jobs})`, fractal: `${fmtRate(v)} jobs/s`,
      notes: 'fractal submit --cc --quiet, wall time', ...(slurmCell ? { slurm: slurmCell } : {}),
      flux: `${FLUX.submitAlone.rate} jobs/s (N=${FLUX.submitAlone.n})`, target: verdict('>= 5000 jobs/s', v >= 5000),
    });
  }

  if (lat !== undefined || startup.size) rows.push('');
  if (typeof lat === 'string') rows.push({ figure: 'latency', fractal: `FAILED (${lat})` });
  else if (lat) {
    const p50 = percentile(lat.api, 50);
    rows.push({ figure: `API submit latency p50 (f.submit, ${lat.api.length} sequential)`, fractal: `${fmtMs(p50)} ms`, notes: 'no-op jobspec, round trip only', flux: `n/a (CLI: ${FLUX.cliSubmitLatencyMs} ms)`, target: verdict('< 1 ms', p50 < 1) });
    rows.push({ figure: 'API submit latency p99', fractal: `${fmtMs(percentile(lat.api, 99))} ms`, notes: `max ${fmtMs(Math.max(...lat.api))} ms, mean ${fmtMs(lat.api.reduce((a, b) => a + b, 0) / lat.api.length)} ms` });
    const runMed = median(lat.run);
    rows.push({
      figure: `fractal run true, CLI start-up incl. (median of ${lat.run.length})`, fractal: `${fmtMs(runMed)} ms`,
      notes: `min ${fmtMs(Math.min(...lat.run))}, max ${fmtMs(Math.max(...lat.run))}${lat.runFailures ? `; ${lat.runFailures} FAILED` : ''}`,
      ...(slurm && slurm.srunMs.length ? { slurm: `${fmtMs(srunMedian(slurm))} ms (srun -n1 true)` } : {}),
      flux: `${FLUX.runLatencyMs} ms`, target: verdict('< 100 ms', runMed < 100),
    });
    rows.push({ figure: 'context: node -e 0 (Node start-up floor)', fractal: `${fmtMs(median(lat.nodeFloor))} ms`, notes: 'part of every CLI command' });
  }
  for (const [s, st] of startup) {
    const m = median(st.ms);
    const limit = s === 1 ? 300 : s === 4 ? 600 : undefined;
    const fl = s === 1 ? FLUX.startupMs.s1 : s === 4 ? FLUX.startupMs.s4 : undefined;
    rows.push({
      figure: `instance start-up, ${s} broker${s > 1 ? 's' : ''} (start true, median of ${st.ms.length})`, fractal: st.ms.length ? `${fmtMs(m)} ms` : 'FAILED',
      notes: st.ms.length ? `min ${fmtMs(Math.min(...st.ms))}, max ${fmtMs(Math.max(...st.ms))}${st.failures ? `; ${st.failures} FAILED` : ''}` : '',
      ...(fl !== undefined ? { flux: `${fl} ms` } : {}), ...(limit !== undefined ? { target: verdict(`< ${limit} ms`, st.ms.length > 0 && m < limit) } : {}),
    });
  }

  if (okRuns.length) {
    rows.push('');
    const idle = okRuns.find((r) => r.size === 1) ?? okRuns[0]!;
    rows.push({ figure: `broker RSS rank 0, idle (${idle.size}b)`, fractal: `${mib(idle.result.rssIdleRank0)} MiB`, notes: 'broker.info before submitting', flux: `${FLUX.rssIdleMiB} MiB` });
    for (const r of okRuns) {
      for (const s of r.result.steps) {
        const n = s.cumulative;
        const mb = s.rssRank0 / 1e6;
        let target: string | undefined;
        if (n === 4000) target = verdict('< 100 MB', mb < 100);
        else if (n === 10000) target = verdict('< 200 MB', mb < 200);
        const flux = r.noop ? `${FLUX.rssAfter4000TestMiB} MiB (N=4000, test exec)` : `${FLUX.rssAfter4000RealMiB} MiB (N=4000)`;
        rows.push({
          figure: `broker RSS rank 0 after ${n} ${r.noop ? 'no-op' : 'real exec'} jobs (${r.size}b)`, fractal: `${mib(s.rssRank0)} MiB`,
          notes: r.size > 1 ? `all ${r.size} brokers: ${mib(s.rssAllRanks)} MiB${!r.noop ? ` (Flux: ${FLUX.rssAllRanksAfter4000RealS4MiB} at N=4000)` : ''}` : `+${mib(s.rssRank0 - r.result.rssIdleRank0)} MiB over idle`,
          ...(r.size === 1 || !r.noop ? { flux } : {}), ...(target ? { target } : {}),
        });
      }
    }
  }

  // ---- where the time went ----
  const cpuLines: string[] = [];
  if (okRuns.length) {
    cpuLines.push('Where the time went (CPU ms per job in the timed window, from /proc; "other" = the rest of the machine: kernel threads, other users):');
    const hdr = ['run', 'elapsed s', 'brokers', 'executors', 'job procs', 'CLI', 'other', 'machine busy'];
    const data = okRuns.map((r) => {
      const s = lastStep(r.result);
      const c = s.cpu;
      const per = (x: number) => fmt((x * 1000) / s.jobs, 2);
      return [r.label, fmt(c.elapsed, 2), per(c.brokers), per(c.executors), per(c.jobProcs), per(c.cli), per(c.other), `${fmt((100 * c.machineBusy) / c.capacity)}%`];
    });
    const w = hdr.map((h, i) => Math.max(h.length, ...data.map((d) => d[i]!.length)));
    const fmtLine = (cells: string[]) => '  ' + cells.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ');
    cpuLines.push(fmtLine(hdr), ...data.map(fmtLine));
  }

  const title = [
    `Fractal throughput benchmark: bench/throughput ${cfg.argv.join(' ')}`.trimEnd(),
    `${machine.date}  ${machine.host}: ${machine.cpus} CPUs (${machine.model}), Linux ${machine.kernel}, node ${machine.node}, fractal ${machine.fractal}`,
    `machine ${(busy * 100).toFixed(0)}% busy in the second before the run; every Fractal figure is from a fresh instance, start-up excluded`,
  ];
  const footer = [
    ...cpuLines,
    ...(cpuLines.length ? [''] : []),
    slurmNote,
    `* Flux 0.88.0 (sched-simple) figures are quoted from ${FLUX.source} (medians, measured earlier on this kind of machine by its bench.sh), not measured in this run.`,
    'Flux\'s no-op figures use test exec with run_duration=1 ms; its RSS after 4000 jobs is VmRSS of the rank-0 broker.',
  ];
  const headline = runs.find((r) => !r.noop && r.size === cfg.sizes[0] && r.jobs === cfg.jobs);
  const hv = headline ? okRate(headline) : undefined;
  if (headline && hv !== undefined) {
    const sl = slurm && headline.size === 1 && slurm.jobs === cfg.jobs ? `; Slurm ${fmtRate(rate(slurm.completed, slurm.totalMs))} jobs/s in this run` : '';
    footer.push(`summary: ${headline.label}: ${fmtRate(hv)} jobs/s = ${(hv / raw.shell).toFixed(2)}x this machine's shell-loop spawn rate (${fmtRate(raw.shell)}/s)${sl}`);
  }
  printTable(title, rows, footer);

  if (cfg.json) {
    writeFileSync(cfg.json, JSON.stringify({ config: { ...cfg, phases: [...cfg.phases] }, machine, busyBefore: busy, raw, runs, latency: lat, startup: Object.fromEntries(startup), slurm, slurmNote }, null, 2));
  }
  const failed = runs.some((r) => typeof r.result === 'string') || typeof lat === 'string';
  process.exitCode = failed ? 1 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/throughput: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
