/** `fractal wait ID` or `--all`: exit 0 when the job(s) succeeded, 1 otherwise. */
import { invalid } from '../../errors/index.js';
import { open, jobId } from '../util.js';
import { safeText } from '../safe-text.js';

export default async function wait(args: string[], opts: Record<string, unknown>): Promise<number> {
  const f = await open();
  try {
    if (opts['all']) {
      if (args.length) throw invalid('give a job id or --all, not both');
      const r = await f.waitAll();
      if (r.failed) process.stderr.write(`fractal wait: ${r.failed} job(s) failed\n`);
      return r.failed ? 1 : 0;
    }
    if (args.length !== 1) throw invalid('give one job id, or --all');
    const r = await f.wait(jobId(args[0]));
    if (!r.success) process.stderr.write(`fractal wait: job ${r.id}: ${r.result}${r.errstr ? ': ' + safeText(r.errstr) : ''}\n`);
    else if (opts['verbose']) process.stderr.write(`job ${r.id}: ${r.result}\n`);
    return r.success ? 0 : 1;
  } finally {
    f.close();
  }
}
