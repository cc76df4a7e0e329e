/** `fractal job kill [-s SIG] ID`: signal a running job's tasks. */
import { open, jobId } from '../util.js';

const NUMBERS: Record<string, string> = { 1: 'HUP', 2: 'INT', 3: 'QUIT', 9: 'KILL', 10: 'USR1', 12: 'USR2', 14: 'ALRM', 15: 'TERM', 18: 'CONT', 19: 'STOP', 20: 'TSTP' };

export default async function jobKill(args: string[], opts: Record<string, unknown>): Promise<number> {
  const id = jobId(args[0]);
  const raw = String(opts['signal'] ?? 'TERM');
  const signal = NUMBERS[raw] ?? raw;
  const f = await open();
  await f.rpc('job-manager.kill', { id, signal });
  f.close();
  return 0;
}
