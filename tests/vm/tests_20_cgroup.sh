# Resource limits for real, in the guest's delegated cgroup v2 subtree: sbuser has every
# controller (as with systemd's Delegate=yes plus an admin drop-in), sbmin only memory and pids
# (systemd's default for users), sbnone nothing.

sandbox_cg() { echo "$VM_CG_DELEGATED/sandbox-$1"; }

# The JSON of `sandbox stats NAME --json`, checked for syntax; KEY=VALUE lines in $T/stats.
stats_json() { # stats_json NAME KEY...
  local name=$1 key
  shift
  sb stats "$name" --json
  expect_rc 0 "sandbox stats $name --json"
  cp "$T/out" "$T/stats.json"
  "$PROBE" json-check <"$T/stats.json" >/dev/null || fail "stats --json is not valid JSON" "$(cat "$T/stats.json")"
  : >"$T/stats"
  for key in "$@"; do
    "$PROBE" json-get "$key" <"$T/stats.json" >>"$T/stats" || fail "stats --json has no '$key'" "$(cat "$T/stats.json")"
  done
}

sb_bg() { # sb_bg OUT ERR ARGS...: sandbox in the background; pid in $BG
  local out=$1 err=$2
  shift 2
  LAST_CMD="sandbox $(quote "$@") &"
  start_bg "$SANDBOX" "$@" </dev/null >"$out" 2>"$err"
}

stop_bg() { # stop_bg PID: SIGTERM the supervisor and wait for it
  kill -TERM "$1" 2>/dev/null
  wait_exit "$1" 30 || fail "the sandbox did not end within 30 s of SIGTERM"
}

t_cg_pids_stops_fork_bomb() {
  need_delegation
  local p pid cg
  p=$(mkprofile p default)
  sb_bg "$T/bg.out" "$T/bg.err" run --name bomb --pids 10 "$p" -- /probe forks 1000
  pid=$BG
  wait_for_line "$T/bg.out" '^ready$' 60 || fail "the fork bomb did not finish within 60 s" "$(cat "$T/bg.err")"
  # pid 1 and the probe count too: 8 forks fit under pids.max 10.
  expect_kv forked 8 "$T/bg.out"
  expect_kv fork_error EAGAIN "$T/bg.out"
  cg=$(sandbox_cg bomb)
  expect_file_eq "pids.max of the sandbox's cgroup" 10 "$cg/pids.max"
  expect_file_eq "pids.current of the sandbox's cgroup" 10 "$cg/pids.current"
  # The processes live in the payload child (the namespace root inside); the limits are set on
  # sandbox-NAME, above it, where the sandbox cannot reach them.
  [ -z "$(cat "$cg/cgroup.procs")" ] || fail "processes sit in $cg itself, not in its payload cgroup"
  expect_eq "processes in $cg/payload" 10 "$(wc -l <"$cg/payload/cgroup.procs")"
  expect_file_eq "cgroup.max.descendants of the sandbox's cgroup" 256 "$cg/cgroup.max.descendants"
  # Outside the sandbox nothing is limited: this shell can still fork plenty.
  local i
  for i in 1 2 3 4 5 6 7 8 9 10 11 12; do /bin/true || fail "fork $i failed outside the sandbox"; done
  stats_json bomb pids_current pids_max pids_limit_hits
  expect_kv pids_current 10 "$T/stats"
  expect_kv pids_max 10 "$T/stats"
  [ "$(val pids_limit_hits "$T/stats")" -ge 1 ] || fail "stats: pids_limit_hits should be at least 1" "$(cat "$T/stats")"
  sb stats bomb
  grep -Eq '^pids: +10 \(max 10, forks refused at the limit [1-9][0-9]*\)' "$T/out" || fail "stats (text) does not show the pids and refusals"
  stop_bg "$pid"
  grep -q 'fork(s) failed at the process limit (pids.max 10)' "$T/bg.err" || fail "no note about the refused forks at the end"
  [ ! -d "$cg" ] || fail "the sandbox's cgroup $cg is still there after it ended"
}

