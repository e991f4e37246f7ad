# Exit status and standard streams.

t_exit_code_passed_through() {
  local p n
  p=$(mkprofile p default)
  for n in 0 1 42 255; do
    sb run "$p" -- /probe exit "$n"
    expect_rc "$n" "exit code of 'probe exit $n'"
  done
}

t_exit_killed_by_signal() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /probe kill-self 15
  expect_rc 143 "exit code of a payload killed by SIGTERM"
  sb run "$p" -- /probe kill-self 9
  expect_rc 137 "exit code of a payload killed by SIGKILL"
}

t_exit_command_not_found() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /nonexistent-cmd
  expect_rc 127
  grep -q nonexistent-cmd "$T/err" || fail "stderr does not name the missing command 'nonexistent-cmd'"
  # a bare name is looked up in PATH
  sb run "$p" -- nonexistent-cmd-in-path
  expect_rc 127
  grep -q nonexistent-cmd-in-path "$T/err" || fail "stderr does not name the missing command 'nonexistent-cmd-in-path'"
}

t_exit_not_executable() {
  local p
  p=$(mkprofile p default '[[mount]]' 'type = "file"' 'target = "/not-executable"' \
    'contents = "#!/bin/sh\necho hi\n"')
  sb run "$p" -- /not-executable
  expect_rc 126 "exit code of a non-executable file (mode 0644)"
  sb run "$p" -- /usr
  expect_rc 126 "exit code of a directory as command"
  if [ -f /etc/hostname ] && [ ! -x /etc/hostname ]; then
    sb run "$p" -- /etc/hostname
    expect_rc 126 "exit code of /etc/hostname as command"
  fi
}

t_exit_invalid_command_line() {
  local p
  p=$(mkprofile p default)
  sb run "$T/no-such-profile.toml"
  expect_rc 125 "exit code for a missing profile file"
  sb run --no-such-option "$p"
  expect_rc 125 "exit code for an unknown option"
  sb run --user-mode bogus "$p"
  expect_rc 125 "exit code for --user-mode bogus"
  sb run --cwd relative/dir "$p"
  expect_rc 125 "exit code for a relative --cwd"
}

t_stdin_pipe() {
  local p got
  p=$(mkprofile p default)
  LAST_CMD="printf 'hello\\n' | sandbox run $p -- /bin/cat"
  RC=0
  printf 'hello\n' | "$SANDBOX" run "$p" -- /bin/cat >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0
  expect_file_eq "stdout of /bin/cat" hello "$T/out"
}

t_stdout_stderr_separate() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /bin/sh -c 'echo to-stdout; echo to-stderr >&2; exit 3'
  expect_rc 3
  expect_file_eq "stdout" to-stdout "$T/out"
  grep -qx to-stderr "$T/err" || fail "stderr has no line 'to-stderr'"
  if grep -q to-stdout "$T/err"; then fail "stdout text appeared on stderr"; fi
}

t_large_output() {
  local p size
  p=$(mkprofile p default)
  LAST_CMD="sandbox run $p -- /bin/sh -c 'head -c 4000000 /dev/zero' | wc -c"
  RC=0
  "$SANDBOX" run "$p" -- /bin/sh -c 'head -c 4000000 /dev/zero' </dev/null 2>"$T/err" |
    wc -c >"$T/size"
  RC=${PIPESTATUS[0]}
  expect_rc 0
  size=$(cat "$T/size")
  expect_eq "bytes read from the payload's stdout" 4000000 "$size"
}

# --json-status-fd (issue 10, as bubblewrap's): a JSON line when the command starts, naming the
# sandbox's pid 1 and the namespaces the payload is in, and one with the exit code at the end;
# also when the command cannot run or the set-up fails. A programs' interface: checked by parsing.
json_status() { # json_status KEY [LINE]: the value of KEY in LINE (1 = the first) of $T/status
  python3 -c 'import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(lines[int(sys.argv[3]) - 1].get(sys.argv[2], ""))' "$T/status" "$1" "${2:-1}"
}

