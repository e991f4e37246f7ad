# Interactive use on a terminal, driven through a new pseudo-terminal by pty_session.py.

# pty_run SCENARIO DIR ARGS...: run "sandbox ARGS" on a new pty from DIR; fail with its reason
pty_run() {
  local scenario=$1 dir=$2
  shift 2
  command -v python3 >/dev/null || fail "python3 is not installed (needed to drive a pty)"
  LAST_CMD="pty_session.py $scenario -- sandbox $(quote "$@")"
  RC=0
  (cd "$dir" && exec python3 "$IT_DIR/pty_session.py" "$scenario" -- "$SANDBOX" "$@") \
    </dev/null >"$T/out" 2>"$T/err" || RC=$?
  if [ "$RC" -ne 0 ]; then
    local first
    first=$(grep -m1 '^pty_session' "$T/err")
    LAST_CMD=
    fail "${first:-pty_session.py exited $RC}" "$(tail -n +2 "$T/err" | head -n 40)"
  fi
}

t_interactive_shell_job_control() {
  local p d
  d=$T/project
  mkdir -p "$d"
  p=$(mkprofile -n p shell) # keeps shell.toml's command: /bin/bash
  pty_run shell "$d" run "$p"
}

t_interactive_isatty() {
  local p
  p=$(mkprofile p default)
  pty_run isatty "$T" run "$p" -- /probe isatty
}

# The payload gets a pty of the sandbox's own even without a `dev` mount (a private devpts):
# the caller's terminal, outside the caller's session, would escape job control.
t_interactive_private_pty_without_dev() {
  local p
  p=$T/nodev.toml
  cat >"$p" <<TOML
command = ["/probe", "isatty"]
[[mount]]
type = "ro-bind"
source = "$PROBE"
target = "/probe"
TOML
  pty_run private-pty "$T" run "$p"
}

t_interactive_private_pty_with_dev() {
  local p
  p=$(mkprofile p default)
  pty_run private-pty "$T" run "$p" -- /probe isatty
}

# Only stdout a terminal (stdin /dev/null): Ctrl-C still reaches the payload.
t_interactive_ctrl_c_when_only_output_is_a_terminal() {
  local p
  p=$(mkprofile p default)
  pty_run interrupt "$T" run "$p" -- /probe sleep 30
}

# The terminal's answer to a query of the payload (here the cursor position), arriving after
# the sandbox stopped relaying, is discarded when the sandbox ends: it does not land in the
# shell after it. The payload lets go of its terminal (and ignores the hangup when the relay
# ends) and waits on a fifo until the answer was typed.
t_interactive_late_terminal_reply_discarded() {
  local p
  mkdir -p "$T/w"
  mkfifo "$T/w/fifo"
  p=$(mkprofile p default '' '[[mount]]' 'type = "bind"' "source = \"$T/w\"" 'target = "/w"')
  PTY_SESSION_FIFO=$T/w/fifo pty_run late-reply "$T" run "$p" -- /bin/sh -c \
    'trap "" HUP; printf "query:\033[6n\n"; exec </dev/null >/dev/null 2>&1; read x </w/fifo'
}

# `sandbox exec` from a terminal: the command gets a pty of its own (from a devpts instance the
# payload cannot see), never the caller's, and job control, window size and Ctrl-C work as in a run.
t_interactive_exec_pty() {
  local p
  p=$(mkprofile p default)
  detached itest-pty "$p" /bin/sleep 60
  pty_run private-pty "$T" exec itest-pty /probe isatty
}

t_interactive_exec_shell_job_control() {
  local p
  p=$(mkprofile -n p shell)
  detached itest-sh "$p" /bin/sleep 60
  pty_run shell "$T" exec itest-sh /bin/bash
  pty_run shell "$T" enter itest-sh
}

# run --detach --tty keeps a pty in the supervisor: attach types into it, sees its output (also
# what came before), passes the window size, leaves with Ctrl-P Ctrl-Q, and returns the exit code.
t_interactive_attach_detach_keys() {
  local p
  p=$(mkprofile -n p shell)
  at_exit "'$SANDBOX' stop -t 0 itest-att >/dev/null 2>&1; '$SANDBOX' rm itest-att >/dev/null 2>&1"
  sb run -d -t --name itest-att "$p" -- /bin/bash --norc -i
  expect_rc 0
  pty_run attach "$T" attach itest-att
  pty_run attach-term "$T" attach itest-att
  sb ps
  grep -Eq '^itest-att .* running ' "$T/out" || fail "the sandbox did not run on after the detach keys"
  pty_run attach-again "$T" attach itest-att
  sb wait itest-att
  expect_rc 5 "the shell's exit code, kept"
}

# Without --tty attach only watches: two clients see the same output, and attach ends with the
# sandbox, with its exit code.
t_attach_watch_two_clients() {
  local p a b
  p=$(mkprofile p default)
  detached itest-watch "$p" /bin/sh -c 'echo early; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo late; exit 4'
  start_bg "$SANDBOX" attach itest-watch </dev/null >"$T/a.out" 2>"$T/a.err"
  a=$BG
  start_bg "$SANDBOX" attach --no-stdin itest-watch </dev/null >"$T/b.out" 2>"$T/b.err"
  b=$BG
  wait_for_line "$T/a.out" '^early$' 10 || fail "the first client did not see the earlier output" "$(cat "$T/a.err")"
  wait_for_line "$T/b.out" '^early$' 10 || fail "the second client did not see the earlier output" "$(cat "$T/b.err")"
  sb exec itest-watch /bin/touch /tmp/go
  expect_rc 0
  wait_exit "$a" 10 || fail "attach did not end with the sandbox"
  [ "$RC" = 4 ] || fail "attach returned $RC, expected the sandbox's 4"
  wait_exit "$b" 10 || fail "the second attach did not end with the sandbox"
  [ "$RC" = 4 ] || fail "the second attach returned $RC, expected 4"
  grep -qx late "$T/a.out" && grep -qx late "$T/b.out" || fail "a client missed the later output"
  sb attach itest-watch
  expect_rc 125 "attach to an exited sandbox"
  grep -q 'has exited' "$T/err" || fail "no clear error" "$(cat "$T/err")"
}