t_cg_memory_oom_kill() {
  need_delegation
  local p
  p=$(mkprofile p default)
  sb run --memory 32M "$p" -- /probe alloc 256
  expect_rc 137 "a payload OOM-killed"
  grep -qx 'sandbox: killed: out of memory (memory.max 32M)' "$T/err" || fail "the tool did not say it was an OOM kill"
  grep -q '^done' "$T/out" && fail "the probe allocated 256 MiB under memory.max 32M"
  [ -z "$(ls -d "$VM_CG_DELEGATED"/sandbox-* 2>/dev/null)" ] || fail "a sandbox cgroup was left behind"
}

t_cg_memory_stats_after_oom() {
  need_delegation
  local p pid cg
  p=$(mkprofile p default)
  sb_bg "$T/bg.out" "$T/bg.err" run --name hog --memory 48M "$p" -- \
    /bin/sh -c '/probe alloc 24; /probe alloc 512; echo alloc_rc=$?; echo ready; exec sleep 600'
  pid=$BG
  wait_for_line "$T/bg.out" '^ready$' 60 || fail "the hog did not finish within 60 s" "$(cat "$T/bg.err")"
  expect_kv alloc_rc 137 "$T/bg.out"
  cg=$(sandbox_cg hog)
  expect_file_eq "memory.max" $((48 << 20)) "$cg/memory.max"
  stats_json hog memory_max memory_peak oom_kills memory_current
  expect_kv memory_max $((48 << 20)) "$T/stats"
  [ "$(val oom_kills "$T/stats")" -ge 1 ] || fail "stats: oom_kills should be at least 1" "$(cat "$T/stats")"
  [ "$(val memory_peak "$T/stats")" -ge $((40 << 20)) ] || fail "stats: memory_peak should be near 48M" "$(cat "$T/stats")"
  [ "$(val memory_current "$T/stats")" -lt $((24 << 20)) ] || fail "stats: memory_current should be small again" "$(cat "$T/stats")"
  sb stats hog
  grep -Eq '^oom kills: +[1-9]' "$T/out" || fail "stats (text) does not show the OOM kill"
  stop_bg "$pid"
}

t_cg_cpu_max_throttles() {
  need_delegation
  local p free limited cg_line
  p=$(mkprofile p default)
  sb run "$p" -- /probe spin 3000
  expect_rc 0
  free=$(( $(val cpu_ms) * 100 / $(val wall_ms) ))
  sb run --cpus 0.2 "$p" -- /bin/sh -c 'cat /sys/fs/cgroup/cpu.max; /probe spin 3000; grep throttled_usec /sys/fs/cgroup/cpu.stat'
  expect_rc 0
  cg_line=$(head -n 1 "$T/out")
  expect_eq "cpu.max inside" "20000 100000" "$cg_line"
  limited=$(( $(val cpu_ms) * 100 / $(val wall_ms) ))
  # 20 % of a CPU, with loose bounds: TCG's clock is not steady.
  [ "$limited" -ge 5 ] && [ "$limited" -le 40 ] ||
    fail "with --cpus 0.2 the probe got $limited % of a CPU (expected 5..40); without a limit $free %"
  [ "$free" -ge $((limited * 2)) ] || fail "without a limit the probe got $free %, not clearly more than $limited %"
  grep -Eq '^throttled_usec [1-9]' "$T/out" || fail "cpu.stat shows no throttling"
}

