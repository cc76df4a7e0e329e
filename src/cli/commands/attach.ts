import { open, jobId } from '../util.js';
import { attachJob } from '../attach-job.js';

export default async function attach(args: string[], opts: Record<string, unknown> = {}): Promise<number> {
  const id = jobId(args[0]);
  const f = await open();
  const rc = await attachJob(f, id, { label: !!opts['labelIo'] });
  f.close();
  return rc;
}
