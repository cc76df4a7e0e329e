/** Helpers shared by CLI commands: connecting, parsing numbers and key=value pairs, printing errors. */
import { userInfo } from 'node:os';
import { connect, type Fractal } from '../api/index.js';
import { invalid } from '../errors/index.js';

export function globalUri(): string | undefined {
  const i = process.argv.indexOf('--uri');
  return i > 0 ? process.argv[i + 1] : undefined;
}

const clients = new Set<Fractal>();

export async function open(): Promise<Fractal> {
  const f = await connect(globalUri());
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
