/**
 * Helpers for tests of nested instances (`fractal batch` inside a test
 * instance): run a batch script, wait for files it touches, find a child
 * instance's broker, wait for a child's history to be archived.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type JobInfo } from '../src/api/index.js';
import { waitFor, type Instance } from './helpers.js';

/** Nested instances start real brokers: on a loaded 2-core machine this can take many seconds. */
export const NESTED_TIMEOUT_MS = 180_000;

/** `fractal batch --wrap sh -c SCRIPT` (with more batch options before --wrap): the job id. */
export async function batch(inst: Instance, script: string, opts: string[] = []): Promise<number> {
  const r = await inst.ok(['batch', ...opts, '--wrap', 'sh', '-c', script]);
  const id = Number(r.stdout.trim().split('\n').pop());
  if (!Number.isInteger(id) || id <= 0) throw new Error(`fractal batch printed no job id: ${r.stdout}`);
  return id;
}

/** Waits until the file (in the instance's work directory) exists. */
export function waitFile(inst: Instance, name: string, timeoutMs = NESTED_TIMEOUT_MS): Promise<boolean> {
  return waitFor(`${name} to appear in ${inst.work}`, () => existsSync(join(inst.work, name)), timeoutMs, 200);
}

/** The state directory of the instance run by job `id` (`childDir()` in exec). */
export function childDir(inst: Instance, id: number): string {
  return join(inst.state, 'jobs', String(id));
}

/** Waits until the history of job `id`'s instance is archived (its directory is removed only then). */
export function waitArchived(inst: Instance, id: number, timeoutMs = NESTED_TIMEOUT_MS): Promise<boolean> {
  return waitFor(`job ${id}'s instance to be archived (${childDir(inst, id)} removed)`, () => !existsSync(childDir(inst, id)), timeoutMs, 200);
}

/** `fractal jobs ARGS --json` with the jobs' paths. */
export async function pathJobs(inst: Instance, args: string[]): Promise<(JobInfo & { path: string })[]> {
  const r = await inst.ok(['jobs', ...args, '--json']);
  return (JSON.parse(r.stdout) as { jobs: (JobInfo & { path: string })[] }).jobs;
}

/** Sorted paths of a listing. */
export function paths(jobs: { path: string }[]): string[] {
  return jobs.map((j) => j.path).sort();
}

/** The pid of rank 0's broker of the instance run by job `id` (asked through the URI the job records). */
export async function childBrokerPid(inst: Instance, id: number): Promise<number> {
  const uri = await waitFor(`job ${id} to record its instance's URI`, async () => (await inst.job(id)).uri, NESTED_TIMEOUT_MS, 200);
  const f = await connect(uri);
  try {
    return (await f.rpc<{ pid: number }>('broker.info', {}, 0)).pid;
  } finally {
    f.close();
  }
}
