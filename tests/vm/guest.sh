#!/usr/bin/env bash
# The guest's test runner, run as root by /init (init.sh) after the cgroup delegation is built.
#
# Test functions come from tests_*.sh beside this file; the name's prefix picks the user:
#   t_NAME     sbuser (1000): cpu cpuset io memory pids delegated (user@1000.service)
#   tmin_NAME  sbmin  (1001): memory pids delegated (user@1001.service)
#   tnone_NAME sbnone (1002): nothing delegated (session-1.scope, owned by root)
# Each test runs in its own bash process (tests/lib/one.sh) under timeout, started by enter.sh, which puts
# it into the user's cgroup and drops to the user. After each test, the user's cgroup subtree is
# reset (processes killed, child cgroups removed, subtree_control emptied): every test starts from
# the same state. Processes still there after a test are reported by the leftover-processes check.
#
# Results go to the second serial port (/dev/ttyS1), which the host prints; the kernel's console
# stays on ttyS0.
set -u

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export VM_DIR
VM_MODE=tests
VM_TEST_TIMEOUT=120
VM_PLACEMENT=service
# shellcheck source=/dev/null
source /etc/vm/config
export VM_PLACEMENT
export SANDBOX=/opt/sandbox/bin/sandbox PROBE=/opt/sandbox/bin/sandbox-probe
export PROFILES=/opt/sandbox/share/sandbox/profiles
export WORK=/tmp/vm-work
CG=/sys/fs/cgroup

# The results channel.
if [ -c /dev/ttyS1 ]; then
  stty -F /dev/ttyS1 raw -echo 2>/dev/null
  exec 3>/dev/ttyS1
else
  exec 3>/dev/console
fi
out() { printf '%s\n' "$@" >&3; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }

# PASS/FAIL/SKIP lines go to the results port (fd 3).
RESULT_FD=3
source "$VM_DIR/../lib/results.sh"

finish() {
  out "@@vm done $(uptime_s)"
  out "vm: $PASSED passed, $FAILED failed, $SKIPPED skipped"
  exec 3>&-
  exit 0
}

# ------------------------------------------------------------------ setup problems

if [ -s /run/vm/setup-errors ]; then
  cp /run/vm/setup-errors /run/vm/setup.reason
  sed -i '1s/^/guest setup: /' /run/vm/setup.reason
  result FAIL vm-setup /run/vm/setup.reason
fi

mkdir -p "$WORK"
chmod 0755 "$WORK"

# ------------------------------------------------------------------ users and cgroups

user_of() { # user_of TEST-NAME
  case $1 in
    t_*) echo sbuser ;;
    tmin_*) echo sbmin ;;
    tnone_*) echo sbnone ;;
  esac
}

# The cgroups a user's tests may leave things in, reset after each test.
USER_CGS=(
  "$CG/user.slice/user-1000.slice/user@1000.service"
  "$CG/user.slice/user-1001.slice/user@1001.service"
  "$CG/user.slice/user-1002.slice/session-1.scope"
)
declare -A CG_OWNER=(
  ["$CG/user.slice/user-1000.slice/user@1000.service"]=1000
  ["$CG/user.slice/user-1001.slice/user@1001.service"]=1001
)

cg_pids() { # cg_pids DIR: every process in the subtree
  find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null
}

delegate() { # delegate DIR UID (as init.sh does)
  local f
  chown "$2:$2" "$1"
  for f in $(cat /sys/kernel/cgroup/delegate) cgroup.procs cgroup.subtree_control cgroup.threads; do
    [ -e "$1/$f" ] && chown "$2:$2" "$1/$f"
  done
}

# reset_cg DIR: kill what runs in the subtree, remove every child cgroup but init.scope, and
# empty the subtree_control files, so that root can place the next test's process in DIR.
reset_cg() {
  local r=$1 i d c
  [ -d "$r" ] || return 0
  if [ -n "$(cg_pids "$r")" ]; then
    echo 1 >"$r/cgroup.kill"
    for ((i = 0; i < 100; i++)); do
      grep -q '^populated 0' "$r/cgroup.events" && break
      sleep 0.05
    done
  fi
  while read -r d; do
    [ "$d" = "$r/init.scope" ] && continue
    rmdir "$d" 2>/dev/null || echo "cannot remove $d" >>/run/vm/reset-errors
  done < <(find "$r" -mindepth 1 -depth -type d)
  for d in "$r/init.scope" "$r"; do
    [ -d "$d" ] || continue
    for c in $(cat "$d/cgroup.subtree_control"); do
      echo "-$c" >"$d/cgroup.subtree_control" 2>/dev/null || echo "cannot disable $c in $d" >>/run/vm/reset-errors
    done
  done
  [ -w "$r/memory.oom.group" ] && echo 0 >"$r/memory.oom.group"
  if [ -n "${CG_OWNER[$r]:-}" ] && [ ! -d "$r/init.scope" ]; then
    mkdir "$r/init.scope" && delegate "$r/init.scope" "${CG_OWNER[$r]}"
  fi
}

