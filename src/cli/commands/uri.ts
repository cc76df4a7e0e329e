import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isJobPath, resolveJobPath, resolveUri } from '../../api/index.js';
import { FractalError, ErrorCodes, invalid } from '../../errors/index.js';
import { globalUri } from '../util.js';

/** A job path argument: a job id, or ids through nested levels (12/5/3). */
export function jobPathArg(s: string | undefined): string {
  if (s === undefined || !isJobPath(s)) throw invalid(`"${s ?? ''}" is not a job path: give a job id (12) or ids through nested instances (12/5)`);
  return s;
}

/** `fractal uri [JOBPATH]`: the current instance's URI, a state directory's, or a nested instance's. */
export default async function uri(args: string[], opts: Record<string, unknown>): Promise<number> {
  if (args[0] !== undefined) {
    const { instance, uris } = await resolveJobPath(jobPathArg(args[0]));
    instance.close();
    process.stdout.write(uris[uris.length - 1] + '\n');
    return 0;
  }
  if (opts['stateDir'] !== undefined) {
    const dir = resolve(String(opts['stateDir']));
    try {
      process.stdout.write(readFileSync(join(dir, 'uri'), 'utf8'));
      return 0;
    } catch {
      throw new FractalError(ErrorCodes.NOT_FOUND, `no instance is running on ${dir} (no ${join(dir, 'uri')}); start one with \`fractal start --daemon --state-dir ${dir}\``);
    }
  }
  const g = globalUri();
  if (g !== undefined && isJobPath(g)) {
    const { instance, uris } = await resolveJobPath(g);
    instance.close();
    process.stdout.write(uris[uris.length - 1] + '\n');
    return 0;
  }
  process.stdout.write(resolveUri(g) + '\n');
  return 0;
}
