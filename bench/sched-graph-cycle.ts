/**
 * bench/sched-graph-cycle: one scheduling cycle of the broker's scheduler
 * (a queue policy on the resource graph through GraphModel) over 10,000
 * pending jobs on a 1,000-node graph (32 cores per node, ~97 % busy), the
 * same workload as bench/sim-cycle on the pool model. Each row: the queue
 * depth the broker uses by default for that policy, or all jobs; with and
 * without per-job reasons (the broker explains at most every 250 ms).
 * Target (issue 5): EASY under 50 ms.
 *
 *   npm run build && node dist/bench/sched-graph-cycle.js [pending] [repeats] [--smoke]
 */
import { ResourceGraph, syntheticGraph, type CompiledJob } from '../src/resource/graph/index.js';
import { GraphModel, createPolicy, type PendingJob } from '../src/sched/index.js';
import { mulberry32 } from './lib/random.js';

// --smoke: 100 nodes, 20 pending jobs, one repeat (seconds; test/bench-smoke checks the table).
const smoke = process.argv.includes('--smoke');
const args = process.argv.slice(2).filter((a) => a !== '--smoke');
const pendingCount = Number(args[0] ?? (smoke ? 20 : 10000));
const repeats = Number(args[1] ?? (smoke ? 1 : 10));
const rnd = mulberry32(42);
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const NODES = smoke ? 100 : 1000, CORES = 32;
const t0 = performance.now();
const graph = new ResourceGraph(syntheticGraph({ racksPerCluster: 10, nodesPerRack: NODES / 10, coresPerSocket: CORES }), { policy: 'first' });
const buildMs = performance.now() - t0;
const now = 1_000_000;
graph.now = now;

const specs = new Map<string, CompiledJob>();
function spec(procs: number, nodes: number | undefined, limit: number): CompiledJob {
  const key = `${procs}:${nodes}:${limit}`;
  let s = specs.get(key);
  if (!s) {
    const slot = nodes !== undefined
      ? { type: 'node', count: nodes, exclusive: true, with: [{ type: 'slot', count: 1, label: 'task', with: [{ type: 'core', count: CORES }] }] }
      : { type: 'slot', count: procs, label: 'task', with: [{ type: 'core', count: 1 }] };
    s = graph.compile({ version: 1, resources: [slot], tasks: [{ command: ['app'], slot: 'task', count: { per_slot: 1 } }], attributes: { system: { duration: limit } } });
    specs.set(key, s);
  }
  return s;
}

// Running jobs: ~97 % of the cores, ending over the next day.
let used = 0, nrunning = 0;
for (let id = 0; used < 0.97 * NODES * CORES; id++) {
  const procs = Math.min(int(1, 160), Math.floor(0.97 * NODES * CORES) - used + 1);
  const end = now + int(600, 86400);
  const r = graph.match(spec(procs, undefined, end - now), { at: now, jobid: 1_000_000 + id });
  if (r.outcome !== 'ALLOCATED') break;
  used += procs;
  nrunning++;
}

const pending: PendingJob[] = [];
for (let id = 1; id <= pendingCount; id++) {
  const limit = int(60, 48 * 3600);
  if (rnd() < 0.5) {
    const nodes = int(1, 64);
    pending.push({ id, submit: now - pendingCount + id, procs: nodes * CORES, nodes, limit, spec: spec(0, nodes, limit) });
  } else {
    const procs = int(1, 512);
    pending.push({ id, submit: now - pendingCount + id, procs, limit, spec: spec(procs, undefined, limit) });
  }
}
const head = Math.round(0.4 * NODES);
pending[0] = { id: 1, submit: now - pendingCount, procs: head * CORES, nodes: head, limit: 24 * 3600, spec: spec(0, head, 24 * 3600) };

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

const model = new GraphModel(graph);
process.stdout.write(`graph ${NODES} nodes x ${CORES} cores (${graph.store.count} vertices, built in ${buildMs.toFixed(0)} ms), ${nrunning} running (${((100 * used) / (NODES * CORES)).toFixed(1)} % busy), ${pending.length} pending\n`);
process.stdout.write('policy         depth  reasons  median ms    max ms  started  reservations\n');
const DEPTHS: Record<string, number> = { fcfs: 1000, easy: 1000, hybrid: 100, conservative: 100 };
for (const [name, depth] of [['fcfs', DEPTHS['fcfs']!], ['easy', DEPTHS['easy']!], ['easy', Infinity], ['hybrid', DEPTHS['hybrid']!], ['conservative', DEPTHS['conservative']!]] as const) {
  for (const explain of [false, true]) {
    const policy = createPolicy(name, { queueDepth: depth });
    const times: number[] = [];
    let started = 0, reservations = 0;
    for (let k = 0; k < repeats; k++) {
      const t = process.hrtime.bigint();
      const profile = model.profile(now, []);
      const plan = policy.plan({ now, pending, running: [], resources: { description: 'graph', infeasible: (j) => model.infeasible(j), profile: () => profile }, explain });
      profile.release(new Set(plan.start.map((j) => j.id)));
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      started = plan.start.length;
      reservations = plan.reservations.size;
      // Put the machine back as it was for the next repeat.
      for (const j of plan.start) graph.free(j.id);
    }
    process.stdout.write(
      `${name.padEnd(14)} ${(depth === Infinity ? 'all' : String(depth)).padStart(5)}  ${String(explain).padEnd(7)} ${median(times).toFixed(2).padStart(10)} ${Math.max(...times).toFixed(2).padStart(9)} ${String(started).padStart(8)} ${String(reservations).padStart(13)}\n`,
    );
  }
}
