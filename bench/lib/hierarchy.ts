/**
 * bench/hierarchy: throughput of an ensemble of trivial jobs through a
 * hierarchy of nested instances (issue 12, scope item 7 and its Targets).
 *
 * Each run starts a fresh root instance (`fractal start --daemon`, one
 * broker owning the machine's cores) and times, from the root's side, an
 * ensemble of N jobs run:
 *   - flat: the root runs the N jobs itself;
 *   - 2 levels: one child instance per core of the root (`fractal batch -n1
 *     -c1`), each running N/children jobs;
 *   - 3 levels: the same again inside each child (one grandchild per core of
 *     the child).
 * The time is from the first submission at the root to the end of the last
 * job (child instances' start-up and shutdown included). The jobs are
 * submitted by hierarchy-node.ts, the program of every instance of the tree.
 *
 * Also measured: peak RSS (VmHWM) of the root broker and of the leaf
 * brokers, the root broker's CPU share, nested-instance start time (submit
 * to the child's `memo` event with its URI, and `fractal run fractal start
 * true`), and optionally one million no-op jobs through 3 levels.
 * Prints one plain-text table on stdout; progress goes to stderr.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { connect, type Fractal } from '../../src/api/index.js';
import type { JobEvent } from '../../src/protocol/index.js';
import { cpuSeconds, peakRss, runNode, type NodeResult, type TreeSpec } from './hierarchy-node.js';
import { FRACTAL_BIN, fmtMs, fmtRate, machineCpu, median, mib, percentile, positiveInt, progress, runCmd, usageError, cpuAndGit } from './util.js';

const USAGE = `Usage: bench/hierarchy [options]

Throughput of an ensemble of trivial jobs run flat, through 2 and through 3
levels of nested instances, and nested-instance start time
(see docs/performance.md, "Hierarchy").

Options:
  --jobs LIST        ensemble sizes of the no-op runs (default 10000,100000)
  --real-jobs LIST   ensemble sizes of the real-execution runs (default 10000)
  --shapes LIST      flat,2,3 (default all three)
  --only LIST        noop,real,startup (default all); --million adds its run
  --million          also run 1,000,000 no-op jobs through 3 levels
  --million-jobs N   the size of that run instead (e.g. to try it smaller)
  --samples K        nested start-up samples of each kind (default 20)
  --leaf-o KEY=VAL   option of every leaf instance (repeatable), e.g.
                     --leaf-o sched=simple (default: none)
  --chunk N          jobs per submitMany request in a leaf (default 5000)
  --window N         most active jobs a leaf keeps (default 20000)
  --smoke            tiny sizes, seconds (test/bench-smoke); figures mean nothing
  --json FILE        also write every raw figure as JSON to FILE
  -h, --help         this help

Examples:
  bench/hierarchy
  bench/hierarchy --only startup
  bench/hierarchy --only noop --jobs 100000 --million`;

type Part = 'noop' | 'real' | 'startup';
type Shape = 'flat' | '2' | '3';

interface Config {
  noopJobs: number[];
  realJobs: number[];
  shapes: Shape[];
  parts: Set<Part>;
  million: boolean;
  millionJobs: number;
  samples: number;
  leafConf: string[];
  chunk: number;
  window: number;
  smoke: boolean;
  json: string | undefined;
  argv: string[];
}

const die = (msg: string): never => usageError('bench/hierarchy', msg);
const posInt = (v: string | undefined, name: string): number => positiveInt('bench/hierarchy', v, name);

function parseArgs(argv: string[]): Config {
  let noopJobs: number[] | undefined;
  let realJobs: number[] | undefined;
  let shapes: Shape[] = ['flat', '2', '3'];
  let parts: Part[] | undefined;
  let million = false;
  let millionJobs = 1_000_000;
  let samples: number | undefined;
  const leafConf: string[] = [];
  let chunk = 5000;
  let window = 20000;
  let smoke = false;
  let json: string | undefined;
  const list = (v: string | undefined, name: string) => (v ?? '').split(',').map((s) => posInt(s, name));
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.includes('=') && argv[i]!.startsWith('--') ? argv[i]!.split(/=(.*)/s, 2) as [string, string] : [argv[i]!, undefined];
    const val = () => inline ?? argv[++i];
    switch (flag) {
      case '--jobs': noopJobs = list(val(), '--jobs'); break;
      case '--real-jobs': realJobs = list(val(), '--real-jobs'); break;
      case '--shapes': {
        shapes = (val() ?? '').split(',').map((s) => s.trim()) as Shape[];
        for (const s of shapes) if (!['flat', '2', '3'].includes(s)) die(`--shapes: unknown shape "${s}" (flat, 2, 3)`);
        break;
      }
      case '--only': {
        parts = (val() ?? '').split(',').map((s) => s.trim()).filter(Boolean) as Part[];
        for (const p of parts) if (!['noop', 'real', 'startup'].includes(p)) die(`--only: unknown part "${p}" (noop, real, startup)`);
        break;
      }
      case '--million': million = true; break;
      case '--million-jobs': million = true; millionJobs = posInt(val(), '--million-jobs'); break;
      case '--samples': samples = posInt(val(), '--samples'); break;
      case '--leaf-o': {
        const kv = val() ?? '';
        if (!/^[\w.-]+=/.test(kv)) die(`--leaf-o needs KEY=VALUE (got "${kv}")`);
        leafConf.push(kv);
        break;
      }
      case '--chunk': chunk = posInt(val(), '--chunk'); break;
      case '--window': window = posInt(val(), '--window'); break;
      case '--smoke': smoke = true; break;
      case '--json': json = val(); if (!json) die('--json needs a file name'); break;
      case '-h': case '--help': process.stdout.write(USAGE + '\n'); process.exit(0); break;
      default: die(`unknown option "${argv[i]}"\n${USAGE}`);
    }
  }
  if (chunk > 100000) die('--chunk is at most 100000 (the most one submission may carry)');
  if (window < chunk) window = chunk;
  if (smoke) {
    noopJobs ??= [40];
    realJobs ??= [8];
    samples ??= 2;
  }
  return {
    noopJobs: noopJobs ?? [10000, 100000],
    realJobs: realJobs ?? [10000],
    shapes,
    parts: new Set(parts ?? ['noop', 'real', 'startup']),
    million: million && !smoke,
    millionJobs,
    samples: samples ?? 20,
    leafConf,
    chunk,
    window,
    smoke,
    json,
    argv,
  };
}

const T0 = Date.now();
const log = (m: string) => progress(T0, m);

const FANOUTS: Record<Shape, number[]> = { flat: [], '2': [cpus().length], '3': [cpus().length, 1] };

/** A fresh root instance in its own directory; `close` shuts it down and removes everything. */
interface Root { dir: string; uri: string; pid: number; f: Fractal; env: NodeJS.ProcessEnv; close: () => Promise<void> }

