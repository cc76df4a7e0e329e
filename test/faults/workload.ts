/**
 * Shared set-up of the kill -9 fault tests: a 4-broker instance (tree 0 → 1,2;
 * 1 → 3) with jobs running on every rank, gated on files so that the test,
 * not a clock, decides when they end.
 *
 * - one `-N4` job (a task per rank) that exits 7,
 * - one job per rank (`--requires rank:R`) that exits 10+R.
 *
 * Every task appends "JOBID TASKRANK NODEINDEX PID" to starts.log when it starts: a job
 * that ran twice shows twice. Each task's shell carries a unique marker in
 * its command line, so leftovers are found by pgrep (processesMatching).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isBrokerCmd, isExecutorCmd, type Instance, isAlive, processesMatching, waitFor } from '../helpers.js';

export interface Workload {
  marker: string;
  all: number;
  perRank: number[];
  /** Exit code each job must end with. */
  codes: Map<number, number>;
}

/** The task command: log the start, wait for the gate file, exit with `code`. A background child is left behind. */
function script(code: number, gate: string, marker: string): string[] {
  return ['sh', '-c', `echo "$FRACTAL_JOB_ID $FRACTAL_TASK_RANK $FRACTAL_NODE_RANK $$" >> starts.log; sh -c 'sleep 300; true' ${marker}-bg & while [ ! -e ${gate} ]; do sleep 0.1; done; exit ${code}`, marker];
}

export async function startWorkload(inst: Instance, tag: string): Promise<Workload> {
  const marker = `fltmk-${tag}-${process.pid}-${Date.now()}`;
  const all = await inst.submit(['-N4', '-n4', '-c1', '--', ...script(7, 'go-all', `${marker}-all`)]);
  const perRank: number[] = [];
  for (let r = 0; r < 4; r++) perRank.push(await inst.submit(['--requires', `rank:${r}`, '-n1', '-c1', '--', ...script(10 + r, `go-rank`, `${marker}-r${r}`)]));
  const codes = new Map<number, number>([[all, 7], ...perRank.map((id, r) => [id, 10 + r] as [number, number])]);
  await waitFor('all 8 tasks to start', () => startLines(inst).length === 8, 60000);
  for (const id of codes.keys()) assert.equal((await inst.job(id)).state, 'RUN', `job ${id} runs`);
  return { marker, all, perRank, codes };
}

export function startLines(inst: Instance): string[] {
  const f = join(inst.work, 'starts.log');
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
}

/** Pids of the job's task shells, by node index within the job. */
export function taskPids(inst: Instance, id: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of startLines(inst)) {
    const [job, , node, pid] = l.split(' ').map(Number);
    if (job === id) out.set(node!, pid!);
  }
  return out;
}

/** Lets the jobs end: `rank` opens the per-rank jobs' gate, `all` the -N4 job's. */
export function openGate(inst: Instance, which: 'rank' | 'all'): void {
  writeFileSync(join(inst.work, which === 'rank' ? 'go-rank' : 'go-all'), '');
}

/** Each task of the workload started exactly once (never re-run by a restart). */
export function assertRanOnce(inst: Instance, w: Workload): void {
  const lines = startLines(inst).map((l) => l.split(' ').slice(0, 2).join(' ')).sort();
  const want = [...[0, 1, 2, 3].map((t) => `${w.all} ${t}`), ...w.perRank.map((id) => `${id} 0`)].sort();
  assert.deepEqual(lines, want, 'every task started exactly once');
}

/** Pids of the brokers (`rank` given: that one) and executors of the instance. */
export function brokerPid(inst: Instance, rank: number): number {
  const p = inst.processes().find((x) => isBrokerCmd(x.cmdline) && new RegExp(`--rank ${rank}( |$)`).test(x.cmdline));
  assert.ok(p, `broker rank ${rank} runs`);
  return p.pid;
}

export function executorPid(inst: Instance, rank: number): number | undefined {
  return inst.processes().find((x) => isExecutorCmd(x.cmdline) && x.cmdline.includes(`exec-${rank}.sock`))?.pid;
}

export async function kill9(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await waitFor(`process ${pid} to die`, () => !isAlive(pid), 10000, 20);
}

/** Processes whose command line carries the marker (task shells and their background children). */
export function leftovers(marker: string): string[] {
  return processesMatching(marker).filter((p) => p.cmdline.includes(marker)).map((p) => `${p.pid}: ${p.cmdline}`);
}
