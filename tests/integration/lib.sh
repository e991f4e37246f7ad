# Helpers for the integration tests. Sourced by tests/lib/one.sh (one test per bash process).
#
# Conventions:
# - A test is a function t_NAME in a tests_*.sh file. It runs in its own bash process, in its own
#   directory $T (under $WORK), with stdin from /dev/null and a 60 s timeout.
# - fail REASON [DETAIL...] ends the test with a failure; skip REASON ends it with exit 77.
#   Call them at the top level of the test function, not inside $(...) or a pipeline.
# - sb ARGS... runs the sandbox: stdout -> $T/out, stderr -> $T/err, exit code -> $RC.
# - Background processes started with start_bg are killed by pid when the test ends.

# Set by run.sh and exported: STAGE SANDBOX PROBE PROFILES WORK IT_DIR
: "${SANDBOX:?}" "${PROBE:?}" "${PROFILES:?}" "${WORK:?}" "${IT_DIR:?}"
# fail, skip, sb, mkprofile, expect_*, wait_*: shared with tests/vm.
source "$IT_DIR/../lib/common.sh"

DEFAULT_PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin

# ------------------------------------------------------------------ host facts

need_subids() { # skip unless this user has ranges in /etc/subuid and /etc/subgid
  SUBUID=$(subid_range /etc/subuid)
  SUBGID=$(subid_range /etc/subgid)
  [ -n "$SUBUID" ] || skip "user $MYNAME has no line in /etc/subuid (add '$MYNAME:100000:65536')"
  [ -n "$SUBGID" ] || skip "user $MYNAME has no line in /etc/subgid (add '$MYNAME:100000:65536')"
}

landlock_abi_of_host() { # prints this kernel's Landlock ABI (0 when none), from --dry-run
  local p
  p=$(mkprofile abi default)
  "$SANDBOX" run --dry-run "$p" 2>/dev/null | sed -n 's/^landlock: .*; ABI \([0-9]*\):.*/\1/p' | head -n 1
}

need_landlock() { # need_landlock MIN-ABI
  LL_ABI=$(landlock_abi_of_host)
  [ -n "$LL_ABI" ] || skip "this kernel has no Landlock (landlock_create_ruleset fails): nothing to test"
  [ "$LL_ABI" -ge "$1" ] || skip "this kernel's Landlock ABI is $LL_ABI; the test needs $1"
}

ns_ino() { # ns_ino VALUE: the inode number in "user:[4026531837]" or "4026531837"
  if [[ $1 =~ \[([0-9]+)\] ]]; then
    echo "${BASH_REMATCH[1]}"
  elif [[ $1 =~ ^[0-9]+$ ]]; then
    echo "$1"
  else
    echo "unparsable:$1"
  fi
}

host_ns() { ns_ino "$(readlink "/proc/self/ns/$1")"; }

other_pidns_procs() { # pids of processes of ours (real uid) in a pid namespace other than ours
  local mine p uid ns
  mine=$(readlink /proc/self/ns/pid)
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    uid=$(awk '/^Uid:/ { print $2; exit }' "/proc/$p/status" 2>/dev/null) || continue
    [ "$uid" = "$MYUID" ] || continue
    ns=$(readlink "/proc/$p/ns/pid" 2>/dev/null) || continue
    [ "$ns" != "$mine" ] && alive "$p" && echo "$p"
  done
}

proc_desc() { # proc_desc PID: "PID (comm) args" for messages
  printf '%s %s %s' "$1" "$(cat "/proc/$1/comm" 2>/dev/null)" \
    "$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | cut -c1-100)"
}

# Runs python3 INSIDE the sandbox (from the ro-bound /usr) with a script that reports errno names.
# py_inside PROFILE SCRIPT: output in $T/out
py_inside() {
  sb run "$1" -- /usr/bin/python3 -I -c "$2"
}
