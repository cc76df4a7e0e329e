/**
 * Helpers shared by the benchmark driver and its in-instance probe: timed
 * child processes, order statistics, progress lines on stderr, and CPU
 * accounting from /proc (so a run can say where its time went).
 */
import { spawn, execFileSync, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** bin/fractal of this checkout (dist/bench/lib/ -> ../../../bin/fractal). */
export const FRACTAL_BIN = fileURLToPath(new URL('../../../bin/fractal', import.meta.url));
/** The compiled probe that runs inside an instance. */
export const PROBE_JS = fileURLToPath(new URL('./probe.js', import.meta.url));

export interface CmdResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Wall time from spawn to exit, milliseconds. */
  ms: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CmdOptions {
  /** Capture stdout/stderr (otherwise stdout is discarded and stderr inherited). */
  capture?: boolean;
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command to completion and times it. Never rejects: a spawn error gives code 127. */
export function runCmd(cmd: string, args: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  return new Promise((resolve) => {
    const so: SpawnOptions = { stdio: ['ignore', opts.capture ? 'pipe' : 'ignore', opts.capture ? 'pipe' : 'inherit'] };
    if (opts.cwd !== undefined) so.cwd = opts.cwd;
    if (opts.env !== undefined) so.env = opts.env;
    const t0 = performance.now();
    const child = spawn(cmd, args, so);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    let killer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs !== undefined) {
      killer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
        setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, 10000).unref();
      }, opts.timeoutMs);
    }
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, extraErr = '') => {
      if (done) return;
      done = true;
      if (killer) clearTimeout(killer);
      resolve({ code, signal, ms: performance.now() - t0, stdout, stderr: stderr + extraErr, timedOut });
    };
    child.on('error', (e) => finish(127, null, e.message));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** Spawns a command without any stdio and resolves when it exits (for raw spawn-rate loops). */
export function spawnQuiet(cmd: string, args: string[] = []): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', (code) => resolve(code));
  });
}

export function sortedNums(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(xs: readonly number[], p: number): number {
  const s = sortedNums(xs);
  if (s.length === 0) return NaN;
  const k = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[k]!;
}

export function median(xs: readonly number[]): number {
  const s = sortedNums(xs);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Progress on stderr: `[bench +12.3s] message`. Never prints a rate (the acceptance script greps stdout+stderr for rates). */
export function progress(t0EpochMs: number, msg: string): void {
  const el = ((Date.now() - t0EpochMs) / 1000).toFixed(1);
  process.stderr.write(`[bench +${el}s] ${msg}\n`);
}

// ---- CPU accounting from /proc ----------------------------------------------

let clkTck: number | undefined;
function ticksPerSecond(): number {
  if (clkTck === undefined) {
    try { clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { clkTck = 100; }
  }
  return clkTck;
}

export interface ProcCpu {
  pid: number;
  ppid: number;
  /** Own user+system CPU, seconds. */
  self: number;
  /** CPU of reaped children (cutime+cstime), seconds. */
  children: number;
  cmdline: string;
}

function readStat(pid: number): Omit<ProcCpu, 'cmdline'> | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = line.slice(line.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): field k is rest[k - 3].
    const f = (k: number) => Number(rest[k - 3]);
    const hz = ticksPerSecond();
    return { pid, ppid: f(4), self: (f(14) + f(15)) / hz, children: (f(16) + f(17)) / hz };
  } catch {
    return undefined;
  }
}

function readCmdline(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim(); } catch { return ''; }
}

/** Every live process under `root` (root included), with its CPU counters. */
export function processTree(root: number): ProcCpu[] {
  const all = new Map<number, Omit<ProcCpu, 'cmdline'>>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.set(s.pid, s);
  }
  const kids = new Map<number, number[]>();
  for (const s of all.values()) {
    const l = kids.get(s.ppid) ?? [];
    l.push(s.pid);
    kids.set(s.ppid, l);
  }
  const out: ProcCpu[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    const s = all.get(pid);
    if (!s) continue;
    out.push({ ...s, cmdline: readCmdline(pid) });
    stack.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/** Busy and total CPU seconds of the whole machine since boot (from /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const hz = ticksPerSecond();
  return { busy: (total - idle) / hz, total: total / hz };
}

export function fmt(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return '-';
  return x.toFixed(digits);
}

/** A rate with about three significant digits. */
export function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function fmtMs(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function mib(bytes: number): string {
  return Number.isFinite(bytes) ? (bytes / 1048576).toFixed(1) : '-';
}

/** A bad command line: says so as `SCRIPT: MESSAGE` and exits 2. */
export function usageError(script: string, msg: string): never {
  process.stderr.write(`${script}: ${msg}\n`);
  process.exit(2);
}

/** A positive integer option's value, or a usage error naming the option. */
export function positiveInt(script: string, v: string | undefined, name: string): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n <= 0) usageError(script, `${name} needs a positive integer (got ${v ?? 'nothing'})`);
  return n;
}

/** The CPU model and the git revision of this checkout (with a mark when it has uncommitted changes), for result headers. */
export function cpuAndGit(): { model: string; git: string } {
  let model = '?';
  try { model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? '?'; } catch { /* not Linux */ }
  let git = '?';
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    git = head + (dirty ? ' + uncommitted changes' : '');
  } catch { /* not a git checkout */ }
  return { model, git };
}
