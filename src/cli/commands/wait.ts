/**
 * `fractal wait ID` or `--all`: exit 0 when the job(s) succeeded, 1 otherwise.
 * `--all` reaps every failed result not reaped yet (also of jobs that ended
 * before the wait began) and prints each one.
 */
import { invalid } from '../../errors/index.js';
import type { WaitResponse } from '../../api/index.js';
import { open, jobId } from '../util.js';
import { safeText } from '../safe-text.js';

const line = (r: WaitResponse): string => `fractal wait: job ${r.id}: ${r.result}${r.errstr ? ': ' + safeText(r.errstr) : ''}\n`;

export default async function wait(args: string[], opts: Record<string, unknown>): Promise<number> {
  const f = await open();
  try {
    if (opts['all']) {
      if (args.length) throw invalid('give a job id or --all, not both');
      const r = await f.waitAll();
      const shown = r.jobs ?? [];
      for (const j of shown) process.stderr.write(line(j));
      if (r.failed > shown.length) process.stderr.write(`fractal wait: ... and ${r.failed - shown.length} more (see \`fractal jobs -a -f inactive\`)\n`);
      if (r.failed) process.stderr.write(`fractal wait: ${r.failed} job(s) failed\n`);
      return r.failed ? 1 : 0;
    }
    if (args.length !== 1) throw invalid('give one job id, or --all');
    const r = await f.wait(jobId(args[0]));
    if (!r.success) process.stderr.write(line(r));
    else if (opts['verbose']) process.stderr.write(`job ${r.id}: ${r.result}\n`);
    return r.success ? 0 : 1;
  } finally {
    f.close();
  }
}
