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
