#!/bin/sh
# Fractal's sample workload: an ensemble of jobs of different shapes, run
# inside an instance started by `fractal start` (FRACTAL_URI is set there).
#   npx fractal start --test-size=4 -- examples/ensemble.sh
#   examples/ensemble.sh --instance   prints only "N nodes, C cores"
set -u
say() { printf '\n== %s\n' "$*"; }

# The node table is the first block of `fractal resource list` (a blank line
# ends it; the type table after it must not be added in).
instance() {
  fractal resource list | awk 'NR == 1 {next} NF == 0 {exit} {n += $2; c += $3} END {print n " nodes, " c " cores"}'
}
if [ "${1:-}" = --instance ]; then instance; exit; fi   # the summary line alone (tested)

say "instance: $(instance)"
fractal resource list

say "one job over 4 nodes, 8 tasks (fractal run -N4 -n8)"
fractal run -N4 -n8 -- sh -c 'echo "task $FRACTAL_TASK_RANK of $FRACTAL_JOB_SIZE on node $SLURM_NODEID, cpus $(grep Cpus_allowed_list /proc/self/status | cut -f2)"' | sort -n -k2

say "jobs of different shapes, submitted together"
a=$(fractal submit -n4 -c1 --job-name=mpi-like sh -c 'sleep 0.5')
b=$(fractal submit -N2 --exclusive --job-name=whole-nodes sleep 0.3)
c=$(fractal submit -n1 -c2 -t 10s --job-name=two-cores sh -c 'nproc')
d=$(fractal submit --dependency=afterok:$a --job-name=after-a echo "a finished")
e=$(fractal submit --job-name=fails sh -c 'exit 3')
f=$(fractal submit -t 1s --job-name=too-long sleep 60)
g=$(fractal submit --urgency=0 --job-name=held true)
fractal cancel "$g"
echo "submitted $a $b $c $d $e $f $g (held $g, then cancelled)"
fractal wait --all >/dev/null 2>&1   # exit code 1: some of these fail on purpose

say "the ensemble (fractal jobs -a)"
fractal jobs -a

say "1000 trivial jobs in bulk (fractal submit --cc=1-1000), then wait for all"
t0=$(date +%s%N)
fractal submit --cc=1-1000 --quiet --progress true
fractal wait --all >/dev/null 2>&1
t1=$(date +%s%N)
echo "1000 jobs ran in $(( (t1 - t0) / 1000000 )) ms: $(( 1000 * 1000000000 / (t1 - t0) )) jobs/s end to end (real processes)"

say "a nested instance on one node runs its own 100 jobs (fractal batch; docs/hierarchy.md)"
tmp=$(mktemp -d)
n=$(fractal batch -N1 -o sched.policy=fcfs --job-name=nested --output "$tmp/nested.out" --wrap sh -c \
  'fractal submit --cc=1-100 --quiet true && fractal wait --all && echo "inside: $(fractal jobs -a -n -o {id} | wc -l) jobs on $(fractal resource list | awk "NR==2 {print \$3}") cores of node $(hostname)"')
fractal wait "$n" >/dev/null 2>&1
cat "$tmp/nested.out"
rm -rf "$tmp"
echo "after it ended, its jobs are kept in this instance's history: $(fractal jobs -R -a -n -o '{id}' | grep -c "^$n/") jobs under $n/ (fractal jobs -R -a)"

say "all jobs by result (fractal jobs -a -o '{result}')"
fractal jobs -a -o '{result}' -n | sort | uniq -c
exit 0
