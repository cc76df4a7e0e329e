/** `fractal run`: submit, then attach (print output, exit with the job's exit code). */
import { constraintsOption, jobspecFromOptions, urgencyOpt } from '../jobopts.js';
import { open } from '../util.js';
import { attachJob } from '../attach-job.js';

export default async function run(args: string[], opts: Record<string, unknown>): Promise<number> {
  const spec = jobspecFromOptions(args, opts, undefined, await constraintsOption(opts));
  const f = await open();
  const id = await f.submit(spec, urgencyOpt(opts));
  const rc = await attachJob(f, id, { label: !!opts['labelIo'] });
  f.close();
  return rc;
}