t_cg_io_max_throttles_ram_disk() {
  need_delegation
  [ -b /dev/ram0 ] && [ -r /dev/ram0 ] || skip "/dev/ram0 is missing or not readable"
  local p pid free limited
  p=$(mkprofile -n p default \
    '[[mount]]' 'type = "ro-bind"' 'source = "/dev/ram0"' 'target = "/dev/ram0"' 'devices = true')
  sb run "$p" -- /probe direct-read /dev/ram0 2097152
  expect_rc 0 "an unlimited O_DIRECT read of /dev/ram0"
  free=$(val read_ms)
  cat >>"$p" <<'TOML'

[limits]
[[limits.io]]
device = "/dev/ram0"
read_bps = "1M"
TOML
  sb_bg "$T/bg.out" "$T/bg.err" run --name disk "$p" -- \
    /bin/sh -c '/probe direct-read /dev/ram0 2097152; echo ready; exec sleep 600'
  pid=$BG
  wait_for_line "$T/bg.out" '^ready$' 60 || fail "the throttled read did not finish within 60 s" "$(cat "$T/bg.err")"
  limited=$(val read_ms "$T/bg.out") || fail "the throttled read failed" "$(cat "$T/bg.out")"
  grep -q '^1:0 rbps=1048576 ' "$(sandbox_cg disk)/io.max" || fail "io.max is not set" "$(cat "$(sandbox_cg disk)/io.max")"
  # 2 MiB at 1 MiB/s: about 1 to 2 s (the first window is granted at once).
  [ "$limited" -ge 900 ] || fail "2 MiB under rbps=1M took $limited ms (expected >= 900; unlimited: $free ms)"
  [ "$free" -lt $((limited / 2)) ] || fail "unlimited ($free ms) is not clearly faster than limited ($limited ms)"
  stats_json disk io_read_bytes
  [ "$(val io_read_bytes "$T/stats")" -ge 2097152 ] || fail "stats: io_read_bytes below 2 MiB" "$(cat "$T/stats")"
  stop_bg "$pid"
}

t_cg_pause_and_resume() {
  need_delegation
  local p pid before after
  p=$(mkprofile p default)
  sb_bg "$T/bg.out" "$T/bg.err" run --name ticker "$p" -- /bin/sh -c 'i=0; while :; do i=$((i+1)); echo tick=$i; sleep 0.1; done'
  pid=$BG
  wait_for_line "$T/bg.out" '^tick=5$' 60 || fail "the ticker did not start" "$(cat "$T/bg.err")"
  sb pause ticker
  expect_rc 0 "sandbox pause ticker"
  grep -qx 'frozen 1' "$(sandbox_cg ticker)/cgroup.events" || fail "cgroup.events does not say frozen 1"
  sb ps
  grep -Eq '^ticker +[0-9]+ +[0-9a-z ]+ +paused ' "$T/out" || fail "sandbox ps does not show ticker as paused"
  before=$(grep -c '^tick=' "$T/bg.out")
  sleep 2
  after=$(grep -c '^tick=' "$T/bg.out")
  [ "$after" -le $((before + 1)) ] || fail "the ticker went on while paused ($before -> $after ticks)"
  sb resume ticker
  expect_rc 0 "sandbox resume ticker"
  wait_for_line "$T/bg.out" "^tick=$((after + 5))\$" 30 || fail "the ticker did not go on after resume"
  sb ps --json
  "$PROBE" json-check <"$T/out" >/dev/null || fail "ps --json is not valid JSON"
  grep -q '"name":"ticker"' "$T/out" || fail "ps --json does not list ticker"
  grep -q '"state":"running"' "$T/out" || fail "ps --json does not show ticker running after resume"
  stop_bg "$pid"
}

t_cg_view_inside_and_nested() {
  need_delegation
  local p
  p=$(mkprofile p default)
  sb run --memory 64M "$p" -- /bin/sh -c 'cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max; mkdir /sys/fs/cgroup/x 2>&1; echo mkdir=$?'
  expect_rc 0
  grep -qx '0::/' "$T/out" || fail "inside, /proc/self/cgroup is not 0::/ (no cgroup namespace?)"
  grep -qx $((64 << 20)) "$T/out" || fail "inside, /sys/fs/cgroup/memory.max is not the sandbox's 64M"
  grep -q 'mkdir=0' "$T/out" && fail "/sys/fs/cgroup is writable inside without nested = true"
  p=$(mkprofile q default '[limits]' 'nested = true')
  sb run "$p" -- /bin/sh -c 'mkdir /sys/fs/cgroup/child; echo mkdir=$?; echo $$ >/sys/fs/cgroup/child/cgroup.procs; echo move=$?; cat /proc/self/cgroup'
  expect_rc 0
  expect_kv mkdir 0
  expect_kv move 0
  grep -qx '0::/child' "$T/out" || fail "with nested = true, a process could not move into a child cgroup it made"
}

