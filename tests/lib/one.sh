#!/usr/bin/env bash
# Runs one test function in this process: one.sh SUITE-DIR NAME. SUITE-DIR (tests/integration or
# tests/vm) holds the suite's lib.sh and tests_*.sh. Started by the suite's runner under timeout,
# with WORK and the suite's variables in the environment.
set -u
SUITE_DIR=${1:?usage: one.sh SUITE-DIR NAME}
name=${2:?usage: one.sh SUITE-DIR NAME}
T=$WORK/$name
REASON=$T/.reason
source "$SUITE_DIR/lib.sh"
for f in "$SUITE_DIR"/tests_*.sh; do
  source "$f"
done
cd "$T" || exit 1
trap run_cleanup EXIT
trap 'exit 124' TERM INT
"$name"
exit $?
