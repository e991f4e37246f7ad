# Running sandboxes: run --detach, logs, wait, stop, kill, exec, enter, rm, ps --all, and the
# control socket they go through.

# detached NAME PROFILE CMD...: start a detached sandbox (stopped and removed when the test ends)
detached() {
  local name=$1 p=$2
  shift 2
  at_exit "'$SANDBOX' stop -t 0 $name >/dev/null 2>&1; '$SANDBOX' rm $name >/dev/null 2>&1"
  sb run -d --name "$name" "$p" -- "$@"
  expect_rc 0 "run --detach"
  [ "$(cat "$T/out")" = "$name" ] || fail "run --detach did not print just the name: $(cat "$T/out")"
}

sandbox_dir() { echo "$XDG_RUNTIME_DIR/sandbox/$1"; }

t_detach_log_wait_ps_rm() {
  local p
  p=$(mkprofile p default)
  detached itest-d "$p" /bin/sh -c 'echo to-stdout; echo to-stderr >&2; read x </dev/stdin; echo stdin=$x; sleep 1; exit 3'
  sb ps
  grep -Eq '^itest-d +[0-9]+ +[0-9]+s ago +running ' "$T/out" || fail "ps does not list the detached sandbox as running" "$(cat "$T/out")"
  [ "$(stat -c %a "$(sandbox_dir itest-d)/control")" = 600 ] || fail "the control socket is not mode 0600"
  sb wait itest-d
  expect_rc 3 "wait returns the command's exit code"
  [ "$(cat "$T/out")" = 3 ] || fail "wait did not print the exit code: $(cat "$T/out")"
  sb logs itest-d
  expect_rc 0
  grep -qx to-stdout "$T/out" && grep -qx to-stderr "$T/out" || fail "the log lacks the command's output" "$(cat "$T/out")"
  grep -qx 'stdin=' "$T/out" || fail "a detached command's stdin is not /dev/null" "$(cat "$T/out")"
  sb logs --tail 1 itest-d
  [ "$(cat "$T/out")" = stdin= ] || fail "logs --tail 1 printed: $(cat "$T/out")"
  sb ps
  grep -q '^itest-d ' "$T/out" && fail "ps (without --all) lists an exited sandbox"
  sb ps --all
  grep -Eq '^itest-d +- +[0-9]+s ago +exited\(3\) ' "$T/out" || fail "ps --all does not show exited(3)" "$(cat "$T/out")"
  sb ps --all --json
  /usr/bin/python3 -c '
import json, sys
entries = [e for e in json.load(sys.stdin) if e["name"] == "itest-d"]
assert len(entries) == 1, entries
e = entries[0]
assert e["state"] == "exited" and e["exit_code"] == 3 and e["finished"] >= e["created"], e
assert e["command"].startswith("/bin/sh -c "), e
' <"$T/out" || fail "ps --all --json does not describe the exited sandbox" "$(cat "$T/out")"
  sb wait itest-d
  expect_rc 3 "wait on an exited sandbox returns its exit code"
  sb run -d --name itest-d "$p" -- /bin/true
  expect_rc 125 "a kept exited sandbox keeps its name"
  grep -q 'sandbox rm itest-d' "$T/err" || fail "the error does not say how to free the name" "$(cat "$T/err")"
  sb rm itest-d
  expect_rc 0
  [ ! -e "$(sandbox_dir itest-d)" ] || fail "rm left the sandbox's directory"
  sb rm itest-d
  expect_rc 125 "rm of an unknown name"
}

# The caller gets its terminal (and a $(...) its end of file) back at once: nothing of it is held.
t_detach_lets_go_of_the_caller() {
  local p out start
  p=$(mkprofile p default)
  at_exit "'$SANDBOX' stop -t 0 itest-held >/dev/null 2>&1; '$SANDBOX' rm itest-held >/dev/null 2>&1"
  start=$(now_ms)
  out=$(timeout 10 "$SANDBOX" run -d --name itest-held "$p" -- /bin/sleep 60 </dev/null 2>"$T/err") ||
    fail "run --detach inside \$(...) did not return (or failed)" "$(cat "$T/err")"
  [ "$out" = itest-held ] || fail "printed: $out"
  [ $(($(now_ms) - start)) -lt 5000 ] || fail "run --detach held the caller's stdout for $(($(now_ms) - start)) ms"
  sb ps
  grep -q '^itest-held ' "$T/out" || fail "the detached sandbox is not running"
}