t_cg_cleanup_and_ownership() {
  need_delegation
  local p pid cg
  mkdir "$VM_CG_DELEGATED/mine" || fail "cannot make a cgroup of our own"
  p=$(mkprofile p default)
  sb run --name once --pids 50 "$p" -- /bin/true
  expect_rc 0
  [ -d "$VM_CG_DELEGATED/mine" ] || fail "the tool removed a cgroup it did not create"
  [ ! -d "$(sandbox_cg once)" ] || fail "the sandbox's cgroup is still there after it ended"
  # Our shell was moved out of the delegated cgroup into a leaf (no internal processes).
  expect_eq "this shell's cgroup" "${VM_CG_DELEGATED#/sys/fs/cgroup}/sandbox.host-processes" "$(cg_of)"
  # A supervisor that dies leaves its cgroup: the next start kills and removes it.
  sb_bg "$T/bg.out" "$T/bg.err" run --name orphan "$p" -- /bin/sh -c 'echo ready; exec sleep 600'
  pid=$BG
  wait_for_line "$T/bg.out" '^ready$' 60 || fail "the sandbox did not start" "$(cat "$T/bg.err")"
  cg=$(sandbox_cg orphan)
  [ -d "$cg" ] || fail "no cgroup $cg while the sandbox runs"
  kill -KILL "$pid"
  wait_exit "$pid" 10 || fail "the supervisor did not die"
  cg_wait_empty "$cg" 10 || fail "the sandbox's processes outlived its supervisor" "$(cg_pids "$cg")"
  sb run "$p" -- /bin/true
  expect_rc 0
  [ ! -d "$cg" ] || fail "the dead sandbox's cgroup was not removed at the next start"
  [ -d "$VM_CG_DELEGATED/mine" ] || fail "the tool removed a cgroup it did not create"
  rmdir "$VM_CG_DELEGATED/mine"
}

# On a systemd host a cgroup of the user's that systemd did not delegate (a terminal's app
# scope) is not taken over: systemd may rewrite its controllers.
t_cg_unmarked_scope_not_used() {
  need_delegation
  local p scope=$VM_CG_DELEGATED/app-terminal.scope
  mkdir "$scope" || fail "cannot make $scope"
  echo "$BASHPID" >"$scope/cgroup.procs" || fail "cannot move into $scope"
  p=$(mkprofile p default)
  sb run --pids 20 "$p"
  expect_rc 125 "limits from a cgroup systemd did not delegate"
  grep -q "cannot enforce pids.max 20: the cgroup this runs in (${scope#/sys/fs/cgroup}) belongs to you but systemd did not delegate it" "$T/err" ||
    fail "the error does not say the scope is not delegated"
  sb run "$p"
  expect_rc 0 "a run without limits"
  [ -z "$(ls -d "$scope"/sandbox* "$VM_CG_DELEGATED"/sandbox-* 2>/dev/null)" ] || fail "the tool made cgroups in a scope it does not own"
  expect_eq "this shell's cgroup" "${scope#/sys/fs/cgroup}" "$(cg_of)"
}

