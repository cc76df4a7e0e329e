/**
 * `fractal reservation create|list|update|delete`: advance reservations
 * (Slurm's scontrol create reservation). Jobs run in one with
 * `--reservation=NAME`; no other job is placed on its nodes when it would
 * overlap the window.
 */
import { invalid } from '../../errors/index.js';
import { parseDuration } from '../../jobspec/index.js';
import { intOpt, open } from '../util.js';
import { safeJson, safeText } from '../safe-text.js';

interface Resv { name: string; start: number; end: number; ranks: string; nnodes: number; users: string[]; accounts: string[]; pending?: number; running?: number }

/** ISO date (local time when no zone is given), epoch seconds, +DURATION, or now. */
export function timeOpt(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (s === 'now') return Date.now() / 1000;
  if (s.startsWith('+')) return Date.now() / 1000 + parseDuration(s.slice(1));
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw invalid(`${flag} "${s}": use an ISO date such as 2026-12-01T08:00, epoch seconds, +DURATION (e.g. +1h) or now`);
  return t / 1000;
}

function list(v: unknown): string[] | undefined {
  return v === undefined ? undefined : String(v).split(',').map((x) => x.trim()).filter(Boolean);
}

const when = (t: number): string => new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ');

export default async function reservation(args: string[], opts: Record<string, unknown>): Promise<number> {
  const [sub, positional] = args;
  const name = (opts['name'] as string | undefined) ?? positional;
  const request = (): Record<string, unknown> => {
    if (!name) throw invalid(`fractal reservation ${sub} needs a name: --name NAME`);
    const start = timeOpt(opts['start'], '--start');
    const end = timeOpt(opts['end'], '--end');
    const nodes = intOpt(opts['N'], '-N', 1);
    return {
      name,
      ...(start !== undefined ? { start } : {}),
      ...(end !== undefined ? { end } : {}),
      ...(opts['duration'] !== undefined ? { duration: parseDuration(String(opts['duration'])) } : {}),
      ...(nodes !== undefined ? { nnodes: nodes } : {}),
      ...((opts['nodes'] ?? opts['nodelist']) !== undefined ? { nodes: String(opts['nodes'] ?? opts['nodelist']) } : {}),
      ...(opts['users'] !== undefined ? { users: list(opts['users']) } : {}),
      ...(opts['accounts'] !== undefined ? { accounts: list(opts['accounts']) } : {}),
    };
  };
  const f = await open();
  try {
    switch (sub) {
      case 'create': case 'update': {
        const r = await f.rpc<Resv>(`sched.reservation-${sub}`, request());
        process.stdout.write(`reservation ${safeText(r.name)}: ${when(r.start)} .. ${when(r.end)} UTC, ${r.nnodes} node(s) (ranks ${r.ranks})\n`);
        return 0;
      }
      case 'delete': {
        if (!name) throw invalid('fractal reservation delete NAME');
        await f.rpc('sched.reservation-delete', { name });
        return 0;
      }
      case undefined: case 'list': {
        const { reservations } = await f.rpc<{ reservations: Resv[] }>('sched.reservation-list');
        if (opts['json']) {
          process.stdout.write(safeJson({ reservations }) + '\n');
          return 0;
        }
        const rows = [['NAME', 'START (UTC)', 'END (UTC)', 'NODES', 'RANKS', 'FOR', 'PENDING', 'RUNNING']];
        for (const r of reservations) {
          const who = [...r.users, ...r.accounts.map((a) => `account:${a}`)].join(',') || 'owner';
          rows.push([safeText(r.name), when(r.start), when(r.end), String(r.nnodes), r.ranks, safeText(who), String(r.pending ?? 0), String(r.running ?? 0)]);
        }
        const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        process.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n') + '\n');
        return 0;
      }
      default:
        throw invalid(`unknown reservation subcommand "${sub}": use create, list, update or delete`);
    }
  } finally {
    f.close();
  }
}