# A start that fails says why and exits as the foreground run would, leaving nothing behind.
t_detach_failed_start() {
  local p
  p=$(mkprofile p default)
  sb run -d --name itest-fail "$p" -- /no/such/command
  expect_rc 127 "a detached command that cannot be found"
  grep -q 'command not found' "$T/err" || fail "no 'command not found'" "$(cat "$T/err")"
  [ ! -e "$(sandbox_dir itest-fail)" ] || fail "a failed start left its directory"
  sb run -d --name itest-fail --cwd /no/such/dir "$p" -- /bin/true
  expect_rc 125 "a detached command whose cwd is missing"
  grep -q '^sandbox: cwd: ' "$T/err" || fail "the error does not name the stage" "$(cat "$T/err")"
  [ ! -e "$(sandbox_dir itest-fail)" ] || fail "a failed start left its directory"
}

# --rm: the record and log go when the command ends.
t_detach_rm() {
  local p
  p=$(mkprofile p default)
  sb run -d --rm --name itest-rm "$p" -- /bin/sh -c 'sleep 0.5'
  expect_rc 0
  sb wait itest-rm
  # The record is gone when wait asks (or it was told over the socket): either way, nothing is kept.
  for _ in $(seq 50); do [ -e "$(sandbox_dir itest-rm)" ] || break; sleep 0.1; done
  [ ! -e "$(sandbox_dir itest-rm)" ] || fail "run -d --rm kept the sandbox's directory"
}

# exec joins the payload's namespaces and cgroup, with the same ids and fences.
t_exec_same_namespaces_and_fences() {
  local p fences='grep -E "^(Seccomp|NoNewPrivs|Cap(Inh|Prm|Eff|Bnd|Amb)):" /proc/self/status; cat /proc/self/cgroup'
  p=$(mkprofile p default)
  detached itest-x "$p" /bin/sh -c "/probe info; $fences; echo payload-ready; exec sleep 60"
  for _ in $(seq 50); do "$SANDBOX" logs itest-x 2>/dev/null | grep -q payload-ready && break; sleep 0.1; done
  "$SANDBOX" logs itest-x >"$T/payload" 2>&1
  sb exec itest-x /probe info
  expect_rc 0 "exec /probe info"
  cp "$T/out" "$T/exec"
  local key
  for key in ns.user ns.mnt ns.pid ns.uts ns.ipc ns.net ns.cgroup uid gid groups hostname cap.inh cap.prm cap.eff cap.bnd cap.amb no_new_privs uid_map gid_map; do
    grep -q "^$key=" "$T/payload" || fail "the payload's /probe info has no $key"
    [ "$(val "$key" "$T/payload")" = "$(val "$key" "$T/exec")" ] ||
      fail "exec's $key differs from the payload's: $(val "$key" "$T/exec") vs $(val "$key" "$T/payload")"
  done
  [ "$(ns_ino "$(val ns.pid "$T/exec")")" != "$(host_ns pid)" ] || fail "exec ran in the host's PID namespace"
  [ "$(val pid "$T/exec")" != 1 ] || fail "exec ran as pid 1"
  sb exec itest-x /bin/sh -c "$fences"
  expect_rc 0
  grep -E '^(Seccomp|NoNewPrivs|Cap(Inh|Prm|Eff|Bnd|Amb)):|^[0-9]+:' "$T/payload" >"$T/payload.fences"
  diff "$T/payload.fences" "$T/out" >"$T/diff" || fail "exec's seccomp, no_new_privs, capabilities or cgroup differ" "$(cat "$T/diff")"
  grep -q '^Seccomp:[[:space:]]2' "$T/out" || fail "exec runs without a seccomp filter" "$(cat "$T/out")"
}