LEFTOVERS=/run/vm/leftovers
: >"$LEFTOVERS"
after_test() { # after_test NAME: note processes left behind, then reset every user's cgroups
  local name=$1 r p i left=
  for ((i = 0; i < 40; i++)); do
    left=
    for r in "${USER_CGS[@]}"; do left+=$(cg_pids "$r"); done
    [ -z "$left" ] && break
    sleep 0.05
  done
  if [ -n "$left" ]; then
    for r in "${USER_CGS[@]}"; do
      for p in $(cg_pids "$r"); do
        printf '%s: %s uid=%s %s (%s)\n' "$name" "$p" \
          "$(awk '/^Uid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)" \
          "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-100)" \
          "$(sed 's/^0:://' "/proc/$p/cgroup" 2>/dev/null)" >>"$LEFTOVERS"
      done
    done
  fi
  : >/run/vm/reset-errors
  for r in "${USER_CGS[@]}"; do reset_cg "$r"; done
  if [ -s /run/vm/reset-errors ]; then
    sed "s/^/$name: (reset) /" /run/vm/reset-errors >>"$LEFTOVERS"
  fi
}

# run_as USER TIMEOUT LOG CMD...: CMD as USER in its cgroup, under timeout; exit code in $RC
run_as() {
  local user=$1 limit=$2 log=$3
  shift 3
  RC=0
  timeout -k 5 "$limit" /usr/bin/bash "$VM_DIR/enter.sh" "$user" -- "$@" </dev/null >"$log" 2>&1 3>&- || RC=$?
}

out "@@vm ready $(uptime_s)"

# ------------------------------------------------------------------ a script instead of the tests

if [ "$VM_MODE" = script ]; then
  # Its output goes straight to the results channel.
  RC=0
  timeout -k 5 "$VM_TEST_TIMEOUT" /usr/bin/bash "$VM_DIR/enter.sh" sbuser -- /usr/bin/bash /etc/vm/script \
    </dev/null >&3 2>&1 3>&- || RC=$?
  mkdir -p "$WORK/script"
  case $RC in
    0) result PASS script ;;
    124 | 137)
      echo "timed out after $VM_TEST_TIMEOUT s" >"$WORK/script/.reason"
      result FAIL script "$WORK/script/.reason" ;;
    *)
      echo "exit code $RC" >"$WORK/script/.reason"
      result FAIL script "$WORK/script/.reason" ;;
  esac
  after_test script
  finish
fi

# ------------------------------------------------------------------ the tests

# A test file that does not parse would lose its tests silently.
for f in "$VM_DIR"/tests_*.sh; do
  if ! bash -n "$f" 2>/run/vm/syntax.err; then
    { echo "$(basename "$f") does not parse:"; cat /run/vm/syntax.err; } >/run/vm/syntax.reason
    result FAIL "syntax-$(basename "$f" .sh)" /run/vm/syntax.reason
  fi
done

# Tests in file order, then line order within a file.
ALL=()
mapfile -t ALL < <(bash -c '
  shopt -s extdebug
  source "$VM_DIR/lib.sh" 2>/dev/null
  for f in "$VM_DIR"/tests_*.sh; do source "$f"; done
  for fn in $(compgen -A function t_; compgen -A function tmin_; compgen -A function tnone_); do
    declare -F "$fn"
  done' | sort -k3,3 -k2,2n | awk '{ print $1 }')

if [ ${#ALL[@]} -eq 0 ]; then
  echo "no test functions (t_*, tmin_*, tnone_*) found in $VM_DIR/tests_*.sh" >/run/vm/none.reason
  result FAIL vm-runner /run/vm/none.reason
  finish
fi

SELECT=()
mapfile -t SELECT </etc/vm/select
selected() { # selected NAME: no arguments, or NAME (or NAME without its prefix) matches one (glob)
  local pat any=0
  for pat in "${SELECT[@]}"; do
    [ -n "$pat" ] || continue
    any=1
    # shellcheck disable=SC2053 # globs on purpose
    [[ $1 == $pat || ${1#*_} == $pat ]] && return 0
  done
  [ "$any" -eq 0 ]
}

for name in "${ALL[@]}"; do
  selected "$name" || continue
  user=$(user_of "$name")
  uid=$(id -u "$user")
  T=$WORK/$name
  mkdir -p "$T"
  chown "$uid:$uid" "$T"
  chmod 0700 "$T"
  run_as "$user" "$VM_TEST_TIMEOUT" "$T/.log" /usr/bin/bash "$VM_DIR/../lib/one.sh" "$VM_DIR" "$name"
  after_test "$name"
  case $RC in
    0) result PASS "$name" ;;
    77) result SKIP "$name" "$T/.reason" ;;
    124 | 137)
      [ -s "$T/.reason" ] || echo "timed out after $VM_TEST_TIMEOUT s" >"$T/.reason"
      result FAIL "$name" "$T/.reason" "$T/.log" ;;
    *)
      [ -s "$T/.reason" ] || echo "test exited with status $RC without a reason" >"$T/.reason"
      result FAIL "$name" "$T/.reason" "$T/.log" ;;
  esac
done

if [ -s "$LEFTOVERS" ]; then
  {
    echo "left in the users' cgroups after tests (test: pid uid args (cgroup)), killed and removed:"
    head -n 20 "$LEFTOVERS" | cut -c1-200
  } >/run/vm/leftovers.reason
  result FAIL leftover-processes /run/vm/leftovers.reason
else
  result PASS leftover-processes
fi

# Kernel trouble (OOM reports are expected: memory.max tests cause them).
if dmesg | grep -E 'BUG:|Oops|WARNING:|general protection fault|Kernel panic|soft lockup|hung_task' \
  >/run/vm/klog; then
  {
    echo "the guest kernel logged trouble during the tests (dmesg):"
    head -n 20 /run/vm/klog | cut -c1-200
  } >/run/vm/klog.reason
  result FAIL kernel-log /run/vm/klog.reason
else
  result PASS kernel-log
fi
finish
