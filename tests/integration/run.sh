#!/usr/bin/env bash
# Integration tests: run.sh STAGE [TEST-NAME-OR-GLOB...]
# Runs as the unprivileged user. STAGE holds bin/sandbox, bin/sandbox-probe,
# share/sandbox/profiles/*.toml and tests/integration (this directory).
# Prints "PASS name", "FAIL name: reason" (details indented) or "SKIP name: reason" per test,
# then checks that nothing was left behind. Exits 1 when a test failed.
set -u

STAGE=$(cd "${1:?usage: run.sh STAGE [TEST...]}" && pwd) || exit 1
shift
IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SANDBOX=$STAGE/bin/sandbox
PROBE=$STAGE/bin/sandbox-probe
PROFILES=$STAGE/share/sandbox/profiles
TEST_TIMEOUT=${TEST_TIMEOUT:-60}
export STAGE IT_DIR SANDBOX PROBE PROFILES

MYUID=$(id -u)
MYNAME=$(id -un)
source "$IT_DIR/../lib/results.sh"

# ------------------------------------------------------------------ leftovers: snapshots

SUBRANGES=$(awk -F: -v n="$MYNAME" -v u="$MYUID" '($1 == n || $1 == u) && NF >= 3 { print $2, $3 }' \
  /etc/subuid 2>/dev/null | tr '\n' ' ')

snap_procs() { # snap_procs FILE: "uid pid args" of this user's and its subordinate ids' processes
  ps -e -o uid=,pid=,ppid=,args= >"$1.raw" # ps is our direct child: excluded below
  awk -v me=$$ -v uid="$MYUID" -v ranges="$SUBRANGES" '
    BEGIN { n = split(ranges, r, " ") }
    {
      mine = ($1 == uid)
      for (i = 1; i + 1 <= n; i += 2) if ($1 >= r[i] && $1 < r[i] + r[i + 1]) mine = 1
      if (!mine || $2 == me || ($3 == me && $4 == "ps")) next
      if ($2 == 2 || $3 == 2) next # kernel threads
      $3 = ""
      print
    }' "$1.raw" | sort >"$1"
  rm -f "$1.raw"
}

snap_tmp() { # snap_tmp FILE: this user's entries in /tmp
  find /tmp -mindepth 1 -maxdepth 1 -user "$MYUID" 2>/dev/null | sort >"$1"
}

SNAP=$(mktemp -d) || exit 1 # not in the /tmp snapshot: taken below, and removed at the end
snap_tmp "$SNAP/tmp.before"
WORK=$(mktemp -d) || exit 1
export WORK
# A private runtime directory, as a login session has: sandbox keeps its records there.
export XDG_RUNTIME_DIR=$WORK/.runtime
mkdir -m 0700 "$XDG_RUNTIME_DIR" || exit 1
snap_procs "$SNAP/procs.before"
cat /proc/self/mountinfo >"$SNAP/mounts.before"

cleanup() { rm -rf -- "$WORK" "$SNAP"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ the tests

# Tests in file order, then line order within a file.
mapfile -t ALL < <(bash -c '
  shopt -s extdebug
  source "$IT_DIR/lib.sh"
  for f in "$IT_DIR"/tests_*.sh; do source "$f"; done
  for fn in $(compgen -A function t_); do declare -F "$fn"; done' |
  sort -k3,3 -k2,2n | awk '{ print $1 }')

if [ ${#ALL[@]} -eq 0 ]; then
  echo "FAIL integration-runner: no test functions found in $IT_DIR/tests_*.sh"
  exit 1
fi

selected() { # selected NAME: no arguments, or NAME matches one of them (glob)
  [ ${#SELECT[@]} -eq 0 ] && return 0
  local pat
  for pat in "${SELECT[@]}"; do
    [[ $1 == $pat || $1 == t_$pat ]] && return 0
  done
  return 1
}
SELECT=("$@")

for name in "${ALL[@]}"; do
  selected "$name" || continue
  T=$WORK/$name
  mkdir -p "$T"
  rc=0
  timeout -k 5 "$TEST_TIMEOUT" bash "$IT_DIR/../lib/one.sh" "$IT_DIR" "$name" </dev/null >"$T/.log" 2>&1 || rc=$?
  case $rc in
    0) result PASS "$name" ;;
    77) result SKIP "$name" "$T/.reason" ;;
    124 | 137)
      [ -s "$T/.reason" ] || echo "timed out after $TEST_TIMEOUT s" >"$T/.reason"
      result FAIL "$name" "$T/.reason" "$T/.log" ;;
    *)
      [ -s "$T/.reason" ] || echo "test exited with status $rc without a reason" >"$T/.reason"
      result FAIL "$name" "$T/.reason" "$T/.log" ;;
  esac
done

# ------------------------------------------------------------------ leftovers

# Processes: poll a little, a sandbox killed at a test's end may take a moment to go.
leftover_procs() {
  local i
  for ((i = 0; i < 50; i++)); do
    snap_procs "$SNAP/procs.after"
    comm -13 "$SNAP/procs.before" "$SNAP/procs.after" >"$SNAP/procs.new"
    [ -s "$SNAP/procs.new" ] || return 0
    sleep 0.1
  done
  return 1
}
LEAK=$SNAP/leak.reason
if leftover_procs; then
  result PASS leftover-processes
else
  {
    echo "processes of $MYNAME (or its subordinate ids) left behind (uid pid args):"
    head -n 20 "$SNAP/procs.new" | cut -c1-200
  } >"$LEAK"
  result FAIL leftover-processes "$LEAK"
fi

cat /proc/self/mountinfo >"$SNAP/mounts.after"
if cmp -s "$SNAP/mounts.before" "$SNAP/mounts.after"; then
  result PASS leftover-mounts
else
  {
    echo "host /proc/self/mountinfo changed: $(wc -l <"$SNAP/mounts.before") lines before, $(wc -l <"$SNAP/mounts.after") after"
    diff "$SNAP/mounts.before" "$SNAP/mounts.after" | grep '^[<>]' | head -n 20 | cut -c1-200
  } >"$LEAK"
  result FAIL leftover-mounts "$LEAK"
fi

if [ -z "$(ls -A "$XDG_RUNTIME_DIR/sandbox" 2>/dev/null)" ]; then
  result PASS leftover-state
else
  echo "records left in $XDG_RUNTIME_DIR/sandbox: $(ls -A "$XDG_RUNTIME_DIR/sandbox" | tr '\n' ' ')" >"$LEAK"
  result FAIL leftover-state "$LEAK"
fi

snap_tmp "$SNAP/tmp.after"
grep -v -x -F -e "$WORK" -e "$SNAP" "$SNAP/tmp.after" | comm -13 "$SNAP/tmp.before" - >"$SNAP/tmp.new"
if [ ! -s "$SNAP/tmp.new" ]; then
  result PASS leftover-tmp
else
  {
    echo "new entries of $MYNAME in /tmp:"
    head -n 20 "$SNAP/tmp.new"
  } >"$LEAK"
  result FAIL leftover-tmp "$LEAK"
fi

echo "integration: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