t_exec_exit_codes_env_cwd() {
  local p
  p=$(mkprofile p default)
  detached itest-e "$p" /bin/sleep 60
  sb exec itest-e /bin/sh -c 'exit 7'
  expect_rc 7 "exec returns the command's exit code"
  sb exec itest-e -- /bin/sh -c 'kill -TERM $$'
  expect_rc 143 "exec of a command killed by TERM"
  sb exec itest-e no-such-command
  expect_rc 127 "exec of a missing command"
  grep -q '^sandbox: exec: no-such-command: command not found' "$T/err" || fail "no clear error" "$(cat "$T/err")"
  sb exec -w /no/such/dir itest-e /bin/true
  expect_rc 125 "exec with a missing working directory"
  grep -q '^sandbox: cwd: chdir /no/such/dir' "$T/err" || fail "no clear error" "$(cat "$T/err")"
  sb exec -e ITEST=hello -w /usr itest-e /bin/sh -c 'echo "$ITEST $(pwd)"'
  expect_rc 0
  [ "$(cat "$T/out")" = "hello /usr" ] || fail "-e and -w did not apply: $(cat "$T/out")"
  sb exec itest-e ''
  expect_rc 127 "exec of an empty command name"
  LAST_CMD="sandbox exec itest-e /bin/true <&- >&-"
  RC=0
  "$SANDBOX" exec itest-e /bin/sh -c 'read x; echo "read=$?" >&2' <&- >&- 2>"$T/err" || RC=$?
  expect_rc 0 "exec with stdin and stdout closed"
  grep -q 'read=1' "$T/err" || fail "a closed stdin is not /dev/null for the command" "$(cat "$T/err")"
  sb exec -e NOEQUALS itest-e /bin/true
  expect_rc 125 "-e without ="
  sb exec itest-e
  expect_rc 125 "exec without a command"
  sb exec no-such-sandbox /bin/true
  expect_rc 125 "exec into a sandbox that does not exist"
  grep -q 'no sandbox named no-such-sandbox' "$T/err" || fail "no clear error" "$(cat "$T/err")"
  # stdin reaches the command; a pipe stays a pipe (no pty without a terminal)
  LAST_CMD="echo piped | sandbox exec itest-e cat"
  RC=0
  echo piped | "$SANDBOX" exec itest-e /bin/sh -c 'cat; [ -t 0 ] && echo tty || echo notty' >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0
  [ "$(tr '\n' ' ' <"$T/out")" = "piped notty " ] || fail "stdin did not reach the command: $(cat "$T/out")"
}

# What exec starts lives in the sandbox: it dies with it, and exec says how it ended.
t_exec_dies_with_the_sandbox() {
  local p pid
  p=$(mkprofile p default)
  detached itest-die "$p" /bin/sleep 60
  start_bg "$SANDBOX" exec itest-die /bin/sh -c 'echo started; exec sleep 60' </dev/null >"$T/bg.out" 2>"$T/bg.err"
  pid=$BG
  wait_for_line "$T/bg.out" '^started$' 10 || fail "exec did not start" "$(cat "$T/bg.err")"
  sb stop -t 0 itest-die
  expect_rc 0
  wait_exit "$pid" 10 || fail "exec did not return when the sandbox was stopped"
  [ "$RC" = 137 ] || fail "exec returned $RC, expected 137 (killed with the sandbox)" "$(cat "$T/bg.err")"
  [ -z "$(other_pidns_procs)" ] || fail "processes left in a sandbox's PID namespace: $(other_pidns_procs)"
  sb exec itest-die /bin/true
  expect_rc 125 "exec into an exited sandbox"
  grep -q 'has exited' "$T/err" || fail "no clear error" "$(cat "$T/err")"
}

# The grace period between TERM and KILL is kept, and no longer than needed.
t_stop_grace_period() {
  local p start took
  p=$(mkprofile p default)
  detached itest-s1 "$p" /bin/sh -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done'
  for _ in $(seq 50); do "$SANDBOX" logs itest-s1 2>/dev/null | grep -q ready && break; sleep 0.1; done
  start=$(now_ms)
  sb stop -t 2 itest-s1
  took=$(($(now_ms) - start))
  expect_rc 0
  [ "$took" -ge 1900 ] && [ "$took" -lt 8000 ] || fail "stop -t 2 of a command that ignores TERM took $took ms"
  sb wait itest-s1
  expect_rc 137 "killed after the grace period"
  detached itest-s2 "$p" /bin/sleep 60
  start=$(now_ms)
  sb stop -t 30 itest-s2
  took=$(($(now_ms) - start))
  [ "$took" -lt 5000 ] || fail "stop of a command that ends on TERM took $took ms"
  sb wait itest-s2
  expect_rc 143 "ended by TERM"
  sb stop itest-s2
  expect_rc 0 "stopping an exited sandbox"
}

