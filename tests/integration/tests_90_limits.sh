# Limits, names and state on this host. The host's cgroup v2 hierarchy is not delegated to the
# test user (and must never be touched), so here we check the honest refusal, best-effort,
# names, ps, stale records and the privacy of the state directory. Enforcement itself is
# tested in a qemu guest with a delegated subtree: tests/vm.

state_dir() { echo "${XDG_RUNTIME_DIR:?}/sandbox"; }

host_has_delegation() { "$SANDBOX" doctor 2>/dev/null | grep -q '^  ok    delegated cgroup'; }

t_limits_enforced_here() {
  host_has_delegation ||
    skip "no delegated cgroup on this host: limits are enforced and tested in the qemu guest (tests/vm)"
  local p
  p=$(mkprofile p default)
  sb run --pids 5 "$p" -- /bin/sh -c 'cat /sys/fs/cgroup/pids.max'
  expect_rc 0
}

t_limits_strict_refuses_without_delegation() {
  host_has_delegation && skip "this host delegates a cgroup to $MYNAME: the refusal is tested in tests/vm"
  local p
  p=$(mkprofile p default '[limits]' 'memory = "64M"')
  sb run "$p"
  expect_rc 125 "a limit that cannot be enforced"
  grep -q "^sandbox: limits: $T/p.toml:[0-9]*:[0-9]*: cannot enforce memory.max 64M: " "$T/err" ||
    fail "no 'cannot enforce memory.max 64M' error at the profile's line: $(cat "$T/err")"
  grep -q 'enforce = "best-effort"' "$T/err" || fail "the hint does not name enforce = \"best-effort\""
  grep -q '^uid=' "$T/out" && fail "the payload ran although its limit cannot be enforced"
  [ -z "$(ls -A "$(state_dir)" 2>/dev/null)" ] || fail "a state record was left behind: $(ls -A "$(state_dir)")"
  sb run --cpus 1 --pids 10 default -- /bin/true
  expect_rc 125 "--cpus on the command line"
  grep -q 'cannot enforce cpu.max 1 CPUs' "$T/err" || fail "no 'cannot enforce cpu.max 1 CPUs' error"
  grep -q 'and 1 more limit' "$T/err" || fail "the error does not say that one more limit is missing"
}

t_limits_best_effort_warns_and_runs() {
  host_has_delegation && skip "this host delegates a cgroup to $MYNAME: best-effort is tested in tests/vm"
  local p
  p=$(mkprofile p default '[limits]' 'memory = "64M"' 'pids = 20' 'enforce = "best-effort"')
  sb run "$p"
  expect_rc 0
  expect_kv uid 0
  [ "$(grep -c "^sandbox: warning: $T/p.toml:[0-9]*:[0-9]*: cannot enforce" "$T/err")" = 2 ] ||
    fail "expected one warning per missing limit (2)"
  grep -q 'memory.max 64M' "$T/err" || fail "the warning does not name memory.max 64M"
  grep -q 'pids.max 20' "$T/err" || fail "the warning does not name pids.max 20"
}

t_limits_bad_values() {
  local p
  sb run --memory lots default -- /bin/true
  expect_rc 125
  grep -q -- '--memory lots: expected a size' "$T/err" || fail "no clear error for --memory lots"
  sb run --cpus 0 default -- /bin/true
  expect_rc 125
  grep -q -- '--cpus 0:' "$T/err" || fail "no clear error for --cpus 0"
  sb run --name 'bad/name' default -- /bin/true
  expect_rc 125
  grep -q -- '--name bad/name:' "$T/err" || fail "no clear error for --name bad/name"
  p=$(mkprofile p default '[limits]' 'cpus = "two"')
  sb run "$p"
  expect_rc 125
  grep -q "^$p:4:8: 'cpus' must be a number of CPUs" "$T/err" || fail "no file:line:col error for cpus = \"two\""
  p=$(mkprofile q default '[limits]' 'memroy = "1G"')
  sb check "$p"
  expect_rc 125
  grep -q "^$p:4:1: unknown key 'memroy' in \[limits\]" "$T/err" || fail "no file:line:col error for a misspelt key"
}

