/** Helpers shared by CLI commands: connecting, parsing numbers and key=value pairs, printing errors, the state directory. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { constants, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { installPath } from '../service/index.js';
import { connect, type Fractal } from '../api/index.js';
import { ErrorCodes, FractalError, invalid } from '../errors/index.js';

/** The instance given before the command: `--uri URI` or `-r JOBPATH` (a nested instance, e.g. 12 or 12/5). */
export function globalUri(): string | undefined {
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (x === '--uri' || x === '-r' || x === '--remote') return a[i + 1];
    const m = /^--(?:uri|remote)=(.*)$/.exec(x);
    if (m) return m[1];
    if (!x.startsWith('-')) break; // the command: its own options follow
  }
  return undefined;
}

const clients = new Set<Fractal>();

export async function open(): Promise<Fractal> {
  // A broker that is (re)starting answers ESTARTING; the API retries, and we say so when it takes a while.
  const f = await connect(globalUri(), { onStartingWait: (msg) => process.stderr.write(`fractal: ${msg}\n`) });
  clients.add(f);
  f.peer.conn.on('close', () => clients.delete(f));
  return f;
}

/** Closes every connection a command left open (after an error), so that the process can exit. */
export function closeAll(): void {
  for (const f of clients) f.close();
}

export function intOpt(v: unknown, flag: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw invalid(`${flag} must be an integer >= ${min} (got "${String(v)}")`);
  return n;
}

export function jobId(v: unknown): number {
  const s = String(v);
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n)) throw invalid(`"${s}" is not a job id: job ids are integers as printed by \`fractal submit\` or \`fractal jobs\``);
  return n;
}

/** "a.b=3" → ['a.b', 3]; values that parse as JSON (numbers, true, objects) are typed. */
export function keyValue(s: string, what: string): [string, unknown] {
  const i = s.indexOf('=');
  if (i <= 0) throw invalid(`${what} "${s}" must look like KEY=VALUE`);
  const k = s.slice(0, i);
  const raw = s.slice(i + 1);
  let v: unknown = raw;
  try { v = JSON.parse(raw); } catch { /* a plain string */ }
  return [k, v];
}

export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (typeof next !== 'object' || next === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

let me: { uid: number; name: string } | undefined;
export function username(uid: number): string {
  if (!me) {
    try {
      const u = userInfo();
      me = { uid: u.uid, name: u.username };
    } catch {
      me = { uid: -1, name: '' };
    }
  }
  return uid === me.uid ? me.name : String(uid);
}

/** Short human duration for tables: 0.012s, 4.25s, 1.5m, 2.1h, 3.0d. */
export function shortDuration(sec: number): string {
  if (!Number.isFinite(sec)) return 'inf';
  if (sec < 60) return `${Number(sec.toFixed(sec < 10 ? 3 : 1))}s`;
  if (sec < 3600) return `${(sec / 60).toFixed(1)}m`;
  if (sec < 86400) return `${(sec / 3600).toFixed(1)}h`;
  return `${(sec / 86400).toFixed(1)}d`;
}

/**
 * The directory of `fractal start --state-dir DIR`, made ready without
 * touching what is not ours: a directory created here gets mode 0700 (and
 * so do missing parents); an existing one is used as it is, never chmod'ed,
 * and only if it belongs to this user and no one else can write to it
 * (others could replace the socket, the overlay key or the database).
 */
export function prepareStateDir(dir: string): string {
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw invalid(`--state-dir ${dir}: cannot create it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a directory path you can write`);
  }
  if (created !== undefined) return dir;
  const st = statSync(dir);
  if (!st.isDirectory()) throw invalid(`--state-dir ${dir} is not a directory; give a directory, or a new path to create`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new FractalError(ErrorCodes.PERMISSION, `--state-dir ${dir} belongs to uid ${st.uid}, not to you (uid ${uid}); give a directory of your own, or a new path (created with mode 0700)`);
  }
  if ((st.mode & 0o022) !== 0) {
    throw new FractalError(ErrorCodes.PERMISSION, `--state-dir ${dir} is writable by other users (mode ${(st.mode & 0o7777).toString(8)}); give a directory only you can write, e.g. a new path such as ${join(dir, 'fractal')} (created with mode 0700)`);
  }
  return dir;
}

/** The exit code a shell reports for a process killed by `sig`: 128 + its number. */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + (constants.signals[sig] ?? 1);
}

/** This installation's `fractal` command: nested brokers and the programs they run use the same code. */
export const FRACTAL_COMMAND = installPath('bin/fractal');

/** An environment for a program that talks to the instance at `uri`, with this installation's `fractal` first on its PATH. */
export function instanceEnv(uri: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, FRACTAL_URI: uri, PATH: `${dirname(FRACTAL_COMMAND)}:${env['PATH'] ?? '/usr/bin:/bin'}` };
}

/**
 * Runs a program on this terminal (stdio inherited). `code` resolves with its exit code: 128 + the
 * signal that killed it, 127 when it cannot be started (said on stderr as `fractal WHO: ...`).
 */
export function runProgram(who: string, command: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; code: Promise<number> } {
  const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
  const code = new Promise<number>((r) => {
    child.on('error', (e) => { process.stderr.write(`fractal ${who}: cannot run ${command[0]}: ${e.message}\n`); r(127); });
    child.on('exit', (c, s) => r(s ? signalExitCode(s) : c ?? 0));
  });
  return { child, code };
}