# A limit the kernel refuses (CPU 7 on a 2-CPU guest): strict stops with the reason and leaves
# no cgroup behind; best-effort warns and runs without it.
t_cg_refused_value() {
  need_delegation
  local p
  p=$(mkprofile p default '[limits]' 'cpuset = "7"' 'pids = 50')
  sb run --name refused "$p"
  expect_rc 125 "a cpuset the kernel refuses"
  grep -q "^sandbox: limits: $T/p.toml:[0-9]*:[0-9]*: cannot set cpuset.cpus 7 (write \"7\" to .*/sandbox-refused/cpuset.cpus): " "$T/err" ||
    fail "the error does not name the limit, the file and the errno"
  grep -q '^hint: the CPUs (or memory nodes) must exist' "$T/err" || fail "the hint does not say the CPUs must exist"
  [ ! -d "$(sandbox_cg refused)" ] || fail "the cgroup of a sandbox that failed to start was left behind"
  p=$(mkprofile -n q default 'command = ["/bin/sh", "-c", "cat /sys/fs/cgroup/pids.max"]' '[limits]' 'cpuset = "7"' 'pids = 50' 'enforce = "best-effort"')
  sb run --name refused "$p"
  expect_rc 0 "best-effort with a refused cpuset"
  grep -q "^sandbox: warning: $T/q.toml:[0-9]*:[0-9]*: cannot set cpuset.cpus 7 .*(best-effort: running without it)" "$T/err" || fail "no best-effort warning"
  grep -qx 50 "$T/out" || fail "the other limit (pids.max 50) was not applied"
}

# Names are unique per delegated cgroup too: a second runtime directory cannot take over the
# cgroup of a running sandbox (its supervisor holds a lock on it).
t_cg_same_name_from_another_runtime_dir() {
  need_delegation
  local p pid other=$T/other-runtime
  p=$(mkprofile p default)
  sb_bg "$T/bg.out" "$T/bg.err" run --name web "$p" -- /bin/sh -c 'echo ready; exec sleep 600'
  pid=$BG
  wait_for_line "$T/bg.out" '^ready$' 60 || fail "the first sandbox did not start" "$(cat "$T/bg.err")"
  mkdir -m 0700 "$other"
  LAST_CMD="XDG_RUNTIME_DIR=$other sandbox run --name web"
  RC=0
  XDG_RUNTIME_DIR=$other "$SANDBOX" run --name web "$p" -- /bin/true </dev/null >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 125 "a second sandbox web from another runtime directory"
  grep -q "a sandbox named web is already running (its cgroup .*/sandbox-web is in use)" "$T/err" ||
    fail "the error does not say the cgroup is in use"
  alive "$pid" || fail "the first sandbox died"
  [ -d "$(sandbox_cg web)/payload" ] || fail "the first sandbox's cgroup was removed"
  stop_bg "$pid"
}

t_cg_doctor_all_enforceable() {
  need_delegation
  sb doctor
  expect_rc 0
  local c
  for c in cpuset cpu io memory pids; do
    grep -Eq "^  ok    $c +enforceable" "$T/out" || fail "doctor: $c is not enforceable"
  done
  grep -Eq "^  ok    delegated cgroup +$VM_CG_DELEGATED\$" "$T/out" || fail "doctor does not name the delegated cgroup"
}

tmin_cg_missing_controller_fails() {
  need_delegation
  local p
  p=$(mkprofile p default '[limits]' 'memory = "64M"' 'cpus = 1')
  sb run "$p"
  expect_rc 125 "a profile asking for a controller that is not delegated"
  grep -q "^sandbox: limits: $T/p.toml:[0-9]*:[0-9]*: cannot enforce cpu.max 1 CPUs: the cpu controller is not delegated to $VM_CG_DELEGATED (available: memory pids)" "$T/err" ||
    fail "the error does not name cpu.max, the cpu controller and the delegated cgroup"
  grep -q '^hint: systemd delegates only memory and pids to users by default; as root, add /etc/systemd/system/user@.service.d/delegate.conf containing "\[Service\]" and "Delegate=cpu cpuset io memory pids"' "$T/err" ||
    fail "the hint does not name systemd's Delegate= drop-in"
  grep -q '^uid=' "$T/out" && fail "the payload ran"
  [ -z "$(ls -d "$VM_CG_DELEGATED"/sandbox-* 2>/dev/null)" ] || fail "a cgroup was left behind"
  sb doctor
  grep -Eq '^  no    cpu ' "$T/out" || fail "doctor does not say cpu is missing"
  grep -Eq '^  ok    memory +enforceable' "$T/out" || fail "doctor does not say memory is enforceable"
}