t_kill_signals() {
  local p
  p=$(mkprofile p default)
  detached itest-k "$p" /bin/sh -c 'trap "echo got-usr1; exit 5" USR1; echo ready; while :; do sleep 0.1; done'
  for _ in $(seq 50); do "$SANDBOX" logs itest-k 2>/dev/null | grep -q ready && break; sleep 0.1; done
  sb kill -s STOP itest-k
  expect_rc 125 "a signal pid 1 does not pass on"
  sb kill -s NOSUCH itest-k
  expect_rc 125 "an unknown signal"
  sb kill --signal usr1 itest-k
  expect_rc 0
  sb wait itest-k
  expect_rc 5 "the command's USR1 trap ran"
  sb logs itest-k
  grep -qx got-usr1 "$T/out" || fail "the trap's output is not in the log"
  detached itest-k2 "$p" /bin/sleep 60
  sb kill itest-k2
  expect_rc 0
  sb wait itest-k2
  expect_rc 137 "kill defaults to KILL"
}

t_logs_follow() {
  local p pid
  p=$(mkprofile p default)
  detached itest-f "$p" /bin/sh -c 'for i in 1 2 3; do echo line$i; sleep 0.3; done'
  start_bg "$SANDBOX" logs -f itest-f </dev/null >"$T/bg.out" 2>"$T/bg.err"
  pid=$BG
  wait_exit "$pid" 10 || fail "logs -f did not end when the sandbox did"
  expect_rc 0
  [ "$(tr '\n' ' ' <"$T/bg.out")" = "line1 line2 line3 " ] || fail "logs -f printed: $(cat "$T/bg.out")"
  sb logs itest-nosuch
  expect_rc 125
}

# A foreground run keeps no record, but while it runs it serves wait, stop and exec too.
t_control_of_a_foreground_run() {
  local p pid
  p=$(mkprofile p default)
  start_bg "$SANDBOX" run --name itest-fg "$p" -- /bin/sh -c 'echo ready; sleep 60' </dev/null >"$T/bg.out" 2>"$T/bg.err"
  pid=$BG
  wait_for_line "$T/bg.out" '^ready$' 10 || fail "the sandbox did not start" "$(cat "$T/bg.err")"
  sb exec itest-fg /bin/echo from-exec
  expect_rc 0
  [ "$(cat "$T/out")" = from-exec ] || fail "exec printed: $(cat "$T/out")"
  sb logs itest-fg
  expect_rc 125 "logs of a sandbox that prints to its caller"
  grep -q 'has no log' "$T/err" || fail "no clear error" "$(cat "$T/err")"
  sb attach itest-fg
  expect_rc 125 "attach to a sandbox that prints to its caller"
  grep -q 'not started with --detach' "$T/err" || fail "no clear error" "$(cat "$T/err")"
  sb stop itest-fg
  expect_rc 0
  wait_exit "$pid" 10 || fail "the foreground run did not end on stop"
  [ "$RC" = 143 ] || fail "the foreground run exited $RC, expected 143"
  [ ! -e "$(sandbox_dir itest-fg)" ] || fail "a foreground run kept its record"
}

