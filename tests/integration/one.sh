#!/usr/bin/env bash
# Runs one integration test function in this process: one.sh t_NAME
# Called by run.sh (under timeout) with STAGE SANDBOX PROBE PROFILES WORK IT_DIR exported.
set -u
name=${1:?usage: one.sh t_NAME}
T=$WORK/$name
REASON=$T/.reason
source "$IT_DIR/lib.sh"
for f in "$IT_DIR"/tests_*.sh; do
  source "$f"
done
cd "$T" || exit 1
trap run_cleanup EXIT
trap 'exit 124' TERM INT
"$name"
exit $?