t_json_status_fd() {
  command -v python3 >/dev/null || skip "python3 is needed to parse the JSON"
  local p ns inside
  p=$(mkprofile p default)
  sb run --json-status-fd 3 "$p" -- /bin/sh -c '/probe info; exit 3' 3>"$T/status"
  expect_rc 3
  [ "$(wc -l <"$T/status")" -eq 2 ] || fail "expected two JSON lines" "$(cat "$T/status")"
  [[ $(json_status child-pid) =~ ^[0-9]+$ ]] && [ "$(json_status child-pid)" -gt 1 ] ||
    fail "no child-pid" "$(cat "$T/status")"
  for ns in user mnt pid uts ipc net cgroup; do
    inside=$(ns_ino "$(val "ns.$ns")")
    [ "$(json_status "$ns-namespace")" = "$inside" ] ||
      fail "$ns-namespace: the status says $(json_status "$ns-namespace"), the payload is in $inside" "$(cat "$T/status")"
  done
  [ "$(json_status exit-code 2)" = 3 ] || fail "exit-code: expected 3" "$(cat "$T/status")"
  # child-pid is the sandbox's pid 1 as the host numbers it: seen while it runs.
  start_bg "$SANDBOX" run --json-status-fd 3 "$p" -- /probe sleep 3 </dev/null >/dev/null 2>&1 3>"$T/status"
  wait_for_line "$T/status" '"child-pid"' 10 || fail "no start line while the sandbox runs"
  local child
  child=$(json_status child-pid)
  grep -Eq '^NSpid:[[:space:]]+'"$child"'[[:space:]]+1$' "/proc/$child/status" ||
    fail "child-pid $child is not the sandbox's pid 1" "$(grep NSpid "/proc/$child/status" 2>&1)"
  wait_exit "$BG" 15
  # On standard output (as bwrap's users often ask): the command's own output still goes there.
  sb run --json-status-fd 1 "$p" -- /bin/sh -c 'echo from-the-command'
  expect_rc 0
  grep -qx from-the-command "$T/out" || fail "the command's output was lost" "$(cat "$T/out" "$T/err")"
  grep -q '^{"exit-code":0}$' "$T/out" || fail "no exit line on standard output" "$(cat "$T/out")"
  # A command that cannot run: its exit code (127) ends the report too.
  sb run --json-status-fd 3 "$p" -- /nonexistent 3>"$T/status"
  expect_rc 127
  [ "$(json_status exit-code 2)" = 127 ] || fail "exit-code: expected 127" "$(cat "$T/status")"
  # Set-up failed before the payload (the kernel refuses the network namespace): only the exit
  # line, 125. A profile the plan refuses writes nothing: nothing was started.
  RC=0
  "$PROBE" no-netns errno "$SANDBOX" run --json-status-fd 3 "$p" </dev/null >"$T/out" 2>"$T/err" 3>"$T/status" || RC=$?
  [ "$(val no_netns "$T/out" 2>/dev/null)" != unsupported ] || skip "the probe has no such filter for this architecture"
  expect_rc 125 "a set-up that failed"
  [ "$(wc -l <"$T/status")" -eq 1 ] && [ "$(json_status exit-code)" = 125 ] ||
    fail "expected only the exit line, 125" "$(cat "$T/status")"
  # A reader that takes nothing (a full pipe) holds the supervisor up for a second per line at
  # most, not for ever: the line is dropped, with a warning (regression).
  local sink
  mkfifo "$T/full"
  start_bg sh -c 'exec sleep 60 <"$1"' _ "$T/full"  # opened in the child: the open waits for a writer
  sink=$BG
  exec 4>"$T/full"
  dd if=/dev/zero bs=65536 count=1 status=none >&4 || fail "could not fill the pipe"
  sb run --json-status-fd 4 "$p" -- /probe exit 0
  exec 4>&-
  kill "$sink" 2>/dev/null
  expect_rc 0 "a run whose status reader takes nothing"
  grep -q 'json-status-fd 4: nothing reads it; a status line was dropped' "$T/err" ||
    fail "no warning about the stalled reader" "$(cat "$T/err")"
  # Descriptors that cannot take it are refused before anything starts.
  sb run --json-status-fd 9 "$p"
  expect_rc 125
  grep -q 'json-status-fd 9: not an open file descriptor' "$T/err" || fail "a closed FD was not refused" "$(cat "$T/err")"
  sb run --json-status-fd 3 "$p" 3</dev/null
  expect_rc 125
  grep -q 'json-status-fd 3: open for reading only' "$T/err" || fail "a read-only FD was not refused" "$(cat "$T/err")"
}