# The control socket answers only processes of our own user namespace: never a process inside a
# sandbox (same host uid, a user namespace below ours), even one that could reach the socket.
t_control_socket_refuses_other_user_namespaces() {
  local p sock
  command -v unshare >/dev/null || skip "unshare is not installed"
  p=$(mkprofile p default)
  detached itest-c "$p" /bin/sleep 60
  sock=$(sandbox_dir itest-c)/control
  cat >"$T/ask.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(b'{"version":1,"type":"kill","signal":9}')
s.settimeout(5)
reply = s.recv(65536)
print("reply=" + reply.decode())
PY
  LAST_CMD="python3 ask.py (our user namespace)"
  /usr/bin/python3 "$T/ask.py" "$sock" >"$T/out" 2>"$T/err" || fail "our own client was refused" "$(cat "$T/err")"
  grep -q '"accepted"' "$T/out" || fail "no answer to our own client" "$(cat "$T/out")"
  sb wait itest-c
  expect_rc 137 "the kill we sent ourselves"
  detached itest-c2 "$p" /bin/sleep 60
  sock=$(sandbox_dir itest-c2)/control
  LAST_CMD="unshare -Ur python3 ask.py"
  unshare -Ur /usr/bin/python3 "$T/ask.py" "$sock" >"$T/out" 2>"$T/err"
  grep -q '^reply=$' "$T/out" || grep -q 'ConnectionResetError\|BrokenPipe' "$T/err" ||
    fail "a process of another user namespace got an answer" "$(cat "$T/out" "$T/err")"
  sb ps
  grep -Eq '^itest-c2 .* running ' "$T/out" || fail "the request of another user namespace was carried out"
  # A malformed request gets a protocol error, not a crash of the supervisor.
  /usr/bin/python3 - "$sock" >"$T/out" 2>"$T/err" <<'PY'
import socket, sys
for payload in (b'{"version":1,"type":"kill","signal":0}', b'{"version":99,"type":"wait"}', b'\xff\x00garbage'):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    s.send(payload)
    s.settimeout(5)
    print(s.recv(65536).decode())
PY
  [ "$(grep -c '"type":"error"' "$T/out")" = 3 ] || fail "malformed requests were not refused with an error" "$(cat "$T/out" "$T/err")"
  grep -q 'protocol version 99' "$T/out" || fail "another version is not named" "$(cat "$T/out")"
  sb ps
  grep -Eq '^itest-c2 .* running ' "$T/out" || fail "the supervisor did not survive malformed requests"
}

# A supervisor killed with SIGKILL takes its sandbox with it; what is left says so and is cleaned.
t_supervisor_killed() {
  local p spid
  p=$(mkprofile p default)
  detached itest-gone "$p" /bin/sleep 60
  spid=$(awk -F= '$1 == "pid" { print $2 }' "$(sandbox_dir itest-gone)/record")
  kill -KILL "$spid"
  for _ in $(seq 50); do [ -z "$(other_pidns_procs)" ] && break; sleep 0.1; done
  [ -z "$(other_pidns_procs)" ] || fail "the sandbox outlived its supervisor: $(other_pidns_procs)"
  sb exec itest-gone /bin/true
  expect_rc 125
  grep -q 'supervisor of sandbox itest-gone is gone' "$T/err" || fail "exec does not say the supervisor is gone" "$(cat "$T/err")"
  sb attach itest-gone
  expect_rc 125
  grep -q 'supervisor of sandbox itest-gone is gone' "$T/err" || fail "attach does not say the supervisor is gone" "$(cat "$T/err")"
  sb stop itest-gone
  expect_rc 0 "stopping a sandbox whose supervisor is gone (nothing of it runs)"
  grep -q 'was killed; nothing of the sandbox runs' "$T/err" || fail "stop does not say why there was nothing to stop" "$(cat "$T/err")"
  sb ps --all
  grep -Eq '^itest-gone .* gone ' "$T/out" || fail "ps --all does not show it gone" "$(cat "$T/out")"
  sb rm itest-gone
  expect_rc 0
  [ ! -e "$(sandbox_dir itest-gone)" ] || fail "rm left the directory"
}

t_exec_refused_in_learn_mode() {
  local p
  p=$(mkprofile p default)
  at_exit "'$SANDBOX' stop -t 0 itest-learn >/dev/null 2>&1; '$SANDBOX' rm itest-learn >/dev/null 2>&1"
  sb run -d --learn --name itest-learn "$p" -- /bin/sleep 60
  expect_rc 0
  sb exec itest-learn /bin/true
  expect_rc 125
  grep -q 'learn mode' "$T/err" || fail "no clear refusal" "$(cat "$T/err")"
}

