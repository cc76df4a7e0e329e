/** `fractal usage [--by user|account|association] [--since TIME] [--until TIME] [--json]`: core- and GPU-hours of finished jobs. */
import { invalid } from '../../errors/index.js';
import { parseDuration } from '../../jobspec/index.js';
import { open } from '../util.js';
import { safeJson, safeText } from '../safe-text.js';

interface UsageReport { from: number; to: number; by: string; rows: { key: string; jobs: number; core_seconds: number; gpu_seconds: number }[] }

/** An ISO date, epoch seconds, or -DURATION (that long ago). */
function timeOpt(v: unknown, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  if (s.startsWith('-')) return Date.now() / 1000 - parseDuration(s.slice(1));
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw invalid(`${flag} "${s}": use an ISO date (2026-11-01 or 2026-11-01T08:00), epoch seconds, or -DURATION such as -7d`);
  return t / 1000;
}

export default async function usage(_args: string[], opts: Record<string, unknown>): Promise<number> {
  const from = timeOpt(opts['since'], '--since');
  const to = timeOpt(opts['until'], '--until');
  const f = await open();
  try {
    const r = await f.rpc<UsageReport>('accounting.usage', { by: String(opts['by'] ?? 'user'), ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) });
    if (opts['json']) {
      process.stdout.write(safeJson(r) + '\n');
      return 0;
    }
    const head = [r.by.toUpperCase(), 'JOBS', 'CORE-HOURS', 'GPU-HOURS'];
    const rows = r.rows.map((x) => [safeText(x.key), String(x.jobs), (x.core_seconds / 3600).toFixed(4), (x.gpu_seconds / 3600).toFixed(4)]);
    const all = [head, ...rows];
    const w = head.map((_, i) => Math.max(...all.map((x) => x[i]!.length)));
    process.stdout.write(all.map((x) => x.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n') + '\n');
    const day = (t: number) => new Date(t * 1000).toISOString().slice(0, 19).replace('T', ' ');
    process.stdout.write(`period ${r.from > 0 ? day(r.from) : 'start'} .. ${day(r.to)} UTC${rows.length ? '' : ' (no finished jobs)'}\n`);
    return 0;
  } finally {
    f.close();
  }
}
