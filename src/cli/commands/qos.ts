/** `fractal qos list|add|modify|delete NAME [--priority N] [--preempt LIST] [--preempt-mode requeue|cancel] [--max-running N]`. */
import { invalid } from '../../errors/index.js';
import { intOpt, open } from '../util.js';
import { safeJson, safeText } from '../safe-text.js';

interface Qos { name: string; priority: number; max_running: number | null; preempt: string; preempt_mode: string }

export default async function qos(args: string[], opts: Record<string, unknown>): Promise<number> {
  const [sub, name] = args;
  const f = await open();
  try {
    switch (sub) {
      case undefined: case 'list': {
        const { qos: rows } = await f.rpc<{ qos: Qos[] }>('accounting.list');
        if (opts['json']) {
          process.stdout.write(safeJson({ qos: rows }) + '\n');
          return 0;
        }
        const table = [['NAME', 'PRIORITY', 'PREEMPTS', 'MODE', 'MAXRUN'], ...rows.map((q) => [safeText(q.name), String(q.priority), safeText(q.preempt) || '-', safeText(q.preempt_mode), q.max_running === null ? '-' : String(q.max_running)])];
        const w = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
        process.stdout.write(table.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n') + '\n');
        return 0;
      }
      case 'add': case 'modify': {
        if (!name) throw invalid(`fractal qos ${sub} NAME [--priority N] [--preempt LIST] [--preempt-mode requeue|cancel] [--max-running N]`);
        const p: Record<string, unknown> = { name };
        if (opts['priority'] !== undefined) {
          const n = Number(opts['priority']);
          if (!Number.isFinite(n) || n < 0) throw invalid(`--priority must be a number >= 0 (got ${String(opts['priority'])})`);
          p['priority'] = n;
        }
        if (opts['preempt'] !== undefined) p['preempt'] = String(opts['preempt']).split(',').map((x) => x.trim()).filter(Boolean);
        if (opts['preemptMode'] !== undefined) p['preempt_mode'] = String(opts['preemptMode']);
        if (opts['maxRunning'] !== undefined) p['max_running'] = String(opts['maxRunning']) === '-1' ? -1 : intOpt(opts['maxRunning'], '--max-running', 0);
        await f.rpc(`accounting.qos-${sub}`, p);
        return 0;
      }
      case 'delete': {
        if (!name) throw invalid('fractal qos delete NAME');
        await f.rpc('accounting.qos-delete', { name });
        return 0;
      }
      default:
        throw invalid(`unknown qos subcommand "${sub}": use list, add, modify or delete`);
    }
  } finally {
    f.close();
  }
}
