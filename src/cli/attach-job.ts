/**
 * Follows one job to its end: prints its output as it arrives and reports
 * exceptions, then returns the job's exit code. Used by `run` and `attach`.
 */
import type { Fractal } from '../api/index.js';
import type { JobEvent } from '../protocol/index.js';
import { safeText } from './safe-text.js';

export async function attachJob(f: Fractal, id: number, opts: { label?: boolean } = {}): Promise<number> {
  let started = false;
  let interrupted = 0;
  const onInt = () => {
    interrupted++;
    if (interrupted === 1) process.stderr.write(`\nfractal: cancelling job ${id} (Ctrl-C again to detach)\n`);
    if (interrupted === 1) void f.cancel([id], 'interrupted').catch(() => {});
    else process.exit(130);
  };
  process.on('SIGINT', onInt);
  const output = f.output(id, (c) => {
    const line = opts.label ? c.data.replace(/^(?=.)/gm, `${c.rank}: `) : c.data;
    (c.stream === 'stderr' ? process.stderr : process.stdout).write(line);
  }).catch(() => { /* the event log watch below reports what went wrong */ });
  await f.watch(id, (ev: JobEvent) => {
    if (ev.name === 'start') started = true;
    if (ev.name === 'exception' && ev.context?.['severity'] === 0) {
      const note = ev.context['note'] ? `: ${safeText(String(ev.context['note']))}` : '';
      process.stderr.write(`fractal: job ${id}: ${String(ev.context['type'])} exception${note}\n`);
    }
  });
  if (started) {
    await Promise.race([output, new Promise((r) => setTimeout(r, 2000).unref())]);
  }
  process.off('SIGINT', onInt);
  const r = await f.wait(id);
  if (r.returncode !== null && r.returncode !== undefined) return r.returncode;
  return r.success ? 0 : 1;
}
