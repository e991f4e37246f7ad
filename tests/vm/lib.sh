# Helpers for the guest tests. Sourced by tests/lib/one.sh (one test per bash process).
#
# Conventions (as in tests/integration):
# - A test is a function in a tests_*.sh file; its prefix picks the user it runs as:
#   t_NAME sbuser (cpu cpuset io memory pids delegated), tmin_NAME sbmin (memory pids),
#   tnone_NAME sbnone (nothing delegated). It runs in its own bash process, in its own directory
#   $T (under $WORK, owned by the user), with stdin from /dev/null and a 120 s timeout
#   (SANDBOX_VM_TEST_TIMEOUT). TCG is slow: CPU-bound code runs 5-7x slower than on the host,
#   keep timing bounds loose.
# - fail REASON [DETAIL...] ends the test with a failure; skip REASON ends it with exit 77.
#   Call them at the top level of the test function, not inside $(...) or a pipeline.
# - sb ARGS... runs the sandbox: stdout -> $T/out, stderr -> $T/err, exit code -> $RC.
# - Background processes started with start_bg are killed by pid when the test ends. Whatever is
#   still in the user's cgroups afterwards is killed by the runner, reported by leftover-processes,
#   and the user's cgroup subtree is reset (children removed, subtree_control emptied).
# - Tests run unprivileged: there is no way to read or write cgroup files as root from a test.
#
# Environment: HOME USER LOGNAME XDG_RUNTIME_DIR PATH=/usr/bin:/usr/sbin SANDBOX PROBE PROFILES
# WORK VM_DIR, and VM_CG (the cgroup directory the test started in) and VM_CG_DELEGATED (the
# user's user@UID.service directory; empty for sbnone).
# The guest's userland is busybox (sh, coreutils-like applets) plus bash, setpriv, newuidmap,
# newgidmap and GNU timeout: no python3, no util-linux beyond setpriv.

: "${SANDBOX:?}" "${PROBE:?}" "${PROFILES:?}" "${WORK:?}" "${VM_DIR:?}"
: "${VM_CG:=}" "${VM_CG_DELEGATED:=}"
# fail, skip, sb, mkprofile, expect_*, wait_*: shared with tests/integration.
source "$VM_DIR/../lib/common.sh"

CGROOT=/sys/fs/cgroup

# ------------------------------------------------------------------ cgroups

cg_of() { # cg_of [PID]: the cgroup path of PID (default: this shell), e.g. /user.slice/...
  sed -n 's/^0:://p' "/proc/${1:-$BASHPID}/cgroup"
}

cg_dir() { # cg_dir [PID]: its cgroup directory under /sys/fs/cgroup
  local p
  p=$(cg_of "${1:-$BASHPID}") || return 1
  echo "$CGROOT${p%/}"
}

cg_read() { # cg_read DIR FILE: the file's content (DIR relative to /sys/fs/cgroup or absolute)
  case $1 in /*) cat "$1/$2" ;; *) cat "$CGROOT/$1/$2" ;; esac
}

cg_key() { # cg_key FILE KEY: the value of "KEY VALUE" in a flat-keyed file (memory.events...)
  awk -v k="$2" '$1 == k { print $2; found = 1; exit } END { exit !found }' "$1"
}

cg_controllers() { # cg_controllers DIR: its cgroup.controllers, sorted, space separated
  tr ' ' '\n' <"$1/cgroup.controllers" | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'
}

need_controller() { # need_controller NAME [DIR]: skip unless DIR (default delegated) has it
  local dir=${2:-${VM_CG_DELEGATED:-$VM_CG}}
  grep -qw -- "$1" "$dir/cgroup.controllers" 2>/dev/null ||
    skip "controller $1 is not available in $dir"
}

need_delegation() { # skip unless this user has a delegated cgroup
  [ -n "$VM_CG_DELEGATED" ] || skip "user $MYNAME has no delegated cgroup"
}

cg_pids() { # cg_pids DIR: the processes in DIR and below
  find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null
}

cg_children() { # cg_children DIR: the child cgroup directories of DIR
  find "$1" -mindepth 1 -maxdepth 1 -type d
}

cg_wait_empty() { # cg_wait_empty DIR SECONDS: until no process is left in DIR's subtree
  local deadline=$(($(now_ms) + $2 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    grep -q '^populated 0' "$1/cgroup.events" 2>/dev/null && return 0
    sleep 0.05
  done
  grep -q '^populated 0' "$1/cgroup.events" 2>/dev/null
}

# ------------------------------------------------------------------ users

need_subids() { # sets SUBUID and SUBGID ("START COUNT"); skips when the user has none
  SUBUID=$(subid_range /etc/subuid)
  SUBGID=$(subid_range /etc/subgid)
  [ -n "$SUBUID" ] || skip "user $MYNAME has no line in /etc/subuid"
  [ -n "$SUBGID" ] || skip "user $MYNAME has no line in /etc/subgid"
}

