/**
 * Helpers for the integration tests: each test file starts its own instance
 * (real brokers, real executors, real processes) in its own temporary
 * directory, talks to it with the `fractal` CLI and the TypeScript API, and
 * tears everything down afterwards, including processes left behind by a
 * test that failed half-way (matched by the temporary directory's path).
 *
 * Nothing here reads or writes ~/.fractal: every CLI gets FRACTAL_HOME in the
 * temporary directory and an explicit FRACTAL_URI.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Fractal, type JobInfo } from '../src/api/index.js';

/** The project root (tests run from dist/test). */
export const ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));
export const FRACTAL_BIN = join(ROOT, 'bin', 'fractal');

export interface RunResult {
  /** Exit code, or null when the process was killed by a signal (or by our timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The command did not finish within the timeout and was killed. */
  timedOut: boolean;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Default 60 s: generous, tests assert on results, never on speed. */
  timeoutMs?: number;
  input?: string;
}

/** The parent's environment without anything that would point a CLI at another instance. */
export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('FRACTAL_') || k.startsWith('SLURM_') || k.startsWith('PMI_')) continue;
    env[k] = v;
  }
  return env;
}

/** Runs a program to its end, collecting its output; kills it after the timeout. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.env ?? cleanEnv())) if (v !== undefined) env[k] = v;
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.stdin.on('error', () => { /* the program did not read its input */ });
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** One line describing a result, for assertion messages. */
export function describeResult(r: RunResult): string {
  return `exit ${r.code}${r.signal ? ` signal ${r.signal}` : ''}${r.timedOut ? ' (TIMED OUT: the command hung)' : ''}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` until it returns a truthy value; throws with `what` after the timeout. */
export async function waitFor<T>(what: string, pred: () => T | Promise<T>, timeoutMs = 30000, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(intervalMs);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A broker's command line: the bundle's entry (dist/bundle/broker.cjs) or tsc's (dist/src/broker/main.js). */
export function isBrokerCmd(cmdline: string): boolean {
  return /\/(broker\/main\.js|bundle\/broker\.cjs)\b/.test(cmdline);
}

/** A node executor's command line (dist/bundle/shell.cjs or dist/src/shell/main.js). */
export function isExecutorCmd(cmdline: string): boolean {
  return /\/(shell\/main\.js|bundle\/shell\.cjs)\b/.test(cmdline);
}

/** Processes (other than this one) whose command line or environment mentions `needle`. */
export function processesMatching(needle: string): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    let cmdline = '';
    let environ = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    } catch { continue; }
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch { /* not ours to read, or gone */ }
    if (cmdline.includes(needle) || environ.includes(needle)) out.push({ pid, cmdline });
  }
  return out;
}

export interface InstanceOptions {
  /** --test-size (number of brokers). Default 1. */
  size?: number;
  /** --cores-per-rank. Default 2. */
  coresPerRank?: number;
  /** More `fractal start` flags. */
  extraArgs?: string[];
}

/** Parses `fractal job eventlog` output into event names. */
export function eventNames(eventlogText: string): string[] {
  return eventlogText.split('\n').filter((l) => l.trim()).map((l) => l.trim().split(/\s+/)[1] ?? '');
}

/**
 * A daemon instance in a temporary directory:
 *   ROOT/state  --state-dir (sockets, database, logs)
 *   ROOT/home   FRACTAL_HOME
 *   ROOT/work   working directory of the CLIs (so jobs run and write files there)
 */
export class Instance {
  readonly root: string;
  readonly state: string;
  readonly home: string;
  readonly work: string;
  uri = '';
  private readonly conns: Fractal[] = [];

  constructor(readonly opts: InstanceOptions = {}) {
    // Short path: unix socket paths are limited to ~100 characters.
    this.root = mkdtempSync(join(tmpdir(), 'frt-'));
    this.state = join(this.root, 'state');
    this.home = join(this.root, 'home');
    this.work = join(this.root, 'work');
    for (const d of [this.state, this.home, this.work]) mkdirSync(d, { recursive: true, mode: 0o700 });
  }

  /** Creates and starts an instance. */
  static async start(opts: InstanceOptions = {}): Promise<Instance> {
    const inst = new Instance(opts);
    try {
      await inst.startDaemon();
    } catch (e) {
      await inst.destroy();
      throw e;
    }
    return inst;
  }

  startArgs(): string[] {
    return [
      'start', '--daemon', '--state-dir', this.state,
      '--test-size', String(this.opts.size ?? 1), '--cores-per-rank', String(this.opts.coresPerRank ?? 2),
      ...(this.opts.extraArgs ?? []),
    ];
  }

  /** (Re)starts the daemon on this state directory; returns the URI it printed. */
  async startDaemon(): Promise<string> {
    const r = await this.fractal(this.startArgs(), { env: this.env({ withUri: false }) });
    if (r.code !== 0) throw new Error(`fractal start failed: ${describeResult(r)}`);
    const uri = r.stdout.trim().split('\n').pop() ?? '';
    if (!uri.startsWith('local://')) throw new Error(`fractal start printed no URI: ${describeResult(r)}`);
    this.uri = uri;
    return uri;
  }

