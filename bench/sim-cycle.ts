/**
 * bench/sim-cycle: time one scheduling cycle over 10,000 pending jobs on a
 * 1,000-node pool (32 cores per node, 97 % busy with 600 running jobs), for
 * each policy, with and without the per-job reasons. Target (issue 5): EASY
 * under 50 ms. Run after building: `node dist/bench/sim-cycle.js [pending] [repeats] [--smoke]`.
 */
import { NodePool, createPolicy, type PendingJob, type RunningJob, type Snapshot } from '../src/sched/index.js';
import { mulberry32 } from './lib/random.js';

// --smoke: 100 pending jobs, one repeat (seconds; test/bench-smoke checks the table).
const smoke = process.argv.includes('--smoke');
const args = process.argv.slice(2).filter((a) => a !== '--smoke');
const pendingCount = Number(args[0] ?? (smoke ? 100 : 10000));
const repeats = Number(args[1] ?? (smoke ? 1 : 30));
const rnd = mulberry32(42);
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const pool = new NodePool({ nodes: 1000, coresPerNode: 32 });
const now = 1_000_000;

const running: RunningJob[] = [];
let used = 0;
for (let id = 0; used < 0.97 * pool.capacity; id++) {
  const procs = Math.min(int(1, 160), Math.floor(0.97 * pool.capacity) - used + 1);
  used += procs;
  const start = now - int(0, 36000);
  running.push({ id: 1_000_000 + id, procs, start, end: Math.max(now + 1, start + int(600, 86400)) });
}
running.sort((a, b) => a.end - b.end || a.id - b.id);

const pending: PendingJob[] = [];
for (let id = 0; id < pendingCount; id++) {
  const limit = int(60, 48 * 3600);
  if (rnd() < 0.5) pending.push({ id, submit: now - pendingCount + id, procs: 0, nodes: int(1, 64), limit });
  else pending.push({ id, submit: now - pendingCount + id, procs: int(1, 512), limit });
}
// A big job at the head, as in a real backlog.
pending[0] = { id: 0, submit: now - pendingCount, procs: 0, nodes: 400, limit: 24 * 3600 };

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

process.stdout.write(`pool ${pool.description} (${pool.capacity} cores), ${running.length} running (${((100 * used) / pool.capacity).toFixed(1)} % busy), ${pending.length} pending\n`);
process.stdout.write('policy         reasons  median ms   max ms   started  reservations\n');
for (const name of ['fcfs', 'easy', 'hybrid', 'conservative']) {
  for (const explain of [true, false]) {
    const policy = createPolicy(name);
    const snap: Snapshot = { now, pending, running, resources: pool, explain };
    const times: number[] = [];
    let started = 0, reservations = 0;
    // Conservative reserves every job (quadratic in the queue length): a few runs suffice.
    const n = name === 'conservative' ? Math.min(repeats, 3) : repeats;
    for (let k = 0; k < n; k++) {
      const t0 = process.hrtime.bigint();
      const plan = policy.plan(snap);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      started = plan.start.length;
      reservations = plan.reservations.size;
    }
    process.stdout.write(
      `${name.padEnd(14)} ${String(explain).padEnd(8)} ${median(times).toFixed(2).padStart(9)} ${Math.max(...times).toFixed(2).padStart(8)} ${String(started).padStart(9)} ${String(reservations).padStart(13)}\n`,
    );
  }
}
