# [rlimits] and --timeout, seen from inside.

t_rlimits_applied_inside() {
  local p
  p=$(mkprofile p default '[rlimits]' 'nofile = "64:128"' 'fsize = "1M"')
  sb run "$p" -- /bin/sh -c 'echo nofile=$(ulimit -Sn):$(ulimit -Hn); echo core=$(ulimit -c); echo fsize=$(ulimit -f)
    head -c 2000000 /dev/zero >/tmp/big 2>/dev/null; echo size=$(stat -c %s /tmp/big)'
  expect_rc 0
  expect_kv nofile 64:128
  expect_kv core 0
  expect_kv fsize 2048   # 1 MiB in the shell's 512-byte blocks
  expect_kv size 1048576
  # The command line overrides the profile.
  sb run --rlimit nofile=32 --rlimit core=unlimited "$p" -- /bin/sh -c 'echo nofile=$(ulimit -Sn):$(ulimit -Hn); echo core=$(ulimit -c)'
  expect_rc 0
  expect_kv nofile 32:32
  # core = unlimited only if the session allows it
  [ "$(ulimit -Hc)" = unlimited ] && expect_kv core unlimited
  true
}

t_rlimits_above_hard_limit_refused() {
  local p hard
  hard=$(ulimit -Hn)
  [ "$hard" = unlimited ] && skip "this session's nofile hard limit is unlimited"
  p=$(mkprofile p default '[rlimits]' "nofile = $((hard + 1))")
  sb run "$p" -- /bin/true
  expect_rc 125
  expect_match "above-hard error" "nofile = $((hard + 1)) is above the hard limit of this session \\($hard\\)" "$(cat "$T/err")"
  sb run --rlimit nofile=lots "$PROFILES/default.toml" -- /bin/true
  expect_rc 125
  expect_match "bad --rlimit" "--rlimit nofile=lots: expected a number" "$(cat "$T/err")"
  p=$(mkprofile q default '[rlimits]' 'nofile = "9:8"')
  sb run "$p"
  expect_rc 125
  expect_match "soft above hard" "q\\.toml:[0-9]+:[0-9]+: 'nofile' must be" "$(cat "$T/err")"
}

t_timeout_terminates_with_124() {
  local p start end
  p=$(mkprofile p default)
  start=$(now_ms)
  sb run --timeout 1s "$p" -- /bin/sleep 30
  end=$(now_ms)
  expect_rc 124
  expect_match "timeout message" "timeout: the command ran longer than 1s" "$(cat "$T/err")"
  [ $((end - start)) -lt 20000 ] || fail "the timeout did not stop the sandbox (took $((end - start)) ms)"
  # A payload that ignores TERM is killed after the grace period.
  sb run --timeout 1s "$p" -- /bin/sh -c 'trap "" TERM; /bin/sleep 30 & wait; /bin/sleep 30'
  expect_rc 124
  expect_match "kill after grace" "sent TERM, then KILL after 5s" "$(cat "$T/err")"
  # From the profile; a payload that ends in time keeps its own exit code.
  p=$(mkprofile q default 'timeout = "20s"')
  sb run "$p" -- /bin/sh -c 'exit 3'
  expect_rc 3
  p=$(mkprofile r default 'timeout = "soon"')
  sb run "$p"
  expect_rc 125
  expect_match "bad timeout" "r\\.toml:[0-9]+:[0-9]+: 'timeout' must be a duration" "$(cat "$T/err")"
}
