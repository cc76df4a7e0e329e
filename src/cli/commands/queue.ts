/** `fractal queue status|enable|disable [REASON]|start|stop|drain|idle` (as flux queue). */
import { invalid } from '../../errors/index.js';
import { open } from '../util.js';

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
      case 'drain': await f.rpc('job-manager.queue-drain'); return 0;
      case 'idle': await f.rpc('job-manager.queue-idle'); return 0;
      default: throw invalid(`unknown queue subcommand "${sub}": use status, enable, disable, start, stop, drain or idle`);
    }
    process.stdout.write(`Job submission is ${st.enabled ? 'enabled' : `disabled${st.reason ? ': ' + st.reason : ''}`}\n`);
    process.stdout.write(`Scheduling is ${st.started ? 'started' : 'stopped'}\n`);
    const c = st.counts;
    process.stdout.write(`${(c['DEPEND'] ?? 0) + (c['PRIORITY'] ?? 0) + (c['SCHED'] ?? 0)} pending, ${(c['RUN'] ?? 0) + (c['CLEANUP'] ?? 0)} running\n`);
    return 0;
  } finally {
    f.close();
  }
}
