#!/bin/sh
# bench/sim-traces.sh: wall time and peak memory of `fractal sim` on the two
# large traces (HPC2N, 202,871 jobs; CEA-Curie, 312,826 jobs) for each policy.
# Targets (issue 5): HPC2N under EASY < 60 s, Curie under EASY < 5 min and < 4 GB.
# Long: run it alone, once. Usage: bench/sim-traces.sh [TRACE_DIR] [POLICIES]
#   bench/sim-traces.sh --smoke: a generated 200-job trace instead (seconds;
#   test/bench-smoke checks that the script still runs, the figures mean nothing).
set -eu
cd "$(dirname "$0")/.."
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if [ "${1:-}" = --smoke ]; then
  T=$TMP
  TRACES=smoke.swf
  POLICIES=${2:-easy fcfs hybrid conservative}
  node bench/lib/gen-swf.mjs 200 16 > "$TMP/smoke.swf"
else
  T=${1:-../shared/data/traces}
  TRACES='HPC2N-2002-2.2-cln.swf.gz CEA-Curie-2011-2.1-cln.swf.gz'
  POLICIES=${2:-easy fcfs hybrid conservative}
fi
printf '%-32s %-13s %8s %8s %10s\n' trace policy 'wall s' 'sim s' 'max RSS MB'
for tr in $TRACES; do
  for p in $POLICIES; do
    if [ -x /usr/bin/time ]; then
      /usr/bin/time -f '%e %M' -o "$TMP/time" bin/fractal sim --trace "$T/$tr" --policy "$p" >/dev/null 2>"$TMP/err"
    else
      # Without GNU time (Debian package "time"): wall time only.
      t0=$(date +%s.%N)
      bin/fractal sim --trace "$T/$tr" --policy "$p" >/dev/null 2>"$TMP/err"
      echo "$(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo 0) 0" > "$TMP/time"
    fi
    sim=$(sed -n 's/.*simulated \([0-9.]*\) s.*/\1/p' "$TMP/err")
    read -r wall rss < "$TMP/time"
    printf '%-32s %-13s %8s %8s %10d\n' "$tr" "$p" "$wall" "$sim" $((rss / 1024))
  done
done
