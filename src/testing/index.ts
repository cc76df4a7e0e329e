/**
 * testing: helpers for tests only. `sharedDir()` finds the workplace's shared
 * test data (Flux vectors, workload traces) that lives beside the repository,
 * wherever the repository was cloned.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { FractalError } from '../errors/index.js';

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

/** Asserts that `fn` throws a FractalError EINVAL whose message matches `re`. */
export function throwsInvalid(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof FractalError, 'expected a FractalError');
    assert.equal(e.code, 'EINVAL');
    assert.match(e.message, re);
    return true;
  });
}

export { makeHosts, netnsAvailable, type Host, type Hosts } from './netns.js';
