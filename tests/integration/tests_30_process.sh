# Processes: signal forwarding, zombie reaping, the payload's exit ending the sandbox,
# the supervisor's death ending the sandbox.

# Background jobs of a non-interactive shell ignore SIGINT and SIGQUIT; start the sandbox with
# the default disposition, as it would have when started from a terminal.
sb_bg() { # sb_bg OUT ERR ARGS...: sandbox in the background; pid in $BG
  local out=$1 err=$2
  shift 2
  LAST_CMD="sandbox $(quote "$@") &"
  start_bg env --default-signal=INT,QUIT "$SANDBOX" "$@" </dev/null >"$out" 2>"$err"
}

t_signal_forwarding() {
  local p pid sig
  p=$(mkprofile p default)
  sb_bg "$T/out" "$T/err" run "$p" -- /probe signals
  pid=$BG
  wait_for_line "$T/out" '^ready=1$' 10 || fail "the probe did not print ready=1 within 10 s"
  for sig in USR1 USR2 HUP QUIT WINCH INT; do
    kill -"$sig" "$pid" || fail "kill -$sig $pid failed: the sandbox is gone"
    wait_for_line "$T/out" "^got=SIG$sig\$" 10 ||
      fail "SIG$sig sent to the sandbox did not reach the payload within 10 s (no got=SIG$sig)"
  done
  kill -TERM "$pid" || fail "kill -TERM $pid failed: the sandbox is gone"
  wait_exit "$pid" 10 || fail "the sandbox did not exit within 10 s of SIGTERM"
  grep -qx got=SIGTERM "$T/out" || fail "SIGTERM did not reach the payload (no got=SIGTERM)"
  expect_rc 0 "exit code after the payload handled SIGTERM and exited 0"
}

t_signal_term_uncaught() {
  local p pid
  p=$(mkprofile p default)
  sb_bg "$T/out" "$T/err" run "$p" -- /probe sleep 100
  pid=$BG
  wait_for_line "$T/out" '^pid=' 10 || fail "the probe did not print pid= within 10 s"
  kill -TERM "$pid"
  wait_exit "$pid" 10 || fail "the sandbox did not exit within 10 s of SIGTERM"
  expect_rc 143 "exit code after SIGTERM to a payload that does not catch it"
}

t_signal_int_forwarded() {
  local p pid
  p=$(mkprofile p default)
  # The payload's shell reports what killed its child; that proves INT went through pid 1.
  sb_bg "$T/out" "$T/err" run "$p" -- /bin/sh -c \
    'trap "echo got-int; exit 3" INT; echo ready; while :; do sleep 0.1; done'
  pid=$BG
  wait_for_line "$T/out" '^ready$' 10 || fail "the payload did not start within 10 s"
  kill -INT "$pid"
  wait_exit "$pid" 10 || fail "the sandbox did not exit within 10 s of SIGINT"
  grep -qx got-int "$T/out" || fail "SIGINT did not reach the payload"
  expect_rc 3 "exit code after the payload handled SIGINT with exit 3"
}

t_zombies_reaped() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /probe orphans 50
  expect_rc 0
  expect_kv orphans 50
  expect_kv zombies 0
}

# sandbox_leftovers BEFORE...: processes of ours in another pid namespace, not in BEFORE
sandbox_leftovers() {
  local q
  for q in $(other_pidns_procs); do
    [[ " $* " == *" $q "* ]] || echo "$q"
  done
}

t_payload_exit_ends_sandbox() {
  local p start elapsed left before q desc=()
  p=$(mkprofile p default)
  before=$(other_pidns_procs) # not ours: e.g. a rootless container of this user
  start=$(now_ms)
  # 4321: a marker to find the sleepers by their command line
  LAST_CMD="sandbox run $p -- /probe spawn-sleepers 3 4321"
  RC=0
  timeout 30 "$SANDBOX" run "$p" -- /probe spawn-sleepers 3 4321 </dev/null >"$T/out" 2>"$T/err" ||
    RC=$?
  elapsed=$(($(now_ms) - start))
  expect_rc 0
  [ "$elapsed" -lt 5000 ] || fail "the sandbox took ${elapsed} ms to return after its payload exited (limit 5000 ms)"
  left=$(
    pgrep -u "$MYUID" -f sandbox-probe
    pgrep -u "$MYUID" -f 'spawn-sleepers 3 4321|sleep.* 4321'
    pgrep -u "$MYUID" -x probe
    sandbox_leftovers $before
  )
  if [ -n "$left" ]; then
    for q in $(echo "$left" | sort -un); do desc+=("$(proc_desc "$q")"); done
    fail "processes of the sandbox remain after the payload exited" "${desc[@]}"
  fi
}

t_supervisor_sigkill_ends_sandbox() {
  local p pid procs q left i before
  p=$(mkprofile p default)
  [ -e "/proc/$$/task/$$/children" ] || skip "the kernel has no /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN)"
  before=$(other_pidns_procs)
  sb_bg "$T/out" "$T/err" run "$p" -- /probe sleep 100
  pid=$BG
  wait_for_line "$T/out" '^pid=' 10 || fail "the probe did not print pid= within 10 s"
  # The sandbox: the supervisor's descendants, and whatever of ours runs in a new pid namespace
  # (in case pid 1 is ever not the supervisor's own child).
  procs=$( (descendants "$pid"; sandbox_leftovers $before) | sort -un)
  [ "$(echo "$procs" | wc -w)" -ge 2 ] ||
    fail "expected at least 2 sandbox processes (pid 1 and the payload), found: $(echo $procs)"
  kill -KILL "$pid"
  for ((i = 0; i < 10; i++)); do # the issue allows one second
    left=
    for q in $procs $(sandbox_leftovers $before); do alive "$q" && left+=" $q"; done
    [ -z "$left" ] && break
    sleep 0.1
  done
  if [ -n "$left" ]; then
    local lines=()
    for q in $(echo $left | tr ' ' '\n' | sort -un); do lines+=("$(proc_desc "$q")"); done
    fail "1 s after SIGKILL of the supervisor, these sandbox processes remain" "${lines[@]}"
  fi
}
