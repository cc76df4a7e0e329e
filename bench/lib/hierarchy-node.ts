/**
 * One node of bench/hierarchy's tree of instances (see hierarchy.ts). Runs
 * in the instance at FRACTAL_URI: either as the root's driver (imported by
 * hierarchy.ts), or as the batch script's program of a nested instance
 * (`node hierarchy-node.js SPECFILE PATH DEPTH JOBS`).
 *
 * An inner node splits its share of the ensemble between `fanout` children,
 * each a `fractal batch -n1 -c<cores/fanout> --wrap node hierarchy-node.js
 * ...` (a user's command line), and waits for them. A leaf submits its share
 * with the API (`submitMany`, in chunks, keeping at most `window` jobs
 * active) and waits for them. Each node writes what it measured to
 * `<dir>/<path>.json`, and a leaf its progress to `<dir>/<path>.progress`.
 */
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Fractal } from '../../src/api/index.js';
import { jobspecFromCommand } from '../../src/jobspec/index.js';
import { FRACTAL_BIN, runCmd } from './util.js';

export const NODE_JS = fileURLToPath(import.meta.url);

export interface TreeSpec {
  /** Children per inner node, level by level from the root: [] flat, [2] two levels, [2, 1] three. */
  fanouts: number[];
  noop: boolean;
  /** Jobs per submitMany request, and most jobs a leaf keeps active. */
  chunk: number;
  window: number;
  /** `-o KEY=VAL` of each nested instance: inner (mid-level) and leaf instances. */
  innerConf: string[];
  leafConf: string[];
  /** Results, progress and the children's output files. */
  dir: string;
}

export interface NodeResult {
  path: string;
  depth: number;
  jobs: number;
  /** Epoch ms: this node's program started, its work was submitted, its jobs (or children) all ended. */
  startedAt: number;
  submittedAt: number;
  endedAt: number;
  failed: number;
  /** This instance's rank-0 broker: pid, peak RSS (VmHWM, bytes), CPU seconds (utime+stime) at the end. */
  brokerPid: number;
  brokerHwm: number;
  brokerCpu: number;
  /** Children's job ids and exit codes (inner nodes). */
  children?: { id: number; path: string; error?: string }[];
  error?: string;
}

/** VmHWM (peak RSS) of a process in bytes, NaN if gone. */
export function peakRss(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch { return NaN; }
}

/** utime+stime of a process in seconds (clock ticks of 100 Hz, as Linux reports them to user space). */
export function cpuSeconds(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = line.slice(line.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch { return NaN; }
}

function writeAtomic(file: string, text: string): void {
  writeFileSync(file + '.tmp', text);
  renameSync(file + '.tmp', file);
}

/** Splits n into k shares that differ by at most one. */
export function shares(n: number, k: number): number[] {
  return Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));
}

async function leaf(f: Fractal, spec: TreeSpec, path: string, jobs: number, r: NodeResult): Promise<void> {
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) environment[k] = v;
  // What `fractal submit [--setattr=exec.test.run_duration=0] true` sends.
  const js = jobspecFromCommand(['true'], {}, { cwd: process.cwd(), environment, ...(spec.noop ? { exec: { test: { run_duration: 0 } } } : {}) });
  const progressFile = join(spec.dir, `${path}.progress`);
  let submitted = 0;
  let active = 0;
  let lastProgress = 0;
  const report = (force = false) => {
    if (!force && Date.now() - lastProgress < 2000) return;
    lastProgress = Date.now();
    writeAtomic(progressFile, `${submitted - active} ${jobs}\n`);
  };
  while (submitted < jobs) {
    active = (await f.rpc<{ active: number }>('job-manager.stats')).active;
    report();
    if (active > spec.window - spec.chunk) { await new Promise((res) => setTimeout(res, 20)); continue; }
    const c = Math.min(spec.chunk, jobs - submitted);
    await f.submitMany(js, c);
    submitted += c;
  }
  r.submittedAt = Date.now();
  // Progress while the last jobs drain.
  const timer = setInterval(() => {
    f.rpc<{ active: number }>('job-manager.stats').then((s) => { active = s.active; report(true); }, () => {});
  }, 2000);
  try {
    r.failed = (await f.waitAll()).failed;
  } finally { clearInterval(timer); }
  active = 0;
  report(true);
}