t_names_ps_and_duplicates() {
  local p pid json
  p=$(mkprofile p default)
  sb_bg "$T/bg.out" "$T/bg.err" run --name itest-ps "$p" -- /bin/sh -c 'echo ready; exec sleep 60'
  pid=$BG
  wait_for_line "$T/bg.out" '^ready$' 10 || fail "the sandbox did not start: $(cat "$T/bg.err")"
  sb ps
  expect_rc 0
  grep -Eq "^itest-ps +$pid +[0-9]+s ago +running +/bin/sh -c .* +$p\$" "$T/out" || fail "sandbox ps does not list itest-ps (pid $pid, running, its command, $p)"
  sb ps --json
  json=$(cat "$T/out")
  /usr/bin/python3 -c '
import json, sys
entries = json.loads(sys.argv[1])
e = [x for x in entries if x["name"] == "itest-ps"]
assert len(e) == 1, entries
e = e[0]
assert e["pid"] == int(sys.argv[2]), e
assert e["init_pid"] > 0 and e["state"] == "running" and e["profile"] == sys.argv[3], e
assert isinstance(e["uptime_seconds"], int), e
' "$json" "$pid" "$p" 2>"$T/py.err" || fail "sandbox ps --json is wrong: $(tail -n 1 "$T/py.err")" "$json"
  sb run --name itest-ps "$p" -- /bin/true
  expect_rc 125 "a second sandbox with a running one's name"
  grep -q "a sandbox named itest-ps is already running (supervisor pid $pid)" "$T/err" ||
    fail "no 'already running' error naming the supervisor"
  sb stats itest-ps
  if host_has_delegation; then expect_rc 0; else
    expect_rc 125 "stats of a sandbox without a cgroup"
    grep -q 'has no cgroup of its own' "$T/err" || fail "stats does not say the sandbox has no cgroup"
  fi
  sb pause no-such-sandbox
  expect_rc 125
  grep -q 'no running sandbox named no-such-sandbox' "$T/err" || fail "pause of an unknown name is not a clear error"
  kill -TERM "$pid"
  wait_exit "$pid" 10 || fail "the sandbox did not end on SIGTERM"
  sb ps
  grep -q '^itest-ps ' "$T/out" && fail "sandbox ps still lists itest-ps after it ended"
  [ ! -e "$(state_dir)/itest-ps" ] || fail "the record of itest-ps was not removed"
}

t_generated_name_from_profile() {
  local p pid
  p=$(mkprofile webapp default)
  sb_bg "$T/bg.out" "$T/bg.err" run "$p" -- /bin/sh -c 'echo ready; exec sleep 60'
  pid=$BG
  wait_for_line "$T/bg.out" '^ready$' 10 || fail "the sandbox did not start: $(cat "$T/bg.err")"
  sb ps
  grep -Eq "^webapp-[0-9a-f]{6} +$pid " "$T/out" || fail "no generated name webapp-XXXXXX for pid $pid"
}

t_stale_record_is_cleaned() {
  local p pid
  p=$(mkprofile p default)
  sb_bg "$T/bg.out" "$T/bg.err" run --name itest-stale "$p" -- /bin/sh -c 'echo ready; exec sleep 60'
  pid=$BG
  wait_for_line "$T/bg.out" '^ready$' 10 || fail "the sandbox did not start: $(cat "$T/bg.err")"
  kill -KILL "$pid"
  wait_exit "$pid" 10 || fail "the supervisor did not die on SIGKILL"
  [ -e "$(state_dir)/itest-stale" ] || fail "expected the dead supervisor's record to be still there"
  sb ps
  grep -q '^itest-stale ' "$T/out" && fail "sandbox ps lists a sandbox whose supervisor is dead"
  sb run "$p" -- /bin/true
  expect_rc 0
  [ ! -e "$(state_dir)/itest-stale" ] || fail "the stale record was not removed at the next start"
  sb run --name itest-stale "$p" -- /bin/true
  expect_rc 0 "the name of a dead sandbox is free again"
}

t_state_dir_read_only_inside() {
  local p
  mkdir -p -m 0700 "$(state_dir)"
  p=$(mkprofile -n p default 'command = ["/bin/sh", "-c", "echo seen=$(ls -A /xdg/sandbox | wc -l); touch /xdg/sandbox/forged; echo rc=$?; touch /xdg/other; echo other=$?"]' \
    '[[mount]]' 'type = "bind"' "source = \"$XDG_RUNTIME_DIR\"" 'target = "/xdg"' 'allow_sensitive = true')
  sb run "$p"
  expect_rc 0
  expect_kv other 0 # the rest of the runtime dir stays writable, as the profile asks
  expect_kv_not rc 0
  # Not even visible (its own record is there outside): nothing inside can read or lock them.
  expect_kv seen 0
  [ ! -e "$(state_dir)/forged" ] || fail "the sandbox wrote into the state directory"
  rm -f "$XDG_RUNTIME_DIR/other"
}