async function startRoot(conf: string[] = []): Promise<Root> {
  const dir = mkdtempSync(join(tmpdir(), 'fractal-hbench-'));
  // Its own FRACTAL_HOME: the daemon does not become the user's "last instance started".
  const env: NodeJS.ProcessEnv = { ...process.env, FRACTAL_HOME: join(dir, 'home') };
  delete env['FRACTAL_URI'];
  const r = await runCmd(FRACTAL_BIN, ['start', '--daemon', '--state-dir', join(dir, 'state'), ...conf.flatMap((kv) => ['-o', kv])], { capture: true, env, timeoutMs: 120000 });
  const uri = r.stdout.trim().split('\n').pop() ?? '';
  if (r.code !== 0 || !uri) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`fractal start --daemon failed (${r.code}): ${r.stderr.trim()}`);
  }
  env['FRACTAL_URI'] = uri;
  const f = await connect(uri);
  const pid = (await f.rpc<{ pid: number }>('broker.info', {}, 0)).pid;
  const close = async () => {
    f.close();
    await runCmd(FRACTAL_BIN, ['shutdown'], { env, timeoutMs: 60000 });
    // The daemon's broker exits after shutdown; wait for it so the next run starts on a quiet machine.
    for (let i = 0; i < 600 && Number.isFinite(cpuSeconds(pid)); i++) await new Promise((res) => setTimeout(res, 100));
    rmSync(dir, { recursive: true, force: true });
  };
  return { dir, uri, pid, f, env, close };
}

