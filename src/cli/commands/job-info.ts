import { jobInfoAt } from '../../api/index.js';
import { open, jobId, globalUri } from '../util.js';
import { invalid } from '../../errors/index.js';
import { safeJson } from '../safe-text.js';

export default async function jobInfo(args: string[]): Promise<number> {
  const key = args[1];
  if (key !== undefined && !['jobspec', 'R', 'job'].includes(key)) throw invalid(`unknown key "${key}": use jobspec, R or job`);
  let info: { job: unknown; jobspec: unknown; R: unknown };
  if (String(args[0]).includes('/')) {
    // A job of a nested instance (12/5): asked live, or read from the archive once its instance ended.
    info = await jobInfoAt(String(args[0]), { onStartingWait: (msg) => process.stderr.write(`fractal: ${msg}\n`) }, globalUri());
  } else {
    const id = jobId(args[0]);
    const f = await open();
    info = await f.info(id);
    f.close();
  }
  const out = key === undefined ? info : info[key as 'jobspec' | 'R' | 'job'];
  process.stdout.write(safeJson(out, key === undefined ? 2 : 0) + '\n');
  return 0;
}
