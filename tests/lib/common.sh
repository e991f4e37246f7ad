# Helpers shared by the integration tests (tests/integration) and the guest tests (tests/vm),
# sourced by their lib.sh. One test per bash process:
# - fail REASON [DETAIL...] ends the test with a failure; skip REASON ends it with exit 77.
#   Call them at the top level of the test function, not inside $(...) or a pipeline.
# - sb ARGS... runs the sandbox: stdout -> $T/out, stderr -> $T/err, exit code -> $RC.
# - Background processes started with start_bg are killed by pid when the test ends.
# Needs: SANDBOX PROBE PROFILES T REASON.

MYUID=$(id -u)
MYGID=$(id -g)
MYNAME=$(id -un)
RC=
LAST_CMD=
BG_PIDS=()
AT_EXIT=()

# ------------------------------------------------------------------ results
_last_run_context() {
  [ -n "$LAST_CMD" ] || return 0
  echo "command: $LAST_CMD"
  echo "exit code: $RC"
  if [ -s "$T/out" ]; then
    echo "stdout:"
    head -n 12 "$T/out" | cut -c1-200 | sed 's/^/  /'
  fi
  if [ -s "$T/err" ]; then
    echo "stderr:"
    head -n 8 "$T/err" | cut -c1-200 | sed 's/^/  /'
  fi
}

fail() {
  {
    printf '%s\n' "$1"
    shift
    local l
    for l in "$@"; do printf '%s\n' "$l"; done | sed 's/^/    /'
    _last_run_context | sed 's/^/    /'
  } >>"$REASON"
  exit 1
}

skip() {
  printf '%s\n' "$*" >"$REASON"
  exit 77
}

# ------------------------------------------------------------------ cleanup

start_bg() { # start_bg CMD...: start CMD in the background (redirect on the call); its pid is in $BG
  "$@" &
  BG=$!
  BG_PIDS+=("$BG")
}

at_exit() { AT_EXIT+=("$*"); } # at_exit SHELL-CODE: evaluated when the test ends

alive() { # alive PID: true while PID exists and is not a zombie
  local st
  [ -r "/proc/$1/stat" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

run_cleanup() {
  local rc=$? p i
  trap - EXIT TERM INT
  for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for ((i = 0; i < 20; i++)); do
    local any=0
    for p in "${BG_PIDS[@]}"; do alive "$p" && any=1; done
    [ "$any" -eq 0 ] && break
    sleep 0.1
  done
  for p in "${BG_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  for p in "${AT_EXIT[@]}"; do eval "$p"; done
  exit "$rc"
}

# ------------------------------------------------------------------ running the sandbox

quote() { printf '%q ' "$@" | sed 's/ $//'; }

sb() { # sb ARGS...: run the sandbox with stdin from /dev/null
  LAST_CMD="sandbox $(quote "$@")"
  RC=0
  "$SANDBOX" "$@" </dev/null >"$T/out" 2>"$T/err" || RC=$?
}

sb_in() { # sb_in DIR ARGS...: like sb, from directory DIR
  local dir=$1
  shift
  LAST_CMD="(cd $dir && sandbox $(quote "$@"))"
  RC=0
  (cd "$dir" && exec "$SANDBOX" "$@") </dev/null >"$T/out" 2>"$T/err" || RC=$?
}

# mkprofile [-n] NAME BASE [TOML LINE...]: write $T/NAME.toml and print its path.
# It extends BASE (a shipped profile name, or a path), runs "/probe info" (not with -n, which
# keeps the base's command), has the extra lines, and binds the probe at /probe.
# Extra lines come before the probe's [[mount]], so they may be top-level keys or tables.
mkprofile() {
  local with_cmd=1
  if [ "$1" = -n ]; then with_cmd=0; shift; fi
  local name=$1 base=$2
  shift 2
  case $base in */*) ;; *) base=$PROFILES/$base.toml ;; esac
  local f=$T/$name.toml
  {
    echo "extends = [\"$base\"]"
    [ "$with_cmd" -eq 1 ] && echo 'command = ["/probe", "info"]'
    local l
    for l in "$@"; do echo "$l"; done
    echo
    echo '[[mount]]'
    echo 'type = "ro-bind"'
    echo "source = \"$PROBE\""
    echo 'target = "/probe"'
  } >"$f"
  echo "$f"
}

# ------------------------------------------------------------------ assertions

val() { # val KEY [FILE]: value of the first KEY=... line; fails when there is none
  awk -v k="$1=" 'index($0, k) == 1 { print substr($0, length(k) + 1); found = 1; exit }
                  END { exit !found }' "${2:-$T/out}"
}

expect_rc() { # expect_rc N [WHAT]
  [ "$RC" = "$1" ] || fail "${2:-exit code}: expected $1, got $RC"
}

expect_kv() { # expect_kv KEY EXPECTED [FILE]
  local got
  got=$(val "$1" "${3:-$T/out}") || fail "$1: expected '$2', but there is no '$1=' line"
  [ "$got" = "$2" ] || fail "$1: expected '$2', got '$got'"
}

expect_kv_not() { # expect_kv_not KEY UNWANTED [FILE]: the key is present and differs
  local got
  got=$(val "$1" "${3:-$T/out}") || fail "$1: expected a value other than '$2', but there is no '$1=' line"
  [ "$got" != "$2" ] || fail "$1: expected anything but '$2', got '$got'"
}

expect_no_key() { # expect_no_key KEY [FILE]
  local got
  if got=$(val "$1" "${2:-$T/out}"); then
    fail "$1 should not be set, got '$1=$got'"
  fi
}

expect_eq() { # expect_eq WHAT EXPECTED GOT
  [ "$3" = "$2" ] || fail "$1: expected '$2', got '$3'"
}

expect_file_eq() { # expect_file_eq WHAT EXPECTED FILE
  local got
  got=$(cat "$3")
  [ "$got" = "$2" ] || fail "$1: expected '$2', got '$got'"
}

expect_match() { # expect_match WHAT EXTENDED-REGEX GOT
  [[ $3 =~ $2 ]] || fail "$1: expected to match /$2/, got '$3'"
}

# ------------------------------------------------------------------ time and processes

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

wait_for_line() { # wait_for_line FILE EXTENDED-REGEX SECONDS
  local deadline=$(($(now_ms) + $3 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    grep -qE -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  grep -qE -- "$2" "$1" 2>/dev/null
}

wait_exit() { # wait_exit PID SECONDS: wait for a background child to end; exit code in $RC
  local deadline=$(($(now_ms) + $2 * 1000))
  while alive "$1" && [ "$(now_ms)" -lt "$deadline" ]; do sleep 0.05; done
  if alive "$1"; then
    return 1
  fi
  RC=0
  wait "$1" || RC=$?
  return 0
}

descendants() { # descendants PID: every descendant pid, recursively
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}

# ------------------------------------------------------------------ users

subid_range() { # subid_range FILE: "START COUNT" of this user's first range, or nothing
  awk -F: -v n="$MYNAME" -v u="$MYUID" '($1 == n || $1 == u) && NF >= 3 { print $2, $3; exit }' \
    "$1" 2>/dev/null
}
