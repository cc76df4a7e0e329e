/**
 * bench/archive-copy: the cost of keeping a nested instance's history
 * (docs/hierarchy.md). Builds a leaf database of N finished no-op jobs
 * (10 events each, a jobspec with a ~1.5 KB environment, as `fractal submit`
 * stores), archives it into a middle instance's store (as job 1), then the
 * middle into a root (as job 7: paths 7/1/N, three levels). Each copy runs
 * in its own process, so its peak RSS is the archiving broker's cost; the
 * longest event-loop stall says how long the broker could not answer.
 *
 *   npm run build && node dist/bench/archive-copy.js [N=100000] [--smoke]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Store, type JobRecord } from '../src/store/index.js';

const EVENTS = ['submit', 'validate', 'depend', 'priority', 'alloc', 'start', 'finish', 'release', 'free', 'clean'];

async function make(path: string, n: number): Promise<void> {
  const s = new Store(path, { log: () => {} });
  const env: Record<string, string> = {};
  for (let i = 0; i < 30; i++) env[`VAR_${i}`] = 'x'.repeat(40);
  const jobspec = JSON.stringify({ jobspec: { version: 1, resources: [{ type: 'slot', count: 1, with: [{ type: 'core', count: 1 }] }], tasks: [{ command: ['true'], slot: 'task', count: { per_slot: 1 } }], attributes: { system: { duration: 0, cwd: '/tmp', environment: env } } }, request: { nslots: 1 } });
  for (let id = 1; id <= n; id++) {
    const rec: JobRecord = {
      id, userid: 1000, name: 'true', state: 'INACTIVE', urgency: 16, priority: 16, t_submit: id, t_run: id + 0.1, t_inactive: id + 0.2, nnodes: 1, ntasks: 1, ncores: 1,
      result: 'COMPLETED', returncode: 0, exception: null, nodelist: 'n0', jobspec, R: '{"version":1,"execution":{"R_lite":[{"rank":"0","children":{"core":"0"}}]}}', waitstatus: 0, duration: 0,
    };
    s.putJob(rec);
    s.finishJob(rec);
    EVENTS.forEach((name, seq) => s.appendEvent(id, seq, { timestamp: id + seq / 100, name, ...(name === 'submit' ? { context: { userid: 1000, urgency: 16, flags: 0, version: 1 } } : {}) }));
    if (id % 5000 === 0) await s.flush();
  }
  await s.flush();
  s.close();
}

async function copy(into: string, prefix: string, from: string): Promise<void> {
  const s = new Store(into, { log: () => {} });
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const t0 = performance.now();
  const r = await s.archiveChild(prefix, from);
  const ms = performance.now() - t0;
  h.disable();
  s.close();
  process.stdout.write(JSON.stringify({ ...r, ms: Math.round(ms), peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), maxStallMs: Math.round(h.max / 1e6), p99StallMs: Math.round(h.percentile(99) / 1e6), p50StallMs: Math.round(h.percentile(50) / 1e6) }) + '\n');
}

const self = fileURLToPath(import.meta.url);
const [mode, ...rest] = process.argv.slice(2);
if (mode === 'make') await make(rest[0]!, Number(rest[1]));
else if (mode === 'copy') await copy(rest[0]!, rest[1]!, rest[2]!);
else {
  const smoke = process.argv.includes('--smoke');
  const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? (smoke ? 2000 : 100000));
  const dir = mkdtempSync(join(tmpdir(), 'frbench-arch-'));
  const run = (...args: string[]): string => {
    const r = spawnSync(process.execPath, ['--expose-gc', self, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const mb = (p: string) => (statSync(p).size / 2 ** 20).toFixed(0);
  try {
    const t0 = performance.now();
    run('make', join(dir, 'leaf.db'), String(n));
    process.stdout.write(`leaf: ${n} jobs made in ${((performance.now() - t0) / 1000).toFixed(1)} s (${mb(join(dir, 'leaf.db'))} MB)\n`);
    const two = JSON.parse(run('copy', join(dir, 'mid.db'), '1', join(dir, 'leaf.db'))) as Record<string, number>;
    process.stdout.write(`leaf -> middle (as 1/N):    ${two['jobs']} jobs, ${two['events']} events in ${two['ms']} ms; peak RSS ${two['peakRssMB']} MB; event-loop stalls p50 ${two['p50StallMs']} ms, p99 ${two['p99StallMs']} ms, max ${two['maxStallMs']} ms\n`);
    const three = JSON.parse(run('copy', join(dir, 'root.db'), '7', join(dir, 'mid.db'))) as Record<string, number>;
    process.stdout.write(`middle -> root (as 7/1/N): ${three['nested']} nested jobs in ${three['ms']} ms; peak RSS ${three['peakRssMB']} MB; event-loop stalls p50 ${three['p50StallMs']} ms, p99 ${three['p99StallMs']} ms, max ${three['maxStallMs']} ms (root ${mb(join(dir, 'root.db'))} MB)\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