# The cover is decided on the opened bind source and the opened state directory (issue 8 A.4):
# a read-only bind of a directory two levels above it hides it at the right place too.
t_state_dir_hidden_below_an_ancestor_bind() {
  local p parent
  mkdir -p -m 0700 "$(state_dir)"
  parent=$(dirname "$XDG_RUNTIME_DIR")
  p=$(mkprofile -n p default "command = [\"/bin/sh\", \"-c\", \"echo seen=\$(ls -A /up/$(basename "$XDG_RUNTIME_DIR")/sandbox | wc -l)\"]" \
    '[[mount]]' 'type = "ro-bind"' "source = \"$parent\"" 'target = "/up"')
  sb run "$p"
  expect_rc 0
  expect_kv seen 0
}

t_doctor_reports() {
  sb doctor
  expect_rc 0
  for what in 'user namespaces' 'delegated cgroup' memory pids cpu io cpuset 'state directory'; do
    grep -q "^  \(ok\|no\)    $what " "$T/out" || fail "doctor says nothing about '$what'"
  done
  host_has_delegation || grep -A1 '^  no    delegated cgroup' "$T/out" | grep -q 'fix: ' ||
    fail "doctor does not name the fix for the missing delegation"
}

t_state_without_runtime_dir() {
  local dir=/run/user/$MYUID
  [ -d "$dir" ] && [ "$(stat -c %u "$dir")" = "$MYUID" ] && skip "$dir exists: it is the fallback runtime directory"
  local existed=0
  [ -e "/tmp/sandbox-$MYUID" ] && existed=1
  LAST_CMD="env -u XDG_RUNTIME_DIR sandbox run --name unrecorded default -- /bin/true"
  RC=0
  env -u XDG_RUNTIME_DIR "$SANDBOX" run --name unrecorded default -- /bin/true </dev/null >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0 "a run without a runtime directory"
  grep -q '^sandbox: warning: no runtime directory (XDG_RUNTIME_DIR is unset' "$T/err" || fail "no warning that the sandbox is not recorded"
  [ "$existed" = 1 ] || [ ! -e "/tmp/sandbox-$MYUID" ] || fail "a shared /tmp/sandbox-$MYUID directory was used"
  # A run that asks for nothing a record serves says nothing into the payload's stderr.
  RC=0
  env -u XDG_RUNTIME_DIR "$SANDBOX" run default -- /bin/true </dev/null >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0 "an unnamed run without a runtime directory"
  [ ! -s "$T/err" ] || fail "an unnamed run without limits printed: $(cat "$T/err")"
}

# Records are trusted only as far as they are checked: a record of ours must point at the very
# cgroup its sandbox made, links are not records.
t_state_forged_records_not_trusted() {
  local dir start
  dir=$(state_dir)
  mkdir -p -m 0700 "$dir"
  mkdir -p "$T/fake/sandbox-forged" "$T/fake/linked-dir"
  start=$(sed 's/^.*) //' /proc/1/stat | cut -d' ' -f20) # pid 1 is alive: the record looks live
  mkdir -m 0700 "$dir/forged"
  printf 'name=forged\npid=1\npid_start=%s\ninit_pid=1\nprofile=/x.toml\ncgroup=%s\ncgroup_inode=%s\ncreated=1\n' \
    "$start" "$T/fake/sandbox-forged" "$(stat -c %i "$T/fake/sandbox-forged")" >"$dir/forged/record"
  ln -s /etc/passwd "$dir/linked"
  # A link to a directory holding a record is no sandbox's directory either.
  cp "$dir/forged/record" "$T/fake/linked-dir/record"
  sed -i 's/^name=forged$/name=linkeddir/' "$T/fake/linked-dir/record"
  ln -s "$T/fake/linked-dir" "$dir/linkeddir"
  at_exit "rm -rf '$dir/forged' '$dir/linked' '$dir/linkeddir'"
  sb pause forged
  expect_rc 125 "pausing a record whose cgroup is not a cgroup"
  grep -q 'does not point at the cgroup its sandbox made' "$T/err" || fail "pause does not refuse the forged cgroup"
  [ ! -e "$T/fake/sandbox-forged/cgroup.freeze" ] || fail "pause wrote into a directory that is not a cgroup"
  sb ps
  expect_rc 0
  grep -q '^linked ' "$T/out" && fail "ps read a symbolic link as a record"
  grep -q '^linkeddir ' "$T/out" && fail "ps read a record through a symbolic link to a directory"
  sb run default -- /bin/true
  expect_rc 0
  [ -d "$T/fake/sandbox-forged" ] || fail "a start removed a directory a record pointed at"
  [ -L "$dir/linked" ] || fail "a start removed a file that is not a record of ours"
  [ -f "$T/fake/linked-dir/record" ] || fail "a start removed a file through a link in the state directory"
}
