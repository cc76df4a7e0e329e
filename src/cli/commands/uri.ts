import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveUri } from '../../api/index.js';
import { FractalError, ErrorCodes } from '../../errors/index.js';
import { globalUri } from '../util.js';

export default async function uri(_args: string[], opts: Record<string, unknown>): Promise<number> {
  if (opts['stateDir'] !== undefined) {
    const dir = resolve(String(opts['stateDir']));
    try {
      process.stdout.write(readFileSync(join(dir, 'uri'), 'utf8'));
      return 0;
    } catch {
      throw new FractalError(ErrorCodes.NOT_FOUND, `no instance is running on ${dir} (no ${join(dir, 'uri')}); start one with \`fractal start --daemon --state-dir ${dir}\``);
    }
  }
  process.stdout.write(resolveUri(globalUri()) + '\n');
  return 0;
}
