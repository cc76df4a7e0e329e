/**
 * `fractal account list|add|modify|delete|add-user|modify-user|delete-user`:
 * the account tree, users' associations, shares and limits (like Slurm's
 * sacctmgr and flux-accounting). Changes need the instance owner.
 */
import { invalid } from '../../errors/index.js';
import { intOpt, open } from '../util.js';
import { safeJson, safeText } from '../safe-text.js';

interface Shares { norm_shares: number; norm_usage: number; fairshare: number }
interface Account extends Shares { name: string; parent: string | null; shares: number; max_running: number | null; max_cores: number | null; description: string }
interface User extends Shares { user: string; account: string; shares: number; max_running: number | null; max_cores: number | null; is_default: number; decayed: number }
interface Listing { cluster: string; halfLife: number; accounts: Account[]; users: User[] }

function sharesOpt(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw invalid(`--shares must be a number >= 0 (got ${String(v)})`);
  return n;
}

function limits(opts: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const s = sharesOpt(opts['shares']);
  if (s !== undefined) out['shares'] = s;
  for (const [flag, key] of [['maxRunning', 'max_running'], ['maxCores', 'max_cores']] as const) {
    if (opts[flag] === undefined) continue;
    out[key] = String(opts[flag]) === '-1' ? -1 : intOpt(opts[flag], `--${key.replace('_', '-')}`, 0);
  }
  return out;
}

const fmtLimit = (v: number | null): string => (v === null ? '-' : String(v));

/** The account tree: raw and normalized shares, normalized decayed usage, fair-share factor, limits. */
function printTree(l: Listing): void {
  const rows: string[][] = [['NAME', 'SHARES', 'NORM', 'USAGE', 'FAIRSHARE', 'MAXRUN', 'MAXCORES', 'DECAYED']];
  const line = (label: string, x: Shares & { shares: number; max_running: number | null; max_cores: number | null }, decayed: string): string[] =>
    [label, String(x.shares), x.norm_shares.toFixed(3), x.norm_usage.toFixed(3), x.fairshare.toFixed(3), fmtLimit(x.max_running), fmtLimit(x.max_cores), decayed];
  const walk = (a: Account, depth: number): void => {
    rows.push(line(`${'  '.repeat(depth)}${safeText(a.name)}`, a, ''));
    for (const u of l.users.filter((v) => v.account === a.name)) rows.push(line(`${'  '.repeat(depth + 1)}${safeText(u.user)}${u.is_default ? ' *' : ''}`, u, u.decayed.toFixed(0)));
    for (const k of l.accounts.filter((x) => x.parent === a.name)) walk(k, depth + 1);
  };
  for (const a of l.accounts.filter((x) => x.parent === null)) walk(a, 0);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n');
  process.stdout.write(`cluster ${safeText(l.cluster)}; DECAYED is core-seconds with a half-life of ${+(l.halfLife / 86400).toFixed(3)} days; * marks a user's default account\n`);
}

export default async function account(args: string[], opts: Record<string, unknown>): Promise<number> {
  const [sub, a1, a2] = args;
  const f = await open();
  try {
    switch (sub) {
      case undefined: case 'list': {
        const l = await f.rpc<Listing>('accounting.list');
        if (opts['json']) process.stdout.write(safeJson(l) + '\n');
        else if (l.accounts.length === 0) process.stdout.write('no accounts yet: add one with `fractal account add NAME [--parent P] [--shares N]`\n');
        else printTree(l);
        return 0;
      }
      case 'add': case 'modify': {
        if (!a1) throw invalid(`fractal account ${sub} NAME [--parent P] [--shares N] [--max-running N] [--max-cores N] [--description TEXT]`);
        await f.rpc(`accounting.account-${sub}`, {
          name: a1, ...limits(opts),
          ...(opts['parent'] !== undefined ? { parent: String(opts['parent']) } : {}),
          ...(opts['description'] !== undefined ? { description: String(opts['description']) } : {}),
        });
        return 0;
      }
      case 'delete': {
        if (!a1) throw invalid('fractal account delete NAME');
        await f.rpc('accounting.account-delete', { name: a1 });
        return 0;
      }
      case 'add-user': case 'modify-user': {
        if (!a1 || !a2) throw invalid(`fractal account ${sub} USER ACCOUNT [--shares N] [--default] [--max-running N] [--max-cores N]`);
        await f.rpc(`accounting.user-${sub === 'add-user' ? 'add' : 'modify'}`, { user: a1, account: a2, ...limits(opts), ...(opts['default'] ? { default: true } : {}) });
        return 0;
      }
      case 'delete-user': {
        if (!a1 || !a2) throw invalid('fractal account delete-user USER ACCOUNT');
        await f.rpc('accounting.user-delete', { user: a1, account: a2 });
        return 0;
      }
      default:
        throw invalid(`unknown account subcommand "${sub}": use list, add, modify, delete, add-user, modify-user or delete-user`);
    }
  } finally {
    f.close();
  }
}
