import { open, jobId } from '../util.js';
import { invalid } from '../../errors/index.js';
import { safeJson } from '../safe-text.js';

export default async function jobInfo(args: string[]): Promise<number> {
  const id = jobId(args[0]);
  const f = await open();
  const info = await f.info(id);
  f.close();
  const key = args[1];
  if (key !== undefined && !['jobspec', 'R', 'job'].includes(key)) throw invalid(`unknown key "${key}": use jobspec, R or job`);
  const out = key === undefined ? info : info[key as 'jobspec' | 'R' | 'job'];
  process.stdout.write(safeJson(out, key === undefined ? 2 : 0) + '\n');
  return 0;
}
