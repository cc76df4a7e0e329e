/**
 * `fractal jobs`: a table of jobs. Format strings follow Flux's
 * (`{id} {state:>8} {name:<10.10}`): alignment < > ^, width, .precision
 * truncation. Fields: id, userid, username, name, state, status (CD, F, CA,
 * TO, R, S...), ntasks, nnodes, ncores, priority, urgency, t_submit, t_run,
 * t_inactive, t_estimate, runtime, duration, nodelist, result, returncode, reason,
 * exception.type, exception.note, dependencies.
 *
 * `--recursive` lists the jobs of every nested instance below this one too
 * (live, and with -a from the archives of ended ones), each with its path
 * (`12/5`) as its id; `--level N` stops N levels down (1: this instance).
 */
import { readFileSync } from 'node:fs';
import type { JobInfo } from '../../protocol/index.js';
import { invalid } from '../../errors/index.js';
import { listRecursive } from '../../api/index.js';
import { open, intOpt, jobId, username, shortDuration, globalUri } from '../util.js';
import { safeJson, safeText } from '../safe-text.js';

const DEFAULT_FORMAT = '{id:>7} {username:<8.8} {name:<10.10} {status:>2} {ntasks:>6} {nnodes:>6} {runtime:>8} {info}';

const ABBREV: Record<string, string> = { NEW: 'N', DEPEND: 'D', PRIORITY: 'P', SCHED: 'S', RUN: 'R', CLEANUP: 'C' };
const RESULT_ABBREV: Record<string, string> = { COMPLETED: 'CD', FAILED: 'F', CANCELED: 'CA', TIMEOUT: 'TO', PREEMPTED: 'PR' };

function statusOf(j: JobInfo): string {
  return j.state === 'INACTIVE' ? RESULT_ABBREV[j.result ?? ''] ?? 'I' : ABBREV[j.state] ?? j.state;
}

function field(j: JobInfo, name: string): string {
  const now = Date.now() / 1000;
  switch (name) {
    // With --recursive, a job of a nested instance shows its path (12/5).
    case 'id': return (j as JobInfo & { path?: string }).path ?? String(j.id);
    case 'username': return username(j.userid);
    case 'status': case 'status_abbrev': return statusOf(j);
    case 'runtime': {
      if (j.t_run === undefined || j.t_run === null) return '-';
      const end = j.t_inactive ?? now;
      return shortDuration(Math.max(0, end - j.t_run));
    }
    case 'duration': return j.duration ? shortDuration(j.duration) : '0';
    case 't_submit': case 't_run': case 't_inactive': case 't_estimate': {
      const t = j[name];
      return t ? new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 19) : '-';
    }
    case 'info': {
      if (j.state === 'INACTIVE') return j.exception ? `${j.exception.type}${j.exception.note ? ': ' + j.exception.note : ''}` : j.signal ? `killed by ${j.signal}` : j.returncode ? `exit ${j.returncode}` : '';
      if (j.state === 'RUN' || j.state === 'CLEANUP') return j.nodelist ?? '';
      if (!j.reason) return '';
      return j.t_estimate !== undefined ? `(${j.reason}, start in ${shortDuration(Math.max(0, j.t_estimate - now))})` : `(${j.reason})`;
    }
    case 'exception.type': return j.exception?.type ?? '';
    case 'exception.note': return j.exception?.note ?? '';
    case 'dependencies': return j.dependencies?.join(',') ?? '';
    case 'returncode': return j.returncode === undefined || j.returncode === null ? '' : String(j.returncode);
    default: {
      const v = (j as unknown as Record<string, unknown>)[name];
      if (v === undefined) {
        if (!KNOWN.has(name)) throw invalid(`unknown field {${name}} in --format: fields are ${[...KNOWN].join(', ')}`);
        return '';
      }
      return typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v);
    }
  }
}
const KNOWN = new Set(['id', 'userid', 'username', 'name', 'state', 'status', 'status_abbrev', 'ntasks', 'nnodes', 'ncores', 'priority', 'urgency', 't_submit', 't_run', 't_inactive', 't_estimate', 'runtime', 'duration', 'nodelist', 'result', 'returncode', 'waitstatus', 'signal', 'reason', 'account', 'info', 'exception.type', 'exception.note', 'dependencies']);

const HEADERS: Record<string, string> = { id: 'JOBID', username: 'USER', status: 'ST', status_abbrev: 'ST', ntasks: 'NTASKS', nnodes: 'NNODES', runtime: 'TIME', info: 'INFO', returncode: 'RC' };

interface Spec { name: string; align: string; width: number; prec: number | undefined }
type Part = string | Spec;

export function parseFormat(fmt: string): Part[] {
  const parts: Part[] = [];
  const re = /\{([\w.]+)(?::([<>^])?(\d+)?(?:\.(\d+))?)?\}/g;
  let last = 0;
  for (const m of fmt.matchAll(re)) {
    if (m.index > last) parts.push(fmt.slice(last, m.index));
    const name = m[1]!;
    if (!KNOWN.has(name)) throw invalid(`unknown field {${name}} in --format: fields are ${[...KNOWN].join(', ')}`);
    parts.push({ name, align: m[2] ?? '<', width: m[3] ? Number(m[3]) : 0, prec: m[4] ? Number(m[4]) : undefined });
    last = m.index + m[0].length;
  }
  if (last < fmt.length) parts.push(fmt.slice(last));
  return parts;
}

