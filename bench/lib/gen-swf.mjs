#!/usr/bin/env node
// Prints a synthetic trace in Standard Workload Format for the benchmarks'
// smoke modes: N jobs on a machine of P processors, deterministic (seeded),
// arrivals a few minutes apart, run times up to an hour, estimates above them.
//   node bench/lib/gen-swf.mjs N P
const n = Number(process.argv[2] ?? 200);
const procs = Number(process.argv[3] ?? 16);
let seed = 42;
const rnd = () => {
  // mulberry32, as bench/lib/random.ts
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const lines = ['; Version: 2', '; Note: synthetic trace (bench/lib/gen-swf.mjs)', `; MaxJobs: ${n}`, `; MaxRecords: ${n}`, `; MaxNodes: ${procs}`, `; MaxProcs: ${procs}`];
let submit = 0;
for (let id = 1; id <= n; id++) {
  submit += Math.floor(rnd() * 300);
  const run = 1 + Math.floor(rnd() * 3600);
  const p = 1 + Math.floor(rnd() * procs);
  const req = run + Math.floor(rnd() * 3600);
  // id submit wait run procs cpu mem reqprocs reqtime reqmem status user group app queue partition prev think
  lines.push(`${id} ${submit} -1 ${run} ${p} -1 -1 ${p} ${req} -1 1 1 1 -1 1 -1 -1 -1`);
}
process.stdout.write(lines.join('\n') + '\n');
