import { open, jobId } from '../util.js';
import { attachJob } from '../attach-job.js';

export default async function attach(args: string[]): Promise<number> {
  const id = jobId(args[0]);
  const f = await open();
  const rc = await attachJob(f, id);
  f.close();
  return rc;
}
