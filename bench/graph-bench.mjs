#!/usr/bin/env node
// Resource graph benchmark (issue 4 targets) on a synthetic machine:
// 128 racks × 128 nodes × 2 sockets × 32 cores × 4 GPUs (16,384 nodes,
// about 1.16 M vertices). Run from the project root after `npm ci`:
//
//   node bench/graph-bench.mjs [--racks 128] [--nodes-per-rack 128] [--policy first] [--json] [--smoke]
//
// --smoke: 2 racks × 4 nodes and short loops, seconds; checks that the
// benchmark still runs (test/bench-smoke), its figures mean nothing.
//
// Prints a table: measured value, target, and Fluxion's figure where the
// issue quotes one (flux-sched issue 1171, 16,384 nodes / 1.65 M vertices).
import { performance } from 'node:perf_hooks';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { syntheticGraph, loadConfigText, ResourceGraph } = await import(resolve(root, 'dist/src/resource/graph/index.js'));
const { Rv1 } = await import(resolve(root, 'dist/src/resource/rv1.js'));

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : def;
};
const smoke = argv.includes('--smoke');
const RACKS = Number(opt('--racks', smoke ? 2 : 128));
const PER_RACK = Number(opt('--nodes-per-rack', smoke ? 4 : 128));
const POLICY = opt('--policy', 'first');
const NODES = RACKS * PER_RACK;
const json = argv.includes('--json');

const mb = (b) => (b / 1024 / 1024).toFixed(0);
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor((a.length * p) / 100))];
const ms = (x) => (x < 10 ? x.toFixed(3) : x.toFixed(1));
const job = (nodes, { cores = 64, gpus = 4, exclusive = false, constraints, duration = 3600 } = {}) => ({
  version: 1,
  resources: [{ type: 'node', count: nodes, ...(exclusive ? { exclusive: true } : {}), with: [{ type: 'slot', count: 1, label: 'task', with: [{ type: 'core', count: cores }, ...(gpus ? [{ type: 'gpu', count: gpus }] : [])] }] }],
  tasks: [{ command: ['app'], slot: 'task', count: { per_slot: 1 } }],
  attributes: { system: { duration, ...(constraints ? { constraints } : {}) } },
});
const rows = [];
const row = (what, value, target, fluxion = '—', pass = undefined) => rows.push({ what, value, target, fluxion, pass });
const gc = () => globalThis.gc?.();

// ---- build ------------------------------------------------------------------------
gc();
const mem0 = process.memoryUsage();
let t = performance.now();
const store = syntheticGraph({
  racksPerCluster: RACKS,
  nodesPerRack: PER_RACK,
  socketsPerNode: 2,
  coresPerSocket: 32,
  gpusPerSocket: 2,
  nodeProperties: (i) => (i % 2 === 1 ? { 'gpu-model': 'a100' } : undefined),
});
const graph = new ResourceGraph(store, { policy: POLICY });
const buildMs = performance.now() - t;
gc();
const mem1 = process.memoryUsage();
const graphBytes = mem1.heapUsed + mem1.arrayBuffers - (mem0.heapUsed + mem0.arrayBuffers);
row(`build graph (${store.count.toLocaleString('en-US')} vertices, synthetic)`, `${ms(buildMs)} ms`, '< 3 s', '70 s (JGF load)', buildMs < 3000);
row('graph memory (heap + typed arrays)', `${mb(graphBytes)} MB (rss ${mb(mem1.rss)} MB)`, '< 2 GB', '—', mem1.rss < 2 * 1024 ** 3);

// The same machine from a resource config file (YAML text → graph).
const racksYaml = Array.from({ length: RACKS }, (_v, r) => `  - { name: rack${r}, hosts: "node[${r * PER_RACK}-${(r + 1) * PER_RACK - 1}]" }`).join('\n');
const yaml = `cluster: cluster0\nracks:\n${racksYaml}\nhosts:\n  - { hosts: "node[0-${NODES - 1}]", sockets: 2, cores: 64, gpus: 4 }\n`;
t = performance.now();
const fromConfig = new ResourceGraph(loadConfigText(yaml));
const configMs = performance.now() - t;
row(`load graph from a config file (${fromConfig.store.count.toLocaleString('en-US')} vertices)`, `${ms(configMs)} ms`, '< 3 s', '70 s (JGF load)', configMs < 3000);

// ---- whole machine (empty) ------------------------------------------------------
const whole = graph.compile(job(NODES));
t = performance.now();
const w = graph.match(whole);
const wholeMs = performance.now() - t;
if (w.outcome !== 'ALLOCATED') throw new Error(`whole machine: ${w.outcome} ${w.reason ?? ''}`);
row(`match the whole machine (${NODES} nodes)`, `${ms(wholeMs)} ms`, '< 500 ms', '—', wholeMs < 500);
t = performance.now();
graph.free(w.jobid);
const freeWholeMs = performance.now() - t;

