#!/bin/sh
# bench/sim-rlscheduler.sh: the RLScheduler (SC20) tables of docs/validation.md.
# Runs `fractal sim --compat rlscheduler --json` for FCFS and SJF, without and
# with the paper's backfilling, on the four traces, and prints two Markdown
# tables: the mean bounded slowdown over the ten windows, then every window.
# Usage: bench/sim-rlscheduler.sh [TRACE_DIR]   (default ../shared/data/traces)
set -eu
cd "$(dirname "$0")/.."
T=${1:-../shared/data/traces}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for tr in lublin_256.swf lublin_256_new2.swf SDSC-SP2-1998-4.2-cln.swf.gz HPC2N-2002-2.2-cln.swf.gz; do
  for p in fcfs sjf; do
    bin/fractal sim --trace "$T/$tr" --compat rlscheduler --policy $p --json > "$OUT/$tr.$p.json"
    bin/fractal sim --trace "$T/$tr" --compat rlscheduler --policy $p --backfill --json > "$OUT/$tr.$p-bf.json"
  done
done
node - "$OUT" <<'JS'
const { readFileSync } = require('node:fs');
const dir = process.argv[2];
const traces = ['lublin_256.swf', 'lublin_256_new2.swf', 'SDSC-SP2-1998-4.2-cln.swf.gz', 'HPC2N-2002-2.2-cln.swf.gz'];
const cols = [['fcfs', 'FCFS'], ['fcfs-bf', 'FCFS + backfilling'], ['sjf', 'SJF'], ['sjf-bf', 'SJF + backfilling']];
const get = (t, c) => JSON.parse(readFileSync(`${dir}/${t}.${c}.json`, 'utf8'));
console.log(`| trace | ${cols.map((c) => c[1]).join(' | ')} |`);
console.log(`|---|${cols.map(() => '---:').join('|')}|`);
for (const t of traces) console.log(`| ${t} | ${cols.map(([c]) => get(t, c).mean.toFixed(2)).join(' | ')} |`);
console.log('');
const starts = get(traces[0], 'fcfs').windows.map((w) => w.start);
console.log(`| trace | setup | ${starts.join(' | ')} |`);
console.log(`|---|---|${starts.map(() => '---:').join('|')}|`);
for (const t of traces) {
  for (const [c, name] of cols) console.log(`| ${t.replace(/\.swf.*$/, '')} | ${name} | ${get(t, c).windows.map((w) => w.bsld.toFixed(2)).join(' | ')} |`);
}
JS