/** Share of the machine's CPUs busy over one second. */
async function machineBusy(): Promise<number> {
  const a = machineCpu();
  await new Promise((r) => setTimeout(r, 1000));
  const b = machineCpu();
  return (b.busy - a.busy) / (b.total - a.total);
}

interface ShapeRun {
  shape: Shape;
  fanouts: number[];
  noop: boolean;
  jobs: number;
  wallMs: number;
  rate: number;
  rootHwm: number;
  /** Largest VmHWM among the leaf brokers (the root itself when flat). */
  leafHwm: number;
  leaves: number;
  /** Root broker CPU seconds over the wall time, as a share of one core. */
  rootCpuShare: number;
  rootCpu: number;
  /** Epoch ms of the first submission at the root. */
  t0: number;
  busyBefore: number;
  ok: boolean;
  problems: string[];
  nodes: NodeResult[];
  /** Nested shapes: from the end of the ensemble until the root's archive holds every leaf job (ms), how many it holds, the root's peak RSS then. */
  archiveMs?: number;
  archived?: number;
  rootHwmArchived?: number;
}

async function shapeRun(cfg: Config, shape: Shape, jobs: number, noop: boolean): Promise<ShapeRun> {
  const fanouts = FANOUTS[shape];
  const label = `${shape === 'flat' ? 'flat' : `${shape} levels (${fanouts.join('x')})`}, ${noop ? 'no-op' : 'real true'}, N=${jobs}`;
  const busyBefore = await machineBusy();
  log(`${label}: starting the root instance (machine ${(busyBefore * 100).toFixed(0)}% busy, load ${loadavg()[0]!.toFixed(1)})`);
  const root = await startRoot();
  const resDir = join(root.dir, 'results');
  mkdirSync(resDir);
  const spec: TreeSpec = { fanouts, noop, chunk: cfg.chunk, window: cfg.window, innerConf: [], leafConf: cfg.leafConf, dir: resDir };
  const specFile = join(root.dir, 'spec.json');
  writeFileSync(specFile, JSON.stringify(spec));
  // Progress: the leaves write "done total" every 2 s.
  const timer = setInterval(() => {
    let done = 0;
    let leaves = 0;
    for (const n of readdirSync(resDir)) {
      if (!n.endsWith('.progress')) continue;
      try { done += Number(readFileSync(join(resDir, n), 'utf8').split(' ')[0]) || 0; leaves++; } catch { /* being replaced */ }
    }
    log(`${label}: ${done}/${jobs} jobs done in ${leaves} leaf instance${leaves === 1 ? '' : 's'}, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }, 10000);
  const cpu0 = cpuSeconds(root.pid);
  const t0 = Date.now();
  let top: NodeResult;
  const saved = process.env['FRACTAL_URI'];
  try {
    // The root's driver runs here, against the root; the children's programs see FRACTAL_URI of their own instance.
    process.env['FRACTAL_URI'] = root.uri;
    process.env['FRACTAL_HOME'] = root.env['FRACTAL_HOME'];
    top = await runNode(spec, specFile, 'r', 0, jobs, root.uri);
  } finally {
    clearInterval(timer);
    if (saved === undefined) delete process.env['FRACTAL_URI']; else process.env['FRACTAL_URI'] = saved;
  }
  const wallMs = Date.now() - t0;
  const cpu1 = cpuSeconds(root.pid);
  const rootHwm = peakRss(root.pid);
  const nodes: NodeResult[] = [];
  for (const n of readdirSync(resDir)) if (n.endsWith('.json')) nodes.push(JSON.parse(readFileSync(join(resDir, n), 'utf8')) as NodeResult);
  const leaves = nodes.filter((n) => n.depth === fanouts.length);
  const problems: string[] = [];
  for (const n of nodes) {
    if (n.error) problems.push(`${n.path}: ${n.error}`);
    if (n.failed) problems.push(`${n.path}: ${n.failed} jobs failed${n.children?.some((c) => c.error) ? ` (${n.children.filter((c) => c.error).map((c) => `${c.path} ${c.error}`).join('; ')})` : ''}`);
  }
  const expected = fanouts.reduce((a, b) => a * b, 1);
  const leafJobs = leaves.reduce((a, n) => a + n.jobs, 0);
  if (leaves.length !== expected) problems.push(`${leaves.length} of ${expected} leaf instances reported`);
  if (leafJobs !== jobs) problems.push(`the leaves ran ${leafJobs} of ${jobs} jobs`);
  if (problems.length) log(`${label}: PROBLEMS: ${problems.join('; ')}; outputs kept in ${root.dir}`);
  const run: ShapeRun = {
    shape, fanouts, noop, jobs, wallMs, rate: jobs / (wallMs / 1000), rootHwm,
    leafHwm: Math.max(...leaves.map((l) => l.brokerHwm)), leaves: leaves.length,
    rootCpuShare: (cpu1 - cpu0) / (wallMs / 1000), rootCpu: cpu1 - cpu0, t0, busyBefore, ok: problems.length === 0 && !top.error, problems, nodes,
  };
  log(`${label}: ${(wallMs / 1000).toFixed(1)} s; root peak RSS ${mib(rootHwm)} MiB, leaf ${mib(run.leafHwm)} MiB, root CPU ${(run.rootCpuShare * 100).toFixed(1)}%`);
  if (fanouts.length > 0 && run.ok) await awaitArchive(root, run, label);
  if (problems.length === 0) await root.close();
  else { root.f.close(); await runCmd(FRACTAL_BIN, ['shutdown'], { env: root.env, timeoutMs: 60000 }); }
  return run;
}

/**
 * Waits until the root has archived its children's whole trees (it removes
 * a child's directory once its copy is committed), then counts the leaf
 * jobs in the root's archive (read-only, beside the running broker).
 */
async function awaitArchive(root: Root, run: ShapeRun, label: string): Promise<void> {
  const t0 = Date.now();
  const jobsDir = join(root.dir, 'state', 'jobs');
  const pending = () => { try { return readdirSync(jobsDir).filter((n) => /^\d+$/.test(n)).length; } catch { return 0; } };
  let lastLog = t0;
  // Generous: about 135 s per million jobs per level was measured on a loaded machine.
  const limitMs = Math.max(120000, run.jobs * 2);
  while (pending() > 0) {
    if (Date.now() - t0 > limitMs) { run.problems.push(`the root had not archived its children after ${limitMs / 1000} s`); run.ok = false; return; }
    if (Date.now() - lastLog >= 10000) { lastLog = Date.now(); log(`${label}: archiving the children's history into the root, ${((Date.now() - t0) / 1000).toFixed(0)} s`); }
    await new Promise((res) => setTimeout(res, 200));
  }
  run.archiveMs = Date.now() - t0;
  run.rootHwmArchived = peakRss(root.pid);
  const db = new Database(join(root.dir, 'state', 'fractal.db'), { readonly: true, fileMustExist: true });
  try {
    // A job of the root's child has the path "ID/N": depth 2.
    run.archived = (db.prepare('SELECT count(*) AS n FROM archive_jobs WHERE depth = ?').get(run.fanouts.length + 1) as { n: number }).n;
  } finally { db.close(); }
  if (run.archived !== run.jobs) { run.problems.push(`the root's archive holds ${run.archived} of the ${run.jobs} leaf jobs`); run.ok = false; }
  log(`${label}: the root archived ${run.archived} leaf jobs in ${(run.archiveMs / 1000).toFixed(1)} s; root peak RSS now ${mib(run.rootHwmArchived)} MiB`);
}

interface Startup {
  /** Submit to the child's memo event (its URI: the child is ready), and its parts, ms. */
  ready: number[];
  allocToStart: number[];
  startToReady: number[];
  /** `fractal run fractal start true`, spawn to exit, ms. */
  runStart: number[];
  failures: number;
  busyBefore: number;
}

async function events(f: Fractal, id: number): Promise<JobEvent[]> {
  const evs: JobEvent[] = [];
  await f.watch(id, (ev) => evs.push(ev), false);
  return evs;
}

async function measureStartup(samples: number): Promise<Startup> {
  const busyBefore = await machineBusy();
  log(`start-up: ${samples} x fractal batch --wrap true (submit to the child's memo event), ${samples} x fractal run fractal start true (machine ${(busyBefore * 100).toFixed(0)}% busy)`);
  const root = await startRoot();
  const out: Startup = { ready: [], allocToStart: [], startToReady: [], runStart: [], failures: 0, busyBefore };
  try {
    const opts = { env: root.env, cwd: root.dir, capture: true, timeoutMs: 120000 };
    // One of each first, not counted: it starts the root's executor and warms the page cache.
    for (let i = 0; i <= samples; i++) {
      const b = await runCmd(FRACTAL_BIN, ['batch', '--output', '/dev/null', '--wrap', 'true'], opts);
      const id = Number(b.stdout.trim());
      if (b.code !== 0 || !Number.isInteger(id)) { out.failures++; log(`start-up: fractal batch failed: ${b.stderr.trim()}`); continue; }
      const w = await root.f.wait(id);
      const evs = await events(root.f, id);
      const at = (name: string) => evs.find((e) => e.name === name && (name !== 'memo' || typeof e.context?.['uri'] === 'string'))?.timestamp;
      const [sub, alloc, start, memo] = [at('submit'), at('alloc'), at('start'), at('memo')];
      if (!w.success || sub === undefined || alloc === undefined || start === undefined || memo === undefined) { out.failures++; continue; }
      if (i === 0) continue;
      out.ready.push((memo - sub) * 1000);
      out.allocToStart.push((start - alloc) * 1000);
      out.startToReady.push((memo - start) * 1000);
    }
    for (let i = 0; i <= samples; i++) {
      const r = await runCmd(FRACTAL_BIN, ['run', FRACTAL_BIN, 'start', 'true'], opts);
      if (r.code !== 0) { out.failures++; log(`start-up: fractal run fractal start true failed (${r.code}): ${r.stderr.trim()}`); continue; }
      if (i > 0) out.runStart.push(r.ms);
    }
  } finally {
    await root.close();
  }
  log(`start-up: submit to ready p50 ${fmtMs(percentile(out.ready, 50))} ms, p99 ${fmtMs(percentile(out.ready, 99))} ms; run fractal start true p50 ${fmtMs(percentile(out.runStart, 50))} ms`);
  return out;
}

function machineInfo(): string {
  const { model, git } = cpuAndGit();
  return `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}: ${cpus().length} CPUs (${model}), node ${process.version}, fractal git ${git}`;
}

function table(head: string[], rows: string[][], textCols = 3, notesLast = false): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // Names and notes (the last column) to the left, figures to the right.
  const line = (cells: string[]) => cells.map((c, i) => (i < textCols || (notesLast && i === head.length - 1) ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(head), w.map((x) => '-'.repeat(x)).join('  '), ...rows.map(line)];
}

const ok = (good: boolean) => (good ? 'ok' : 'MISSED');

async function main(): Promise<void> {
  const cfg = parseArgs(process.argv.slice(2));
  const info = machineInfo();
  const load0 = loadavg();
  log(`Fractal hierarchy benchmark: shapes ${cfg.shapes.join(',')}; no-op N=${cfg.noopJobs.join(',')}; real N=${cfg.realJobs.join(',')}; ${[...cfg.parts].join(',')}${cfg.million ? ', million' : ''}`);
  const runs: ShapeRun[] = [];
  const plan: Array<[boolean, number]> = [
    ...(cfg.parts.has('noop') ? cfg.noopJobs.map((n) => [true, n] as [boolean, number]) : []),
    ...(cfg.parts.has('real') ? cfg.realJobs.map((n) => [false, n] as [boolean, number]) : []),
  ];
  for (const [noop, n] of plan) for (const s of cfg.shapes) runs.push(await shapeRun(cfg, s, n, noop));
  const startup = cfg.parts.has('startup') ? await measureStartup(cfg.samples) : undefined;
  const million = cfg.million ? await shapeRun(cfg, '3', cfg.millionJobs, true) : undefined;
  log('done');

  const out: string[] = [
    `Fractal hierarchy benchmark: bench/hierarchy ${cfg.argv.join(' ')}`.trimEnd(),
    info,
    `load average before: ${load0.map((x) => x.toFixed(2)).join(' ')}, after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; leaf options: ${cfg.leafConf.length ? cfg.leafConf.map((kv) => `-o ${kv}`).join(' ') : 'none'}; submitMany chunk ${cfg.chunk}, window ${cfg.window}`,
    '',
  ];
  const flatRate = (r: ShapeRun) => runs.find((x) => x.shape === 'flat' && x.noop === r.noop && x.jobs === r.jobs && x.ok)?.rate;
  const rows = [...runs, ...(million ? [million] : [])].map((r) => {
    const fr = flatRate(r);
    return [
      r.shape === 'flat' ? 'flat' : `${r.shape} levels (${r.fanouts.join('x')})`, r.noop ? 'no-op' : 'true', String(r.jobs),
      (r.wallMs / 1000).toFixed(2), fmtRate(r.rate), fr && r.shape !== 'flat' ? `${(r.rate / fr).toFixed(2)}x` : r.shape === 'flat' ? '1.00x' : '-',
      mib(r.rootHwm), mib(r.leafHwm), `${(r.rootCpuShare * 100).toFixed(1)}%`, `${(r.busyBefore * 100).toFixed(0)}%`, r.ok ? 'ok' : `FAILED: ${r.problems.join('; ')}`,
    ];
  });
  if (rows.length) {
    out.push('Ensembles (wall time from the first submission at the root to the end of the last job; child start-up and shutdown included):', '');
    out.push(...table(['shape', 'exec', 'N', 'wall s', 'jobs/s', 'vs flat', 'root peak MiB', 'leaf peak MiB', 'root CPU', 'busy before', 'result'], rows));
    out.push('', 'Per level (CPU seconds of the brokers of each level, from /proc; a nested broker\'s includes its start-up; first leaf at = from the first submission at the root to the start of the first leaf\'s program; teardown = from the end of the last leaf\'s jobs to the end at the root; leaf rate = its jobs over its program\'s run; archive = after the wall time, until the root\'s store holds every leaf job\'s record, counted; root peak after = the root\'s VmHWM then):', '');
    out.push(...table(['shape', 'exec', 'N', 'first leaf at s', 'teardown s', 'leaf run s', 'leaf jobs/s', 'root CPU s', 'mid CPU s', 'leaf CPU s', 'leaf CPU ms/job', 'archive s', 'root peak after MiB'],
      [...runs, ...(million ? [million] : [])].filter((r) => r.ok).map((r) => {
        const leaves = r.nodes.filter((n) => n.depth === r.fanouts.length);
        const mids = r.nodes.filter((n) => n.depth > 0 && n.depth < r.fanouts.length);
        const sum = (xs: NodeResult[], f: (n: NodeResult) => number) => xs.reduce((a, n) => a + f(n), 0);
        const leafCpu = r.shape === 'flat' ? r.rootCpu : sum(leaves, (n) => n.brokerCpu);
        const leafRun = Math.max(...leaves.map((n) => n.endedAt - n.startedAt)) / 1000;
        const leafRate = sum(leaves, (n) => n.jobs / ((n.endedAt - n.startedAt) / 1000)) / leaves.length;
        return [
          r.shape === 'flat' ? 'flat' : `${r.shape} levels (${r.fanouts.join('x')})`, r.noop ? 'no-op' : 'true', String(r.jobs),
          ((Math.min(...leaves.map((n) => n.startedAt)) - r.t0) / 1000).toFixed(2),
          ((r.t0 + r.wallMs - Math.max(...leaves.map((n) => n.endedAt))) / 1000).toFixed(2), leafRun.toFixed(2), fmtRate(leafRate),
          r.rootCpu.toFixed(2), mids.length ? sum(mids, (n) => n.brokerCpu).toFixed(2) : '-', leafCpu.toFixed(2), ((leafCpu * 1000) / r.jobs).toFixed(3),
          r.archiveMs !== undefined ? (r.archiveMs / 1000).toFixed(2) : '-', r.rootHwmArchived !== undefined ? mib(r.rootHwmArchived) : '-',
        ];
      })));
    out.push('', 'root/leaf peak = VmHWM of the root broker (fractal start --daemon, rank 0) and the largest of the leaf brokers (the fractal start tasks); root CPU = its utime+stime over the wall time (share of one core).');
  }
  const targets: string[] = [];
  for (const r of runs.filter((x) => x.shape === '2' && x.noop)) {
    const fr = flatRate(r);
    if (fr) targets.push(`2-level no-op throughput, N=${r.jobs}: ${(r.rate / fr).toFixed(2)}x flat (target >= 1.7x): ${ok(r.ok && r.rate / fr >= 1.7)}`);
    targets.push(`root CPU share, 2-level no-op run, N=${r.jobs}: ${(r.rootCpuShare * 100).toFixed(1)}% (target < 15%): ${ok(r.ok && r.rootCpuShare < 0.15)}`);
  }
  if (startup) {
    const p50 = percentile(startup.ready, 50);
    const p99 = percentile(startup.ready, 99);
    out.push('', `Nested instance start (root: 1 broker, ${cpus().length} cores; one warm-up of each kind not counted; machine ${(startup.busyBefore * 100).toFixed(0)}% busy before):`, '');
    const srow = (name: string, xs: number[], note: string) => [name, String(xs.length), fmtMs(percentile(xs, 50)), fmtMs(percentile(xs, 99)), fmtMs(Math.min(...xs)), fmtMs(Math.max(...xs)), note];
    out.push(...table(['figure', 'n', 'p50 ms', 'p99 ms', 'min', 'max', 'notes'], [
      srow('batch --wrap true: submit to child ready', startup.ready, 'submit event to the memo event with the URI (parent\'s event log)'),
      srow('  of which alloc to start', startup.allocToStart, 'the parent\'s executor starts the fractal start task'),
      srow('  of which start to ready', startup.startToReady, 'the nested broker starts and records its URI'),
      srow('fractal run fractal start true', startup.runStart, 'spawn to exit of the CLI command; Flux 0.88 here: 1285 ms (flux run flux start /bin/true), 1262 (flux alloc -n1 /bin/true)'),
    ], 1, true));
    if (startup.failures) out.push(`WARNING: ${startup.failures} start-up samples failed`);
    targets.push(`nested start, submit to child ready: p50 ${fmtMs(p50)} ms (target < 300): ${ok(p50 < 300)}; p99 ${fmtMs(p99)} ms (target < 600): ${ok(p99 < 600)}; Flux 0.88: 1262-1285 ms`);
    out.push(`median of the run samples: ${fmtMs(median(startup.runStart))} ms`);
  }
  if (million) {
    targets.push(`${million.jobs.toLocaleString('en-US')} no-op jobs through 3 levels: ${million.ok ? 'completed' : 'FAILED'} in ${(million.wallMs / 1000).toFixed(0)} s${million.jobs === 1_000_000 ? ` (goal < 240 s: ${ok(million.ok && million.wallMs < 240000)})` : ''}; root peak RSS ${mib(Math.max(million.rootHwm, million.rootHwmArchived ?? 0))} MiB with its history archived in ${((million.archiveMs ?? NaN) / 1000).toFixed(0)} s (target < 500 MB): ${ok(million.ok && Math.max(million.rootHwm, million.rootHwmArchived ?? 0) < 500e6)}`);
  }
  if (targets.length) out.push('', 'Targets (issue 12):', ...targets.map((t) => `  ${t}`));
  process.stdout.write(out.join('\n') + '\n');
  if (cfg.json) writeFileSync(cfg.json, JSON.stringify({ config: { ...cfg, parts: [...cfg.parts] }, info, runs, startup, million }, null, 2));
  const failed = runs.some((r) => !r.ok) || (million !== undefined && !million.ok) || (startup !== undefined && (startup.failures > 0 || startup.ready.length === 0));
  process.exitCode = failed ? 1 : 0;
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/hierarchy: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