tmin_cg_best_effort_warns_and_runs() {
  need_delegation
  local p
  p=$(mkprofile -n p default 'command = ["/bin/sh", "-c", "cat /sys/fs/cgroup/memory.max"]' \
    '[limits]' 'memory = "64M"' 'cpus = 1' 'io_weight = 50' 'enforce = "best-effort"')
  sb run "$p"
  expect_rc 0 "best-effort runs without the missing limits"
  [ "$(grep -c "^sandbox: warning: $T/p.toml:[0-9]*:[0-9]*: cannot enforce" "$T/err")" = 2 ] || fail "expected one warning per missing limit (cpu.max, io.weight), at their lines"
  grep -q 'cannot enforce cpu.max 1 CPUs' "$T/err" || fail "no warning for cpu.max"
  grep -q 'cannot enforce io.weight 50' "$T/err" || fail "no warning for io.weight"
  grep -qx $((64 << 20)) "$T/out" || fail "memory.max (available) was not enforced"
}

tnone_cg_no_delegation() {
  local p pid
  p=$(mkprofile p default '[limits]' 'pids = 20')
  sb run "$p"
  expect_rc 125
  grep -q 'cannot enforce pids.max 20: the cgroup this runs in (/user.slice/user-1002.slice/session-1.scope) is not delegated to you' "$T/err" ||
    fail "the error does not say the cgroup is not delegated"
  grep -q '^hint: run it in a delegated scope: systemd-run --user --scope -p Delegate=yes sandbox run' "$T/err" ||
    fail "the hint does not name systemd-run --user --scope -p Delegate=yes"
  p=$(mkprofile q default)
  sb_bg "$T/bg.out" "$T/bg.err" run --name plain "$p" -- /bin/sh -c 'echo ready; exec sleep 600'
  pid=$BG
  wait_for_line "$T/bg.out" '^ready$' 60 || fail "a sandbox without limits did not start" "$(cat "$T/bg.err")"
  sb ps
  grep -q '^plain ' "$T/out" || fail "ps does not list a sandbox without a cgroup"
  sb pause plain
  expect_rc 125
  grep -q 'has no cgroup of its own' "$T/err" || fail "pause without a cgroup is not a clear error"
  stop_bg "$pid"
}

# `sandbox exec` starts its command in the sandbox's cgroup (so its limits hold for it too), not
# in the caller's; inside, that cgroup is the root of its cgroup namespace, as for the payload.
t_cg_exec_enters_the_sandbox_cgroup() {
  need_delegation
  local p cg client
  p=$(mkprofile p default)
  sb run -d --name execcg --pids 20 "$p" -- /bin/sleep 600
  expect_rc 0 "run --detach"
  at_exit "'$SANDBOX' stop -t 0 execcg >/dev/null 2>&1; '$SANDBOX' rm execcg >/dev/null 2>&1"
  cg=$(sandbox_cg execcg)
  start_bg "$SANDBOX" exec execcg /bin/sh -c 'cat /proc/self/cgroup; echo started; exec sleep 600' </dev/null >"$T/exec.out" 2>"$T/exec.err"
  client=$BG
  wait_for_line "$T/exec.out" '^started$' 30 || fail "exec did not start" "$(cat "$T/exec.err")"
  [ "$(head -1 "$T/exec.out")" = "0::/" ] || fail "inside, the exec'd command's cgroup is $(head -1 "$T/exec.out")"
  # pid 1, the payload and the exec'd command
  expect_eq "processes in $cg/payload" 3 "$(wc -l <"$cg/payload/cgroup.procs")"
  sb stop -t 0 execcg
  expect_rc 0
  wait_exit "$client" 30 || fail "exec did not end with the sandbox"
}
