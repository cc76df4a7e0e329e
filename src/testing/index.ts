/**
 * testing: helpers for tests only. `sharedDir()` finds the workplace's shared
 * test data (Flux vectors, workload traces) that lives beside the repository,
 * wherever the repository was cloned.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function sharedDir(): string {
  const candidates = [
    process.env['FRACTAL_SHARED'],
    resolve(process.cwd(), '..', 'shared'),
    fileURLToPath(new URL('../../../../shared', import.meta.url)),
    '/work/shared',
  ].filter((c): c is string => !!c);
  const found = candidates.find((c) => existsSync(resolve(c, 'vectors')));
  if (!found) throw new Error(`the shared test data (vectors, traces) was not found in ${candidates.join(', ')}: set FRACTAL_SHARED to that folder`);
  return found;
}
