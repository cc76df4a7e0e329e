/** Where a nested instance keeps its files: shared by the exec and archive modules and `fractal start` in a job. */
import { createHash } from 'node:crypto';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** The state directory of a nested instance run by job `id` of the instance on `statedir` (docs/hierarchy.md). */
export function childDir(statedir: string, id: number): string {
  return join(statedir, 'jobs', String(id));
}

/**
 * Where the sockets of the instance on `statedir` go when `statedir` is too deep for a unix
 * socket path (~100 bytes): a short directory under /tmp named by a hash of it.
 */
export function shortRunDir(statedir: string): string {
  const h = createHash('sha256').update(statedir).digest('hex').slice(0, 16);
  return join(tmpdir(), `fractal-${userInfo().uid}-${h}`);
}
