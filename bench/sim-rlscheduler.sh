#!/bin/sh
# bench/sim-rlscheduler.sh: the RLScheduler (SC20) tables of docs/validation.md.
# Runs `fractal sim --compat rlscheduler --json` for FCFS and SJF, without and
# with the paper's backfilling, on the four traces, and prints two Markdown
# tables: the mean bounded slowdown over the ten windows, then every window.
# Usage: bench/sim-rlscheduler.sh [TRACE_DIR]   (default ../shared/data/traces)
#        bench/sim-rlscheduler.sh --smoke: one generated 10,000-job trace
#        (the windows need 9,874 jobs; seconds; test/bench-smoke checks that
#        the script still runs, the figures mean nothing).
set -eu
cd "$(dirname "$0")/.."
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
if [ "${1:-}" = --smoke ]; then
  T=$OUT/traces
  mkdir "$T"
  node bench/lib/gen-swf.mjs 10000 256 > "$T/smoke.swf"
  TRACES=smoke.swf
else
  T=${1:-../shared/data/traces}
  TRACES='lublin_256.swf lublin_256_new2.swf SDSC-SP2-1998-4.2-cln.swf.gz HPC2N-2002-2.2-cln.swf.gz'
fi
for tr in $TRACES; do
  for p in fcfs sjf; do
    bin/fractal sim --trace "$T/$tr" --compat rlscheduler --policy $p --json > "$OUT/$tr.$p.json"
    bin/fractal sim --trace "$T/$tr" --compat rlscheduler --policy $p --backfill --json > "$OUT/$tr.$p-bf.json"
  done
done
node - "$OUT" $TRACES <<'JS'
const { readFileSync } = require('node:fs');
const dir = process.argv[2];
const traces = process.argv.slice(3);
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