# 50 detached sandboxes started and stopped leave nothing behind (the runner checks processes,
# mounts and /tmp after every file; the state directory here).
t_fifty_detached() {
  local p i
  p=$(mkprofile p default)
  for i in $(seq 50); do
    at_exit "'$SANDBOX' stop -t 0 itest-m$i >/dev/null 2>&1; '$SANDBOX' rm itest-m$i >/dev/null 2>&1"
    "$SANDBOX" run -d --name "itest-m$i" "$p" -- /bin/sleep 600 </dev/null >/dev/null 2>"$T/err" || fail "start $i failed" "$(cat "$T/err")"
  done
  sb ps
  [ "$(grep -c '^itest-m' "$T/out")" = 50 ] || fail "ps does not list 50 running sandboxes" "$(cat "$T/out")"
  for i in $(seq 50); do "$SANDBOX" stop -t 5 "itest-m$i" >/dev/null 2>&1 & done
  wait
  for i in $(seq 50); do
    "$SANDBOX" rm "itest-m$i" >/dev/null 2>"$T/err" || fail "rm itest-m$i failed" "$(cat "$T/err")"
  done
  [ -z "$(ls -A "$XDG_RUNTIME_DIR/sandbox")" ] || fail "left in the state directory: $(ls -A "$XDG_RUNTIME_DIR/sandbox" | head)"
  [ -z "$(other_pidns_procs)" ] || fail "processes left: $(other_pidns_procs)"
}

# inspect: the plan the supervisor applied and the live state, as text and JSON.
t_inspect() {
  local p
  p=$(mkprofile p default 'hostname = "inspected"')
  detached itest-i "$p" /bin/sleep 60
  sb inspect itest-i
  expect_rc 0
  grep -Eq '^status: +running$' "$T/out" || fail "no status line" "$(cat "$T/out")"
  grep -Eq "^supervisor_pid: +$(awk -F= '$1 == "pid" { print $2 }' "$(sandbox_dir itest-i)/record")\$" "$T/out" ||
    fail "the supervisor's pid is not the record's" "$(cat "$T/out")"
  grep -Eq '^hostname: +inspected$' "$T/out" || fail "the plan is not shown" "$(cat "$T/out")"
  sb inspect --json itest-i
  expect_rc 0
  /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["state"]["status"] == "running", d["state"]
assert d["state"]["init_pid"] > 0 and d["state"]["log"].endswith("/itest-i/log"), d["state"]
p = d["plan"]
assert p["name"] == "itest-i" and p["process"]["argv"] == ["/bin/sleep", "60"], p["process"]
assert p["namespaces"]["hostname"] == "inspected", p["namespaces"]
assert any(m["target"] == "/usr" and m["read_only"] for m in p["mounts"]), p["mounts"]
assert p["process"]["no_new_privs"] is True and p["process"]["capabilities"] == []
' <"$T/out" || fail "inspect --json does not describe the sandbox" "$(head -c 2000 "$T/out")"
  sb stop -t 0 itest-i
  sb inspect itest-i
  expect_rc 125 "inspect of an exited sandbox"
}

# Regression: the command's working directory is resolved in a tree the payload controls, never
# through a magic link (/proc/self/fd/N) it planted there: it would make the command's cwd one of
# the fds the helper held (its cgroup, the caller's stdio) and hand it to the payload.
t_exec_workdir_not_through_magic_links() {
  local p
  p=$(mkprofile p default)
  mkdir -p "$T/hostdir"
  echo secret >"$T/hostdir/file"
  detached itest-w "$p" /bin/sh -c 'ln -s /proc/self/fd/0 /tmp/w; ln -s /usr /tmp/plain; echo ready; exec sleep 60'
  for _ in $(seq 50); do "$SANDBOX" logs itest-w 2>/dev/null | grep -q ready && break; sleep 0.1; done
  LAST_CMD="sandbox exec -w /tmp/w itest-w ls <hostdir"
  RC=0
  "$SANDBOX" exec -w /tmp/w itest-w /bin/ls <"$T/hostdir" >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 125 "a -w through /proc/self/fd"
  grep -q '^sandbox: cwd: ' "$T/err" || fail "no cwd error" "$(cat "$T/err")"
  grep -q file "$T/out" && fail "the command ran in the caller's directory"
  sb exec -w /tmp/plain itest-w /bin/pwd
  expect_rc 0 "an ordinary symlink still works"
  [ "$(cat "$T/out")" = /tmp/plain ] || [ "$(cat "$T/out")" = /usr ] || fail "pwd printed $(cat "$T/out")"
}

