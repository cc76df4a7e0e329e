import { open, jobId } from '../util.js';
import { safeText } from '../safe-text.js';

export default async function jobEventlog(args: string[], opts: Record<string, unknown>): Promise<number> {
  const id = jobId(args[0]);
  const f = await open();
  let t0: number | undefined;
  await f.watch(id, (ev) => {
    t0 ??= ev.timestamp;
    const ts = opts['human'] ? `[${(ev.timestamp - t0).toFixed(6).padStart(12)}]` : ev.timestamp.toFixed(6);
    const ctx = ev.context ? Object.entries(ev.context).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : '';
    process.stdout.write(`${ts} ${safeText(ev.name)}${ctx ? ' ' + safeText(ctx) : ''}\n`);
  }, !!opts['follow']);
  f.close();
  return 0;
}
