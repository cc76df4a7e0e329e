#!/bin/sh
# bench/sim-traces.sh: wall time and peak memory of `fractal sim` on the two
# large traces (HPC2N, 202,871 jobs; CEA-Curie, 312,826 jobs) for each policy.
# Targets (issue 5): HPC2N under EASY < 60 s, Curie under EASY < 5 min and < 4 GB.
# Long: run it alone, once. Usage: bench/sim-traces.sh [TRACE_DIR] [POLICIES]
set -eu
cd "$(dirname "$0")/.."
T=${1:-../shared/data/traces}
POLICIES=${2:-easy fcfs hybrid conservative}
printf '%-32s %-13s %8s %8s %10s\n' trace policy 'wall s' 'sim s' 'max RSS MB'
for tr in HPC2N-2002-2.2-cln.swf.gz CEA-Curie-2011-2.1-cln.swf.gz; do
  for p in $POLICIES; do
    /usr/bin/time -f '%e %M' -o /tmp/sim-traces.$$ bin/fractal sim --trace "$T/$tr" --policy "$p" >/dev/null 2>/tmp/sim-traces-err.$$
    sim=$(sed -n 's/.*simulated \([0-9.]*\) s.*/\1/p' /tmp/sim-traces-err.$$)
    read -r wall rss < /tmp/sim-traces.$$
    printf '%-32s %-13s %8s %8s %10d\n' "$tr" "$p" "$wall" "$sim" $((rss / 1024))
  done
done
rm -f /tmp/sim-traces.$$ /tmp/sim-traces-err.$$