async function inner(f: Fractal, spec: TreeSpec, specFile: string, path: string, depth: number, jobs: number, r: NodeResult): Promise<void> {
  const fan = spec.fanouts[depth]!;
  // The cores this instance owns (its parent's grant), split between its children.
  const st = await f.rpc<{ ranks: { ncores: number }[] }>('resource.status', {});
  const own = st.ranks.reduce((a, rk) => a + rk.ncores, 0);
  const cores = Math.max(1, Math.floor(own / fan));
  const leafNext = depth + 1 === spec.fanouts.length;
  const conf = (leafNext ? spec.leafConf : spec.innerConf).flatMap((kv) => ['-o', kv]);
  const kids = shares(jobs, fan);
  r.children = [];
  // Each child is what a user types: fractal batch ... --wrap node hierarchy-node.js ...
  await Promise.all(kids.map(async (n, i) => {
    const p = `${path}.${i}`;
    const out = await runCmd(FRACTAL_BIN, ['batch', '-n1', `-c${cores}`, ...conf, '--job-name', `h${p}`, '--output', join(spec.dir, `${p}.out`),
      '--wrap', process.execPath, NODE_JS, specFile, p, String(depth + 1), String(n)], { capture: true, timeoutMs: 120000 });
    const id = Number(out.stdout.trim());
    if (out.code !== 0 || !Number.isInteger(id)) throw new Error(`fractal batch for ${p} failed (${out.code}): ${out.stderr.trim()}`);
    r.children!.push({ id, path: p });
  }));
  r.submittedAt = Date.now();
  const w = await f.waitAll();
  r.failed = w.failed;
  for (const j of w.jobs ?? []) {
    const c = r.children.find((x) => x.id === j.id);
    if (c) c.error = `${j.result}${j.returncode !== null ? ` (exit ${j.returncode})` : ''}: ${j.errstr}`;
  }
}

/** Runs one node of the tree against FRACTAL_URI (or `uri`) and writes its result file. */
export async function runNode(spec: TreeSpec, specFile: string, path: string, depth: number, jobs: number, uri?: string): Promise<NodeResult> {
  const r: NodeResult = { path, depth, jobs, startedAt: Date.now(), submittedAt: NaN, endedAt: NaN, failed: 0, brokerPid: NaN, brokerHwm: NaN, brokerCpu: NaN };
  const f = await connect(uri);
  try {
    r.brokerPid = (await f.rpc<{ pid: number }>('broker.info', {}, 0)).pid;
    if (depth < spec.fanouts.length) await inner(f, spec, specFile, path, depth, jobs, r);
    else await leaf(f, spec, path, jobs, r);
  } catch (e) {
    r.error = e instanceof Error ? e.message : String(e);
  } finally {
    r.endedAt = Date.now();
    r.brokerHwm = peakRss(r.brokerPid);
    r.brokerCpu = cpuSeconds(r.brokerPid);
    f.close();
  }
  writeAtomic(join(spec.dir, `${path}.json`), JSON.stringify(r));
  return r;
}

// As a nested instance's program: node hierarchy-node.js SPECFILE PATH DEPTH JOBS
if (process.argv[1] === NODE_JS) {
  const [specFile, path, depth, jobs] = process.argv.slice(2);
  const spec = JSON.parse(readFileSync(specFile!, 'utf8')) as TreeSpec;
  runNode(spec, specFile!, path!, Number(depth), Number(jobs)).then((r) => {
    if (r.error) process.stderr.write(`hierarchy node ${path}: ${r.error}\n`);
    process.exit(r.error || r.failed ? 1 : 0);
  }, (e: unknown) => {
    process.stderr.write(`hierarchy node ${path}: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(1);
  });
}
