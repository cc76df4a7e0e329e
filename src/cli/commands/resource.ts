/** `fractal resource list|status|drain TARGETS [REASON]|undrain TARGETS`. */
import { Hostlist, IdSet } from '../../resource/index.js';
import { invalid } from '../../errors/index.js';
import { open } from '../util.js';
import { safeText } from '../safe-text.js';

interface RankStatus { rank: number; hostname: string; ncores: number; ngpus: number; up: boolean; drained: boolean; reason: string }
interface TypeStat { type: string; total: number; allocated: number; down: number; drained: number; free: number }
interface SchedRank { rank: number; hostname: string; ncores: number; ngpus: number; freeCores: number; freeGpus: number; up: boolean; drained: boolean }

function group<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) m.set(key(r), [...(m.get(key(r)) ?? []), r]);
  return m;
}

export default async function resource(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const f = await open();
  try {
    switch (sub) {
      case 'list': {
        const s = await f.rpc<{ ranks: SchedRank[]; types?: TypeStat[]; properties?: Record<string, string> }>('sched.status');
        const state = (r: SchedRank) => (!r.up ? 'down' : r.drained ? 'drained' : r.freeCores === r.ncores && r.freeGpus === r.ngpus ? 'free' : r.freeCores === 0 ? 'allocated' : 'partial');
        const lines = [`${'STATE'.padStart(9)} ${'NNODES'.padStart(6)} ${'NCORES'.padStart(7)} ${'FREE'.padStart(5)} ${'NGPUS'.padStart(6)} NODELIST`];
        for (const [st, rows] of group(s.ranks, state)) {
          const cores = rows.reduce((a, r) => a + r.ncores, 0), free = rows.reduce((a, r) => a + r.freeCores, 0), gpus = rows.reduce((a, r) => a + r.ngpus, 0);
          lines.push(`${st.padStart(9)} ${String(rows.length).padStart(6)} ${String(cores).padStart(7)} ${String(free).padStart(5)} ${String(gpus).padStart(6)} ${safeText(Hostlist.fromArray(rows.map((r) => r.hostname)).encode())}`);
        }
        if (s.types) {
          // The graph scheduler also reports every resource type and the node properties.
          lines.push('', `${'TYPE'.padStart(9)} ${'TOTAL'.padStart(6)} ${'FREE'.padStart(7)} ${'ALLOC'.padStart(5)} ${'DRAIN'.padStart(6)} DOWN`);
          for (const t of s.types) {
            lines.push(`${safeText(t.type).padStart(9)} ${String(t.total).padStart(6)} ${String(t.free).padStart(7)} ${String(t.allocated).padStart(5)} ${String(t.drained).padStart(6)} ${t.down}`);
          }
          const props = Object.entries(s.properties ?? {});
          if (props.length) lines.push('', `${'PROPERTY'.padStart(9)} RANKS`, ...props.map(([k, r]) => `${safeText(k).padStart(9)} ${r}`));
        }
        process.stdout.write(lines.join('\n') + '\n');
        return 0;
      }
      case 'status': {
        const s = await f.rpc<{ ranks: RankStatus[] }>('resource.status');
        const state = (r: RankStatus) => (!r.up ? 'offline' : r.drained ? 'drained' : 'avail');
        const lines = [`${'STATE'.padStart(8)} ${'NNODES'.padStart(6)} ${'RANKS'.padEnd(8)} REASON`];
        for (const [key, rows] of group(s.ranks, (r) => `${state(r)}\u0000${r.reason}`)) {
          const [st, reason] = key.split('\u0000');
          lines.push(`${st!.padStart(8)} ${String(rows.length).padStart(6)} ${IdSet.fromArray(rows.map((r) => r.rank)).encode().padEnd(8)} ${safeText(reason ?? '')}`);
        }
        process.stdout.write(lines.join('\n') + '\n');
        return 0;
      }
      case 'drain': case 'undrain': {
        if (!rest[0]) throw invalid(`fractal resource ${sub} TARGETS: give ranks (0-3) or hostnames (node[1-2])`);
        const r = await f.rpc<{ ranks: string }>(`resource.${sub}`, { targets: rest[0], reason: rest.slice(1).join(' ') });
        process.stderr.write(`${sub === 'drain' ? 'drained' : 'undrained'} rank(s) ${r.ranks}\n`);
        return 0;
      }
      default:
        throw invalid(`unknown resource subcommand "${sub}": use list, status, drain or undrain`);
    }
  } finally {
    f.close();
  }
}