# Regression: the pty of `sandbox exec` comes from a devpts of its own: the payload (the same uid
# in root mode) cannot find it in the sandbox's /dev/pts, let alone read what the user types.
t_exec_pty_not_in_the_sandbox_devpts() {
  local p pid
  p=$(mkprofile p default)
  detached itest-pts "$p" /bin/sleep 60
  start_bg "$SANDBOX" exec -t itest-pts /bin/sh -c 'echo started; sleep 30' </dev/null >"$T/bg.out" 2>"$T/bg.err"
  pid=$BG
  wait_for_line "$T/bg.out" 'started' 10 || fail "exec -t did not start" "$(cat "$T/bg.err")"
  sb exec itest-pts /bin/ls /dev/pts
  expect_rc 0
  grep -q '^[0-9]' "$T/out" && fail "the exec's pty is in the sandbox's /dev/pts: $(tr '\n' ' ' <"$T/out")"
  kill -TERM "$pid"
}

# Regression: run --detach keeps no fd of its caller's but stdio (and those it was asked to
# write to): a pipe on fd 3 closes when the caller exits, whatever the sandbox does.
t_detach_keeps_no_inherited_fd() {
  local p start
  p=$(mkprofile p default)
  at_exit "'$SANDBOX' stop -t 0 itest-fd >/dev/null 2>&1; '$SANDBOX' rm itest-fd >/dev/null 2>&1"
  start=$(now_ms)
  LAST_CMD="(sandbox run -d ... 3>&1) | cat"
  timeout 20 bash -c '"$1" run -d --name itest-fd "$2" -- /bin/sleep 60 3>&1 </dev/null 2>/dev/null | cat >/dev/null' _ "$SANDBOX" "$p" ||
    fail "the pipeline failed"
  [ $(($(now_ms) - start)) -lt 5000 ] || fail "a pipe on fd 3 stayed open for $(($(now_ms) - start)) ms: the detached supervisor held it"
}

# Regression: a caller that goes away hangs its command up (SIGHUP): nothing is left running.
t_exec_hung_up_when_the_caller_dies() {
  local p pid inner
  p=$(mkprofile p default)
  detached itest-hup "$p" /bin/sleep 60
  # A command with a child of its own in the background: the hangup reaches both.
  start_bg "$SANDBOX" exec itest-hup /bin/sh -c 'sleep 60 & echo $! >/tmp/bg; echo $$ >/tmp/pid; echo started; wait' </dev/null >"$T/bg.out" 2>"$T/bg.err"
  pid=$BG
  wait_for_line "$T/bg.out" 'started' 10 || fail "exec did not start" "$(cat "$T/bg.err")"
  sb exec itest-hup /bin/cat /tmp/pid /tmp/bg
  inner=$(tr '\n' ' ' <"$T/out")
  kill -KILL "$pid"
  local check="for p in $inner; do [ -d /proc/\$p ] && echo alive-\$p; done; true"
  for _ in $(seq 50); do
    [ -z "$("$SANDBOX" exec itest-hup /bin/sh -c "$check" </dev/null 2>/dev/null)" ] && break
    sleep 0.1
  done
  sb exec itest-hup /bin/sh -c "$check"
  [ -z "$(cat "$T/out")" ] || fail "processes of a killed exec client run on: $(cat "$T/out") (of $inner)"
}

# Regression: the log is rotated without ever going missing for a reader.
t_logs_during_rotation() {
  local p i failed=0
  p=$(mkprofile p default)
  detached itest-rot "$p" /bin/sh -c 'while :; do echo 0123456789012345678901234567890123456789012345678901234567890123456789; done'
  for i in $(seq 40); do
    "$SANDBOX" logs --tail 1 itest-rot </dev/null >/dev/null 2>"$T/err" || { failed=$((failed + 1)); cp "$T/err" "$T/last.err"; }
  done
  [ "$failed" = 0 ] || fail "$failed of 40 reads of a rotating log failed" "$(cat "$T/last.err")"
  [ "$(stat -c %s "$(sandbox_dir itest-rot)/log")" -le $((1024 * 1024 + 65536)) ] || fail "the log grew past its cap"
  [ -e "$(sandbox_dir itest-rot)/log.1" ] || fail "the log was never rotated"
}