function pad(s: string, spec: Spec): string {
  let v = spec.prec !== undefined ? s.slice(0, spec.prec) : s;
  if (v.length < spec.width) {
    const n = spec.width - v.length;
    v = spec.align === '>' ? ' '.repeat(n) + v : spec.align === '^' ? ' '.repeat(n >> 1) + v + ' '.repeat(n - (n >> 1)) : v + ' '.repeat(n);
  }
  return v;
}

export function render(parts: Part[], row: (name: string) => string): string {
  return parts.map((p) => (typeof p === 'string' ? p : pad(row(p.name), p))).join('').trimEnd();
}

/** A uid from a number or a user name (looked up in /etc/passwd). */
function uidOf(user: string): number {
  if (/^\d+$/.test(user)) return Number(user);
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      if (name === user && uid !== undefined) return Number(uid);
    }
  } catch { /* no passwd file */ }
  throw invalid(`--user "${user}": no such user; give a user name, a uid, or "all"`);
}

export default async function jobs(args: string[], opts: Record<string, unknown>): Promise<number> {
  const parts = parseFormat(String(opts['format'] ?? DEFAULT_FORMAT));
  const states = opts['filter'] ? String(opts['filter']).split(',') : opts['all'] ? ['all'] : ['active'];
  const ids = args.map(jobId);
  let userid: number | undefined = process.getuid?.();
  if (opts['user'] === 'all' || opts['all'] || ids.length) userid = undefined;
  else if (opts['user'] !== undefined) userid = uidOf(String(opts['user']));
  const limit = intOpt(opts['count'], '--count', 1);
  const level = intOpt(opts['level'], '--level', 1);
  if (level !== undefined && !opts['recursive']) throw invalid('--level bounds the depth of --recursive: give both, e.g. `fractal jobs --recursive --level 2`');
  if (opts['recursive']) {
    if (ids.length) throw invalid('--recursive lists whole levels, not chosen jobs: for one job of a nested instance use `fractal job info 12/5` or `fractal jobs -r 12 5`');
    if (opts['stats']) throw invalid('--stats counts the jobs of one instance: use it without --recursive (with -r JOBPATH for a nested instance)');
    let list = await listRecursive({ states, ...(userid !== undefined ? { userid } : {}), ...(limit ? { limit } : {}), ...(level !== undefined ? { level } : {}),
      onTruncated: (at) => process.stderr.write(`fractal jobs: the archive of ${at ? `the instance of job ${at}` : 'this instance'} holds more than 10000 jobs: only the first 10000 are listed (use --count N for more)\n`) },
      { onStartingWait: (msg) => process.stderr.write(`fractal: ${msg}\n`) }, globalUri());
    if (limit) list = list.slice(0, limit);
    return print(list, parts, opts, 0);
  }
  const f = await open();
  const list = await f.list({ states: ids.length ? ['all'] : states, ...(userid !== undefined ? { userid } : {}), ...(ids.length ? { ids } : {}), ...(limit ? { limit } : {}) });
  if (opts['stats']) {
    const s = await f.rpc<{ counts: Record<string, number> }>('job-manager.stats');
    process.stdout.write(Object.entries(s.counts).map(([k, v]) => `${k.toLowerCase()}: ${v}`).join(', ') + '\n');
  }
  f.close();
  // Ids asked for by name that do not exist are an error (the others are still listed), as for `fractal job info`.
  const found = new Set(list.map((j) => j.id));
  const missing = ids.filter((id) => !found.has(id));
  for (const id of missing) process.stderr.write(`fractal jobs: no job ${id} in this instance (list jobs with \`fractal jobs -a\`)\n`);
  return print(list, parts, opts, missing.length ? 1 : 0);
}

function print(list: JobInfo[], parts: Part[], opts: Record<string, unknown>, rc: number): number {
  if (opts['json']) {
    process.stdout.write(safeJson({ jobs: list }) + '\n');
    return rc;
  }
  // Pending first (by priority), then running, then inactive (most recent first), as Flux does.
  const rank = (j: JobInfo) => (j.state === 'INACTIVE' ? 2 : j.state === 'RUN' || j.state === 'CLEANUP' ? 1 : 0);
  list.sort((a, b) => rank(a) - rank(b) || (rank(a) === 0 ? b.priority - a.priority || a.id - b.id : rank(a) === 2 ? (b.t_inactive ?? 0) - (a.t_inactive ?? 0) : b.id - a.id));
  const lines: string[] = [];
  if (opts['header'] !== false) lines.push(render(parts, (n) => HEADERS[n] ?? n.toUpperCase()));
  // Names, notes and reasons are user text: escaped before padding so columns stay aligned.
  for (const j of list) lines.push(render(parts, (n) => safeText(field(j, n))));
  process.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''));
  return rc;
}
