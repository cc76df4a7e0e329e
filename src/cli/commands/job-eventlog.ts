import { eventlogAt } from '../../api/index.js';
import { open, jobId, globalUri } from '../util.js';
import { safeText } from '../safe-text.js';
import type { JobEvent } from '../../api/index.js';

export default async function jobEventlog(args: string[], opts: Record<string, unknown>): Promise<number> {
  let t0: number | undefined;
  const print = (ev: JobEvent) => {
    t0 ??= ev.timestamp;
    const ts = opts['human'] ? `[${(ev.timestamp - t0).toFixed(6).padStart(12)}]` : ev.timestamp.toFixed(6);
    const ctx = ev.context ? Object.entries(ev.context).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : '';
    process.stdout.write(`${ts} ${safeText(ev.name)}${ctx ? ' ' + safeText(ctx) : ''}\n`);
  };
  if (String(args[0]).includes('/')) {
    // A job of a nested instance (12/5): followed live, or read from the archive once its instance ended.
    await eventlogAt(String(args[0]), print, !!opts['follow'], { onStartingWait: (msg) => process.stderr.write(`fractal: ${msg}\n`) }, globalUri());
    return 0;
  }
  const id = jobId(args[0]);
  const f = await open();
  await f.watch(id, print, !!opts['follow']);
  f.close();
  return 0;
}