# Regression: a command exec'd without a terminal gets a session of its own: it never has the
# terminal of a foreground run (its supervisor's) as its controlling terminal (/dev/tty, TIOCSTI).
t_exec_without_terminal_has_no_controlling_terminal() {
  local p pid
  command -v script >/dev/null || skip "script (bsdutils) is not installed"
  p=$(mkprofile p default)
  # script gives the foreground run a pty of its own as its controlling terminal.
  start_bg script -qfec "$(quote "$SANDBOX" run --name itest-ctty "$p" -- /bin/sh -c 'echo ready; sleep 60')" /dev/null \
    </dev/null >"$T/bg.out" 2>"$T/bg.err"
  pid=$BG
  wait_for_line "$T/bg.out" 'ready' 10 || fail "the foreground run did not start" "$(cat "$T/bg.out" "$T/bg.err")"
  sb exec itest-ctty /bin/sh -c 'if (exec 3<>/dev/tty) 2>/dev/null; then echo opened; else echo refused; fi'
  expect_rc 0
  grep -qx refused "$T/out" || fail "an exec'd command without a terminal could open /dev/tty" "$(cat "$T/out" "$T/err")"
  "$SANDBOX" stop -t 0 itest-ctty >/dev/null 2>&1
  wait_exit "$pid" 10
}

# Regression: inspect of a plan with bytes that are not UTF-8 (an environment value) answers,
# and the sandbox lives on.
t_inspect_not_utf8() {
  local p
  p=$(mkprofile p default)
  at_exit "'$SANDBOX' stop -t 0 itest-u8 >/dev/null 2>&1; '$SANDBOX' rm itest-u8 >/dev/null 2>&1"
  sb run -d --name itest-u8 -e "X=$(printf '\xff\xfe')" "$p" -- /bin/sleep 60
  expect_rc 0
  sb inspect --json itest-u8
  expect_rc 0 "inspect --json of a plan that is not all UTF-8"
  sb inspect itest-u8
  expect_rc 0 "inspect of a plan that is not all UTF-8"
  sb ps --json
  expect_rc 0
  sb ps
  grep -Eq '^itest-u8 .* running ' "$T/out" || fail "the sandbox did not survive inspect"
  sb exec itest-u8 /bin/sh -c 'printf %s "$X" | od -An -tx1'
  [ "$(tr -d ' ' <"$T/out")" = fffe ] || fail "the payload's environment is not byte for byte: $(cat "$T/out")"
  sb exec -e "Y=$(printf 'caf\xe9')" itest-u8 /bin/sh -c 'printf %s "$Y" | od -An -tx1'
  [ "$(tr -d ' ' <"$T/out")" = 636166e9 ] || fail "exec -e is not byte for byte: $(cat "$T/out")"
}

# Regression: an exec the supervisor cannot serve (no process left to start its helper) is that
# client's error; the sandbox runs on.
t_exec_failure_does_not_end_the_sandbox() {
  local p spid
  command -v prlimit >/dev/null || skip "prlimit is not installed"
  p=$(mkprofile p default)
  detached itest-np "$p" /bin/sleep 60
  spid=$(awk -F= '$1 == "pid" { print $2 }' "$(sandbox_dir itest-np)/record")
  prlimit --pid "$spid" --nproc=1:1 || fail "prlimit failed"
  sb exec itest-np /bin/true
  expect_rc 125 "exec when the supervisor cannot fork"
  grep -q 'Resource temporarily unavailable' "$T/err" || fail "no clear error" "$(cat "$T/err")"
  sb ps
  grep -Eq '^itest-np .* running ' "$T/out" || fail "a failed exec ended the sandbox"
}

# Regression: a client too slow to read the output still gets the exit code.
t_attach_slow_client_gets_the_exit_code() {
  local p rc
  p=$(mkprofile p default)
  at_exit "'$SANDBOX' stop -t 0 itest-slow >/dev/null 2>&1"
  sb run -d --rm --name itest-slow "$p" -- /bin/sh -c 'sleep 1; head -c 3000000 /dev/zero; exit 3'
  expect_rc 0
  LAST_CMD="sandbox attach --no-stdin itest-slow | (sleep 3; wc -c)"
  "$SANDBOX" attach --no-stdin itest-slow </dev/null 2>"$T/err" | { sleep 3; wc -c >/dev/null; }
  rc=${PIPESTATUS[0]}
  [ "$rc" = 3 ] || fail "attach returned $rc, expected the sandbox's 3" "$(cat "$T/err")"
}
