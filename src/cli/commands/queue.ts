/** `fractal queue status|list|enable|disable [REASON]|start|stop|drain|idle` (as flux queue). */
import { invalid } from '../../errors/index.js';
import { open, shortDuration } from '../util.js';
import { safeText } from '../safe-text.js';

interface QueueRow { name: string; default: boolean; policy: string; ranks: string; maxDuration: number | null; maxNodes: number | null; pending: number; running: number }

interface QueueStatus { enabled: boolean; reason: string; started: boolean; counts: Record<string, number> }

export default async function queue(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const f = await open();
  try {
    let st: QueueStatus | undefined;
    switch (sub) {
      case 'status': st = await f.rpc<QueueStatus>('job-manager.queue-status'); break;
      case 'enable': st = await f.rpc<QueueStatus>('job-manager.queue-enable', { enable: true }); break;
      case 'disable': st = await f.rpc<QueueStatus>('job-manager.queue-enable', { enable: false, reason: rest.join(' ') }); break;
      case 'start': st = await f.rpc<QueueStatus>('job-manager.queue-start', { start: true }); break;
      case 'stop': st = await f.rpc<QueueStatus>('job-manager.queue-start', { start: false }); break;
      case 'list': {
        const { queues } = await f.rpc<{ queues: QueueRow[] }>('sched.queue-list');
        if (queues.length === 0) {
          process.stdout.write('one queue (no named queues; configure them with -o queues=NAME,... at fractal start)\n');
          return 0;
        }
        const rows = [['QUEUE', 'POLICY', 'RANKS', 'MAXTIME', 'MAXNODES', 'PENDING', 'RUNNING'], ...queues.map((q) => [
          safeText(q.name) + (q.default ? '*' : ''), safeText(q.policy), q.ranks, q.maxDuration === null ? '-' : shortDuration(q.maxDuration),
          q.maxNodes === null ? '-' : String(q.maxNodes), String(q.pending), String(q.running),
        ])];
        const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        process.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n') + '\n');
        return 0;
      }
      case 'drain': await f.rpc('job-manager.queue-drain'); return 0;
      case 'idle': await f.rpc('job-manager.queue-idle'); return 0;
      default: throw invalid(`unknown queue subcommand "${sub}": use status, list, enable, disable, start, stop, drain or idle`);
    }
    process.stdout.write(`Job submission is ${st.enabled ? 'enabled' : `disabled${st.reason ? ': ' + safeText(st.reason) : ''}`}\n`);
    process.stdout.write(`Scheduling is ${st.started ? 'started' : 'stopped'}\n`);
    const c = st.counts;
    process.stdout.write(`${(c['DEPEND'] ?? 0) + (c['PRIORITY'] ?? 0) + (c['SCHED'] ?? 0)} pending, ${(c['RUN'] ?? 0) + (c['CLEANUP'] ?? 0)} running\n`);
    return 0;
  } finally {
    f.close();
  }
}