// ---- R for a 10,000-node allocation -----------------------------------------------
const tenK = Math.min(10_000, NODES);
const big = graph.match(job(tenK, { exclusive: true }));
if (big.outcome !== 'ALLOCATED') throw new Error(`R test: ${big.outcome}`);
t = performance.now();
const R = graph.rv1(big.jobid);
const buildRMs = performance.now() - t;
const encT = [];
const decT = [];
let text = '';
// R of uniform nodes without properties: drop the per-node property so the figure is the case.
const uniform = Rv1.fromRanks(R.entries(), { starttime: R.starttime, expiration: R.expiration });
for (let i = 0; i < (smoke ? 2 : 20); i++) {
  let t0 = performance.now();
  text = JSON.stringify(uniform.toJSON());
  encT.push(performance.now() - t0);
  t0 = performance.now();
  const back = Rv1.parse(JSON.parse(text));
  decT.push(performance.now() - t0);
  if (back.nnodes !== tenK) throw new Error('R round trip lost nodes');
}
encT.sort((a, b) => a - b);
decT.sort((a, b) => a - b);
const rSize = Buffer.byteLength(text);
const encdec = pct(encT, 50) + pct(decT, 50);
row(`R of a ${tenK}-node allocation: size`, `${rSize} bytes`, '< 1 KB', '—', rSize < 1024);
row(`R of a ${tenK}-node allocation: encode + decode (p50)`, `${ms(encdec)} ms (${ms(pct(encT, 50))} + ${ms(pct(decT, 50))})`, '< 10 ms', '—', encdec < 10);
graph.free(big.jobid);

// ---- fill half the machine with 1-node jobs: 1-node match latency ------------------
const one = graph.compile(job(1));
const fill = [];
const oneT = [];
for (let i = 0; i < NODES / 2; i++) {
  const t0 = performance.now();
  const r = graph.match(one);
  oneT.push(performance.now() - t0);
  if (r.outcome !== 'ALLOCATED') throw new Error(`fill: ${r.outcome}`);
  fill.push(r.jobid);
}
oneT.sort((a, b) => a - b);
row('1-node match, empty → half-full machine: p50', `${ms(pct(oneT, 50))} ms`, '< 1 ms', '—', pct(oneT, 50) < 1);
row('1-node match, empty → half-full machine: p99', `${ms(pct(oneT, 99))} ms`, '< 10 ms', '—', pct(oneT, 99) < 10);

// ---- 128-node job with a property constraint, on the half-full machine -------------------
// (Fewer on a small machine: a quarter of the nodes are free a100 nodes.)
const conNodes = Math.min(128, Math.floor(NODES / 4));
const con = graph.compile(job(conNodes, { constraints: { properties: ['gpu-model=a100'] } }));
const conT = [];
for (let i = 0; i < (smoke ? 3 : 30); i++) {
  const t0 = performance.now();
  const r = graph.match(con);
  conT.push(performance.now() - t0);
  if (r.outcome !== 'ALLOCATED') throw new Error(`constrained: ${r.outcome} ${r.reason ?? ''}`);
  graph.free(r.jobid);
}
conT.sort((a, b) => a - b);
row(`${conNodes}-node match with a property constraint (half-full): p50`, `${ms(pct(conT, 50))} ms`, '< 20 ms', '≈ 1.8 s', pct(conT, 50) < 20);

// ---- allocate + free cycles on the half-full machine ---------------------------------------
const cycT = [];
let cycles = 0;
let t0 = performance.now();
const deadline = t0 + (smoke ? 200 : 3000);
while (performance.now() < deadline) {
  const a = performance.now();
  const r = graph.match(one);
  if (r.outcome !== 'ALLOCATED') throw new Error(`cycle: ${r.outcome}`);
  graph.free(r.jobid);
  cycT.push(performance.now() - a);
  cycles++;
}
const perSec = cycles / ((performance.now() - t0) / 1000);
row('1-node allocate+free cycles per second (half-full)', `${Math.round(perSec).toLocaleString('en-US')} /s`, '≥ 2,000 /s', '—', perSec >= 2000);

// Reservations: with the machine half full for an hour, reserve a whole-machine job.
t0 = performance.now();
const resv = graph.match(whole, { mode: 'allocate_orelse_reserve' });
const resvMs = performance.now() - t0;
row(`reserve the whole machine behind ${fill.length} running jobs`, `${ms(resvMs)} ms (${resv.outcome} at t=${resv.start})`, '—', '—');
for (const id of fill) graph.free(id);
if (resv.outcome === 'RESERVED') graph.free(resv.jobid);
const problems = graph.jobCount === 0 ? [] : ['jobs left'];

if (json) {
  console.log(JSON.stringify({ nodes: NODES, vertices: store.count, policy: POLICY, rows, freeWholeMs, buildRMs }, null, 2));
} else {
  const w1 = Math.max(...rows.map((r) => r.what.length), 6);
  const w2 = Math.max(...rows.map((r) => r.value.length), 8);
  const w3 = Math.max(...rows.map((r) => r.target.length), 6);
  const line = (a, b, c, d, e) => `| ${a.padEnd(w1)} | ${b.padEnd(w2)} | ${c.padEnd(w3)} | ${d.padEnd(15)} | ${e.padEnd(4)} |`;
  console.log(`Fractal resource graph benchmark: ${NODES} nodes, ${store.count.toLocaleString('en-US')} vertices, policy ${POLICY}, node ${process.version}`);
  console.log(line('measure', 'Fractal', 'target', 'Fluxion', 'ok'));
  console.log(line('-'.repeat(w1), '-'.repeat(w2), '-'.repeat(w3), '-'.repeat(15), '----'));
  for (const r of rows) console.log(line(r.what, r.value, r.target, r.fluxion, r.pass === undefined ? '' : r.pass ? 'yes' : 'NO'));
  console.log(`(free of the whole-machine job: ${ms(freeWholeMs)} ms; R built from the graph for ${tenK} nodes: ${ms(buildRMs)} ms; ${problems.length ? problems.join(', ') : 'all jobs freed'})`);
}