  /** The socket path of the URI (local:///path). */
  get socketPath(): string {
    return this.uri.slice('local://'.length);
  }

  env(o: { withUri?: boolean } = {}): Record<string, string> {
    const env = cleanEnv();
    env['FRACTAL_HOME'] = this.home;
    if (o.withUri !== false && this.uri) env['FRACTAL_URI'] = this.uri;
    return env;
  }

  /** Runs `fractal ARGS` against this instance, in the work directory. */
  fractal(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return run(process.execPath, [FRACTAL_BIN, ...args], { cwd: this.work, env: this.env(), ...opts });
  }

  /** Runs `fractal ARGS` and fails with the whole output unless it exits 0. */
  async ok(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.fractal(args, opts);
    if (r.code !== 0) throw new Error(`fractal ${args.join(' ')} failed: ${describeResult(r)}`);
    return r;
  }

  /** `fractal submit ARGS`: the new job's id. */
  async submit(args: string[], opts: RunOptions = {}): Promise<number> {
    const r = await this.ok(['submit', ...args], opts);
    const id = Number(r.stdout.trim());
    if (!Number.isInteger(id) || id <= 0) throw new Error(`fractal submit printed no job id: ${describeResult(r)}`);
    return id;
  }

  /** `fractal submit --cc=...`: the ids printed, in order. */
  async submitMany(args: string[]): Promise<number[]> {
    const r = await this.ok(['submit', ...args]);
    return r.stdout.trim().split('\n').filter(Boolean).map(Number);
  }

  /** `fractal jobs -a --json` (or with more args). */
  async jobs(args: string[] = ['-a']): Promise<JobInfo[]> {
    const r = await this.ok(['jobs', ...args, '--json']);
    return (JSON.parse(r.stdout) as { jobs: JobInfo[] }).jobs;
  }

  async job(id: number): Promise<JobInfo> {
    const [j] = await this.jobs([String(id)]);
    if (!j) throw new Error(`job ${id} is not listed by fractal jobs`);
    return j;
  }

  /** Event names of the job's log, in order. */
  async events(id: number): Promise<string[]> {
    return eventNames((await this.ok(['job', 'eventlog', String(id)])).stdout);
  }

  /** Waits until the job is in one of the states (polling `fractal jobs`). */
  async waitState(id: number, states: string[], timeoutMs = 30000): Promise<JobInfo> {
    return waitFor(`job ${id} to reach ${states.join('/')}`, async () => {
      const j = await this.job(id);
      return states.includes(j.state) ? j : undefined;
    }, timeoutMs, 150);
  }

  /** Waits until the job's tasks have started (a `start` event). */
  async waitStarted(id: number, timeoutMs = 30000): Promise<void> {
    await waitFor(`job ${id} to start`, async () => (await this.events(id)).includes('start'), timeoutMs, 150);
  }

  /** A new API connection, closed by destroy(). */
  async api(): Promise<Fractal> {
    const f = await connect(this.uri);
    this.conns.push(f);
    return f;
  }

  /** The pid of the rank-0 broker. */
  async brokerPid(): Promise<number> {
    const f = await connect(this.uri);
    try {
      return (await f.rpc<{ pid: number }>('broker.info', {}, 0)).pid;
    } finally {
      f.close();
    }
  }

  /** Broker and executor processes of this instance (their command lines name the state directory). */
  processes(): { pid: number; cmdline: string }[] {
    return processesMatching(this.state).filter((p) => p.cmdline.includes(this.state));
  }

  /** Kills every process that mentions this instance's directory (brokers, executors, job tasks). */
  killAll(): void {
    for (const p of processesMatching(this.root)) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }

  /** Shuts the instance down (if it answers), kills leftovers, removes the directory. */
  async destroy(): Promise<void> {
    for (const f of this.conns.splice(0)) {
      try { f.close(); } catch { /* closed */ }
    }
    if (this.uri) await this.fractal(['shutdown'], { timeoutMs: 20000 }).catch(() => undefined);
    await waitFor('instance processes to exit', () => this.processes().length === 0, 3000).catch(() => undefined);
    this.killAll();
    await sleep(100);
    this.killAll();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Assertion helper: a CLI failed cleanly (non-zero exit, message on stderr, no hang, no stack trace). */
export function failedCleanly(r: RunResult, message: RegExp): string | undefined {
  if (r.timedOut) return `the command hung (killed after the timeout)\n${describeResult(r)}`;
  if (r.code === 0) return `the command succeeded but should have failed\n${describeResult(r)}`;
  if (r.code === null) return `the command died of signal ${r.signal}\n${describeResult(r)}`;
  if (!message.test(r.stderr)) return `stderr does not match ${message}\n${describeResult(r)}`;
  if (/^\s+at .+\(.*:\d+:\d+\)$/m.test(r.stderr) || /Node\.js v\d+/.test(r.stderr)) return `stderr has a stack trace instead of a clean message\n${describeResult(r)}`;
  return undefined;
}
