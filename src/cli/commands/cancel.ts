import { invalid } from '../../errors/index.js';
import { open, jobId } from '../util.js';
import { safeText } from '../safe-text.js';

export default async function cancel(args: string[], opts: Record<string, unknown>): Promise<number> {
  if (!opts['all'] && args.length === 0) throw invalid('give job ids to cancel, or --all');
  if (opts['all'] && args.length) throw invalid('give job ids or --all, not both');
  const ids = args.map(jobId);
  const f = await open();
  const note = opts['message'] ? String(opts['message']) : undefined;
  let rc = 0;
  if (opts['all']) {
    const r = await f.cancel('all', note);
    process.stderr.write(`fractal cancel: canceled ${r.canceled} job(s)\n`);
  } else {
    // One request per job so that one bad id does not stop the others.
    for (const id of ids) {
      try {
        await f.cancel([id], note);
      } catch (e) {
        process.stderr.write(`fractal cancel: ${id}: ${safeText((e as Error).message)}\n`);
        rc = 1;
      }
    }
  }
  f.close();
  return rc;
}
