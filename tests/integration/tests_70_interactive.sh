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

# `sandbox exec` from a terminal: the command gets a pty of the sandbox's own, never the caller's,
# and job control, window size and Ctrl-C work as in a run.
t_interactive_exec_pty() {
  local p
  p=$(mkprofile p default)
  detached itest-pty "$p" /bin/sleep 60
  pty_run isatty "$T" exec itest-pty /probe isatty
  pty_run private-pty "$T" exec itest-pty /probe isatty
}

t_interactive_exec_shell_job_control() {
  local p
  p=$(mkprofile -n p shell)
  detached itest-sh "$p" /bin/sleep 60
  pty_run shell "$T" exec itest-sh /bin/bash
  pty_run shell "$T" enter itest-sh
}
