#!/usr/bin/env bash
# Runs one guest test function in this process, as its user: one.sh NAME
# Started by guest.sh through enter.sh (under timeout), with SANDBOX PROBE PROFILES WORK VM_DIR
# VM_CG VM_CG_DELEGATED in the environment.
set -u
name=${1:?usage: one.sh NAME}
T=$WORK/$name
REASON=$T/.reason
source "$VM_DIR/lib.sh"
for f in "$VM_DIR"/tests_*.sh; do
  source "$f"
done
cd "$T" || exit 1
trap run_cleanup EXIT
trap 'exit 124' TERM INT
"$name"
exit $?
