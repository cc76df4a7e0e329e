/**
 * The executor's record of its running jobs' process groups (exec-<rank>.pgids,
 * one JSON line per job start and end), and the clean-up the broker does with
 * it when the executor died: kill every process of those jobs.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Process groups of the jobs an executor was running (from its pgids file): job id → pgids. */
export function livePgids(text: string): Map<number, number[]> {
  const live = new Map<number, number[]>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    let r: { id?: unknown; pgids?: unknown; end?: unknown };
    try {
      r = JSON.parse(line) as typeof r;
    } catch { continue; } // a torn last line: the job's other lines still count
    if (typeof r.end === 'number') live.delete(r.end);
    else if (typeof r.id === 'number' && Array.isArray(r.pgids)) live.set(r.id, [...(live.get(r.id) ?? []), ...r.pgids.filter((p): p is number => typeof p === 'number')]);
  }
  return live;
}

/**
 * Kills, with SIGKILL, every process of the jobs: whatever runs with the job's id in this
 * instance in its environment (so a task that left its process group with setsid dies too).
 * The environment, not a bare process group id, decides: a group id reused by an unrelated
 * process long after is never killed. Without /proc, the recorded groups are killed.
 *
 * A job's processes carry `FRACTAL_CHILD_DIR=<statedir>/jobs/<id>`, which names both the
 * instance and the job: the processes of a nested instance's jobs (whose own variable names a
 * deeper directory, and whose FRACTAL_JOB_ID is an id of the nested instance) are not mistaken
 * for a job of this one. Processes without it (started by an older version) are matched by
 * `instanceMark` (the state directory) and FRACTAL_JOB_ID.
 */
export function killJobProcesses(jobs: Map<number, number[]>, instanceMark: string): number {
  if (jobs.size === 0) return 0;
  let n = 0;
  let entries: string[] = [];
  try { entries = readdirSync('/proc'); } catch { /* no /proc: only the groups */ }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch { continue; }
    if (!environ.includes(instanceMark)) continue;
    const dir = /(?:^|\0)FRACTAL_CHILD_DIR=([^\0]*)\0/.exec(environ)?.[1];
    const id = dir !== undefined ? jobOfChildDir(dir, instanceMark) : Number(/(?:^|\0)FRACTAL_JOB_ID=(\d+)\0/.exec(environ)?.[1]);
    if (id === undefined || !jobs.has(id)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      n++;
    } catch { /* gone */ }
  }
  if (entries.length === 0) {
    for (const pgids of jobs.values()) for (const g of pgids) try { process.kill(-g, 'SIGKILL'); n++; } catch { /* empty */ }
  }
  return n;
}

/** The job id of `<statedir>/jobs/<id>` when `dir` is exactly that for this state directory. */
function jobOfChildDir(dir: string, statedir: string): number | undefined {
  const prefix = `${statedir.replace(/\/+$/, '')}/jobs/`;
  if (!dir.startsWith(prefix)) return undefined;
  const rest = dir.slice(prefix.length);
  return /^\d+$/.test(rest) ? Number(rest) : undefined;
}
