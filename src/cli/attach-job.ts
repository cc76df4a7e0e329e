/**
 * Follows one job to its end: prints its output as it arrives and reports
 * exceptions, then returns the job's exit code. Used by `run` and `attach`.
 */
import type { Fractal } from '../api/index.js';
import type { JobEvent } from '../protocol/index.js';
import { safeText } from './safe-text.js';

/** Output page asked of the broker: small pages keep this process small; 256 KiB still moves 100+ MB/s. */
const PAGE_BYTES = 256 * 1024;

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
  // Output is pulled page by page; a page is asked for only once the previous one is written out
  // (a slow reader of our stdout slows the transfer, it does not grow this process).
  const output = f.output(id, (c) => {
    const line = opts.label ? c.data.replace(/^(?=.)/gm, `${c.rank}: `) : c.data;
    const out = c.stream === 'stderr' ? process.stderr : process.stdout;
    if (out.write(line)) return;
    return new Promise<void>((resolve) => {
      const done = (): void => { out.off('drain', done); out.off('close', done); out.off('error', done); resolve(); };
      out.on('drain', done).on('close', done).on('error', done);
    });
  }, true, PAGE_BYTES).catch(() => { /* the event log watch below reports what went wrong */ });
  await f.watch(id, (ev: JobEvent) => {
    if (ev.name === 'start') started = true;
    if (ev.name === 'exception' && ev.context?.['severity'] === 0) {
      const note = ev.context['note'] ? `: ${safeText(String(ev.context['note']))}` : '';
      process.stderr.write(`fractal: job ${id}: ${String(ev.context['type'])} exception${note}\n`);
    }
  });
  // The job has ended: its output ends too (the last page says done), however long the reader takes.
  if (started) await output;
  process.off('SIGINT', onInt);
  const r = await f.wait(id);
  if (r.returncode !== null && r.returncode !== undefined) return r.returncode;
  return r.success ? 0 : 1;
}
