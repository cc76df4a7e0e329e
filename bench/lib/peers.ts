/**
 * The peers Fractal is compared with. Flux 0.88: static figures quoted from
 * ../shared/peers/flux/results.md (sched-simple medians, measured earlier on
 * this kind of machine; never measured by this benchmark). Slurm 22.05:
 * measured in the same run when the local peer of ../shared/peers/slurm/ is
 * up (setup.sh), the way its own bench.sh measures it.
 */
import { runCmd, median, progress } from './util.js';

/** Flux 0.88.0 (sched-simple), medians of results.md; keys are results.md's metric names. */
export const FLUX = {
  source: '../shared/peers/flux/results.md',
  realExec: { s1: { 1000: 38.6, 4000: 35.6 }, s4: { 1000: 40.2, 4000: 37.5 } } as Record<'s1' | 's4', Record<number, number>>, // tp.exec.sK.nN, jobs/s
  noop: { s1: { 4000: 97.1 }, s4: { 4000: 138.8 } } as Record<'s1' | 's4', Record<number, number>>, // tp.test.sK.n4000 (test exec 1 ms), jobs/s
  submitAlone: { n: 4000, rate: 726.8 }, // submit.exec.s1.n4000, jobs/s
  runLatencyMs: 155.8, // lat.run: flux run /bin/true
  cliSubmitLatencyMs: 146.9, // lat.submit: flux submit /bin/true (CLI, not an API round trip)
  startupMs: { s1: 1127, s4: 1718 } as Record<'s1' | 's4', number>, // start.s1, start.s4
  rssIdleMiB: 14.5, // rss.idle.exec.s1.n4000
  rssAfter4000RealMiB: 482.2, // rss.after.exec.s1.n4000
  rssAfter4000TestMiB: 809.1, // rss.after.test.s1.n4000
  rssAllRanksAfter4000RealS4MiB: 672.4, // rss.allranks.after.exec.s4.n4000
};

/** The Flux figure for a throughput row: the same N if results.md has it, else the nearest N, with that N shown. */
export function fluxRate(table: Record<number, number>, n: number): { rate: number; n: number } | undefined {
  const ns = Object.keys(table).map(Number);
  if (ns.length === 0) return undefined;
  const best = ns.reduce((a, b) => (Math.abs(Math.log(b / n)) < Math.abs(Math.log(a / n)) ? b : a));
  return { rate: table[best]!, n: best };
}

// ---- Slurm (measured in this run) ---------------------------------------------

export type SlurmStatus = { up: true; version: string } | { up: false; why: string };

export async function slurmStatus(): Promise<SlurmStatus> {
  const which = await runCmd('sh', ['-c', 'command -v sbatch'], { capture: true });
  if (which.code !== 0) return { up: false, why: 'slurm: not installed (run ../shared/peers/slurm/setup.sh)' };
  const ping = await runCmd('scontrol', ['ping'], { capture: true, timeoutMs: 20000 });
  if (ping.code !== 0 || !/UP/.test(ping.stdout)) {
    return { up: false, why: 'slurm: installed but not running: `scontrol ping` failed (run ../shared/peers/slurm/setup.sh)' };
  }
  const v = await runCmd('sinfo', ['-V'], { capture: true });
  return { up: true, version: v.stdout.trim() || 'slurm' };
}

async function queueLength(): Promise<number> {
  const r = await runCmd('squeue', ['-h', '-o', '%i'], { capture: true, timeoutMs: 30000 });
  if (r.code !== 0) return -1;
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

export interface SlurmResult {
  version: string;
  nodes: string;
  jobs: number;
  submitted: number;
  submitFailures: number;
  submitMs: number;
  totalMs: number;
  completed: number;
  /** The queue did not empty within the time limit: the rate is completed/elapsed. */
  capped: boolean;
  srunMs: number[];
}

/**
 * N single-job `sbatch --wrap=true` submissions from 4 concurrent loops (as
 * bench.sh's submit.par4), then the time until `squeue -h` is empty (as its
 * e2e rows); and `srun -n1 true` latency. Bounded by timeoutS; on timeout the
 * rest is cancelled.
 */
export async function runSlurm(jobs: number, timeoutS: number, srunSamples: number, t0EpochMs: number, version: string): Promise<SlurmResult | string> {
  const cwd = '/tmp'; // batch jobs inherit the cwd
  const q0 = await queueLength();
  if (q0 !== 0) return q0 < 0 ? 'slurm: squeue failed; skipped' : `slurm: queue not empty (${q0} jobs); skipped (scancel them first)`;
  const nodes = (await runCmd('sinfo', ['-h', '-o', '%D nodes, %c CPUs/node'], { capture: true })).stdout.trim().split('\n')[0] ?? '?';

  progress(t0EpochMs, `slurm: ${srunSamples} x srun -n1 true`);
  await runCmd('srun', ['-Q', '-n1', '-J', 'fractal_bench', 'true'], { cwd, timeoutMs: 60000 });
  const srunMs: number[] = [];
  for (let i = 0; i < srunSamples; i++) {
    const r = await runCmd('srun', ['-Q', '-n1', '-J', 'fractal_bench', 'true'], { cwd, timeoutMs: 60000 });
    if (r.code === 0) srunMs.push(r.ms);
  }
  while ((await queueLength()) > 0) await new Promise((r) => setTimeout(r, 100));

  progress(t0EpochMs, `slurm: ${jobs} x sbatch --wrap=true from 4 loops, then until squeue is empty (limit ${timeoutS} s)`);
  const par = 4;
  const t0 = performance.now();
  const loops = Array.from({ length: par }, (_, p) => {
    const count = Math.floor(jobs / par) + (p < jobs % par ? 1 : 0);
    const script = `f=0; for ((i = 0; i < ${count}; i++)); do sbatch -Q -J fractal_bench --wrap=true -o /dev/null >/dev/null 2>&1 || f=$((f + 1)); done; echo $f`;
    return runCmd('bash', ['-c', script], { capture: true, cwd, timeoutMs: timeoutS * 1000 });
  });
  const outs = await Promise.all(loops);
  const submitMs = performance.now() - t0;
  const submitFailures = outs.reduce((a, o) => a + (Number(o.stdout.trim()) || 0), 0);
  const submitted = jobs - submitFailures;
  const deadline = t0 + timeoutS * 1000;
  let left = await queueLength();
  let lastReport = performance.now();
  while (left !== 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = await queueLength();
    if (performance.now() - lastReport > 5000) {
      lastReport = performance.now();
      progress(t0EpochMs, `slurm: ${left} jobs still queued, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  }
  const totalMs = performance.now() - t0;
  const capped = left !== 0;
  const completed = submitted - Math.max(0, left);
  if (capped) {
    progress(t0EpochMs, `slurm: time limit reached with ${left} jobs queued; scancel -n fractal_bench`);
    await runCmd('scancel', ['-n', 'fractal_bench'], { timeoutMs: 60000 });
    const until = performance.now() + 120000;
    while ((await queueLength()) > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 500));
  }
  return { version, nodes, jobs, submitted, submitFailures, submitMs, totalMs, completed, capped, srunMs };
}

export function srunMedian(r: SlurmResult): number {
  return median(r.srunMs);
}
