#!/bin/bash
# bench/cgroup-guest.sh: what a sandbox's own cgroup adds to start-up and teardown, measured in
# the qemu guest of tests/vm (the host has no delegated cgroup). Run from the source tree as root:
#   SANDBOX_VM_SCRIPT=bench/cgroup-guest.sh bash tests/vm/run.sh STAGE
# It runs as the guest's sbuser (a delegated cgroup with every controller) and reports, over N
# runs of /bin/true, the medians of: the whole run; making the cgroup (mkdir + limit writes, as
# logged by `sandbox -v`); removing it (cgroup.kill + wait + rmdir); and the whole run of the
# same sandbox with --memory/--pids/--cpus set (the limit writes). Under TCG everything is 5-7x
# slower than on hardware: read the cgroup's share of the run, not the absolute numbers.
set -u
N=${BENCH_RUNS:-40}
SANDBOX=${SANDBOX:-/opt/sandbox/bin/sandbox}
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else print a[int((NR + 1) / 2)] }'; }
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }
work=$(mktemp -d)
: >"$work/plain" ; : >"$work/limited"; : >"$work/make"; : >"$work/remove"
"$SANDBOX" run default -- /bin/true || { echo "bench: the sandbox does not run"; exit 1; }
for ((i = 0; i < N; i++)); do
  t0=$(now_us)
  "$SANDBOX" run -v default -- /bin/true 2>"$work/log"
  t1=$(now_us)
  echo $((t1 - t0)) >>"$work/plain"
  sed -n 's/.*made the cgroup .* in \([0-9]*\) us$/\1/p' "$work/log" >>"$work/make"
  sed -n 's/.*removed the cgroup in \([0-9]*\) us$/\1/p' "$work/log" >>"$work/remove"
  t0=$(now_us)
  "$SANDBOX" run --memory 256M --pids 100 --cpus 1 default -- /bin/true
  t1=$(now_us)
  echo $((t1 - t0)) >>"$work/limited"
done
run=$(median <"$work/plain"); make=$(median <"$work/make"); remove=$(median <"$work/remove")
limited=$(median <"$work/limited")
echo "bench: $N runs of sandbox run default -- /bin/true in the guest (TCG), medians:"
echo "bench:   whole run                 $run us"
echo "bench:   making the cgroup         $make us"
echo "bench:   removing the cgroup       $remove us"
echo "bench:   cgroup share of the run   $(( (make + remove) * 100 / run )) %"
echo "bench:   whole run with --memory --pids --cpus   $limited us"
rm -rf "$work"
