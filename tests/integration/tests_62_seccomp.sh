# seccomp, from inside: the probe tries every refused call (tests/probe/probe_seccomp.c) and a
# control run with [security] seccomp = false shows that the kernel alone would have answered
# differently, so each expectation is the filter's doing.

# Denials that this kernel answers differently without the filter (bad pointers give EFAULT,
# bad fds EBADF, and so on before any permission check): NAME=ERRNO-WITH-THE-FILTER.
SECCOMP_DENIALS=(
  unshare_user=EPERM clone_newuser=EPERM clone3=ENOSYS setns=EPERM
  mount=EPERM umount2=EPERM chroot=EPERM open_tree=ENOSYS fsopen=ENOSYS move_mount=ENOSYS
  keyctl=EPERM add_key=EPERM request_key=EPERM
  io_uring_setup=EPERM io_uring_enter=EPERM io_uring_register=EPERM
  perf_event_open=EPERM userfaultfd=EPERM bpf=EPERM
  name_to_handle_at=EPERM open_by_handle_at=EPERM
  ptrace=EPERM process_vm_readv=EPERM kcmp=EPERM modify_ldt=EPERM get_mempolicy=EPERM
  clock_settime=EPERM
  ioctl_tiocsti=EPERM ioctl_tiocsti_high_bits=EPERM ioctl_tioclinux=EPERM
  socket_packet=EAFNOSUPPORT socket_packet_high_bits=EAFNOSUPPORT socketpair_inet=EAFNOSUPPORT
  personality_no_randomize=EPERM personality_read_implies_exec=EPERM personality_top_bit=EPERM
)

seccomp_profiles() { # makes $T/on.toml and $T/off.toml running the syscall probe
  mkprofile -n on default 'command = ["/probe", "syscalls"]' >/dev/null
  mkprofile -n off default 'command = ["/probe", "syscalls"]' '[security]' 'seccomp = false' >/dev/null
}

run_probe_pair() { # the probe with the filter in $T/on.out, without in $T/off.out
  seccomp_profiles
  sb run "$T/off.toml"
  expect_rc 0 "the control run (seccomp off)"
  cp "$T/out" "$T/off.out"
  sb run "$T/on.toml"
  expect_rc 0 "the run with the filter"
  cp "$T/out" "$T/on.out"
}

t_seccomp_default_denials() {
  local entry name want control
  run_probe_pair
  for entry in "${SECCOMP_DENIALS[@]}"; do
    name=${entry%%=*}
    want=${entry#*=}
    expect_kv "$name" "$want" "$T/on.out"
    control=$(val "$name" "$T/off.out") || fail "the control run did not report $name"
    [ "$control" != "$want" ] ||
      fail "$name: the kernel alone also answers $want, so this check proves nothing about the filter"
  done
}

t_seccomp_allows_the_usual() {
  run_probe_pair
  local name
  for name in socket_unix socket_inet socket_inet6 socket_netlink socketpair_unix personality_query personality_linux32 \
    personality_linux; do
    expect_kv "$name" ok "$T/on.out"
  done
  # An ioctl the filter does not look at reaches the kernel (bad fd).
  expect_kv ioctl_fionread EBADF "$T/on.out"
}

t_seccomp_calls_newer_than_the_table() {
  run_probe_pair
  # listmount (458) is newer than the policy's syscall table: refused with ENOSYS (libc falls back).
  expect_kv listmount ENOSYS "$T/on.out"
  local control
  control=$(val listmount "$T/off.out")
  [ "$control" != ENOSYS ] || skip "this kernel has no listmount (Linux 6.8): nothing newer to refuse"
}

t_seccomp_x32_abi_filtered() {
  run_probe_pair
  sb run --dry-run "$T/on.toml"
  expect_rc 0 "--dry-run"
  if [ "$(val x32_getpid "$T/off.out")" = ENOSYS ]; then
    # This kernel runs no x32 calls: the filter answers every x32 number as the kernel does, in
    # one test instead of a copy of every rule, and --dry-run says so.
    expect_kv x32_getpid ENOSYS "$T/on.out"
    expect_kv x32_keyctl ENOSYS "$T/on.out"
    expect_kv x32_setns ENOSYS "$T/on.out"
    grep -q '^seccomp: enforce; architectures: x86_64 x86 (x32: every call ENOSYS' "$T/out" ||
      fail "--dry-run does not say x32 calls are refused whole" "$(grep '^seccomp:' "$T/out")"
  else
    # The filter reads x32 numbers before the kernel runs them.
    expect_kv x32_keyctl EPERM "$T/on.out"
    expect_kv x32_setns EPERM "$T/on.out"
    expect_kv_not x32_keyctl EPERM "$T/off.out"
    grep -q '^seccomp: enforce; architectures: x86_64 x86 x32;' "$T/out" ||
      fail "--dry-run does not list x32" "$(grep '^seccomp:' "$T/out")"
  fi
}

t_seccomp_runs_under_a_native_only_filter() {
  # systemd's SystemCallArchitectures=native kills a process that makes an x32 call: the x32
  # probe must not make one there (regression: every command died of SIGSYS, exit 159). Such a
  # filter needs no_new_privs, under which the setuid newuidmap cannot help: only the caller's id.
  local p
  p=$(mkprofile p default '[user]' 'subordinate_ids = false')
  LAST_CMD="sandbox-probe native-only sandbox run"
  RC=0
  "$PROBE" native-only "$SANDBOX" run "$p" -- /probe exit 0 </dev/null >"$T/out" 2>"$T/err" || RC=$?
  [ "$(val native_only "$T/out")" != unsupported ] || skip "the probe has no native-only filter for this architecture"
  expect_rc 0 "a run under a native-only filter"
  RC=0
  "$PROBE" native-only "$SANDBOX" run --dry-run "$p" </dev/null >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0 "--dry-run under a native-only filter"
  # Filtered already, it cannot ask: the filter then covers x32 in full.
  grep -q '^seccomp: enforce; architectures: x86_64 x86 x32;' "$T/out" ||
    fail "under a filter, x32 is not covered in full" "$(grep '^seccomp:' "$T/out")"
}

t_seccomp_i386_abi_filtered() {
  "$PROBE" syscalls >"$T/host.out" 2>/dev/null
  [ "$(val i386 "$T/host.out")" = available ] ||
    skip "this kernel does not run i386 system calls: int \$0x80 killed the control process outside the sandbox (no IA32 emulation)"
  run_probe_pair
  expect_kv i386 available "$T/on.out"
  local name
  for name in i386_keyctl=EPERM i386_setns=EPERM i386_ioctl_tiocsti=EPERM i386_socket_packet=EAFNOSUPPORT \
    i386_personality_no_randomize=EPERM i386_unshare_user=EPERM; do
    expect_kv "${name%%=*}" "${name#*=}" "$T/on.out"
    expect_kv_not "${name%%=*}" "${name#*=}" "$T/off.out"
  done
}

t_seccomp_pid1_and_children_filtered() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /bin/sh -c 'grep ^Seccomp: /proc/1/status; /bin/sh -c "grep ^Seccomp: /proc/self/status"'
  expect_rc 0
  [ "$(grep -c $'^Seccomp:\t2' "$T/out")" = 2 ] ||
    fail "pid 1 and a grandchild of the payload must both run in filter mode (Seccomp: 2)" "$(cat "$T/out")"
  p=$(mkprofile q default '[security]' 'seccomp = false')
  sb run "$p" -- /bin/sh -c 'grep ^Seccomp: /proc/self/status'
  expect_rc 0
  grep -q $'^Seccomp:\t0' "$T/out" || fail "with seccomp = false there is no filter" "$(cat "$T/out")"
}

t_seccomp_profile_allow_and_deny() {
  local p
  p=$(mkprofile -n p default 'command = ["/probe", "syscalls"]' '[seccomp]' 'allow = ["keyctl", "personality"]')
  sb run "$p"
  expect_rc 0
  expect_kv keyctl ok
  expect_kv personality_no_randomize ok
  expect_kv ptrace EPERM
  p=$(mkprofile q default '[seccomp]' 'deny = ["mkdir:EACCES", "mkdirat:EACCES"]')
  sb run "$p" -- /probe mkdir /tmp/x
  expect_rc 0
  expect_kv mkdir EACCES
}

t_seccomp_profile_denial_of_a_last_step_call() {
  # With the built-in policy pid 1 loads the filter before it forks the command, whose last steps
  # before exec then run under it. A profile's own denials may refuse one of those steps (chdir,
  # setresuid): then the command loads the filter itself, after them, and still gets it.
  local p
  p=$(mkprofile p default '[seccomp]' 'deny = ["chdir:EACCES", "setresuid:EACCES"]')
  # pid 1 loads its own copy once the command exec'd (it was suspended in vfork until then): the
  # command may look before that, so it waits up to 2 s for it.
  sb run "$p" -- /bin/sh -c 'i=0; while [ $i -lt 100 ] && ! grep -q "^Seccomp:.2" /proc/1/status; do sleep 0.02; i=$((i+1)); done
    grep ^Seccomp: /proc/1/status /proc/self/status; cd /tmp || echo cd-refused'
  expect_rc 0 "the start with chdir and setresuid denied"
  [ "$(grep -c $'Seccomp:\t2' "$T/out")" = 2 ] ||
    fail "pid 1 and the command must both run in filter mode" "$(cat "$T/out")"
  grep -q cd-refused "$T/out" || fail "the command's chdir was not refused" "$(cat "$T/out" "$T/err")"
  # In log mode that listener too reaches sandbox.
  sb run --violations "$T/v.jsonl" "$p" -- /bin/sh -c 'cd /tmp; exit 0'
  expect_rc 0 "the start with --violations"
  grep -q '"syscall":"chdir"' "$T/v.jsonl" || fail "the refused chdir was not recorded" "$(cat "$T/v.jsonl" "$T/err")"
}

t_seccomp_bad_profile_values() {
  local p
  p=$(mkprofile p default '[seccomp]' 'deny = ["nosuchcall"]')
  sb run "$p"
  expect_rc 125
  expect_match "unknown syscall error" "p\.toml:[0-9]+:[0-9]+: unknown system call 'nosuchcall'" "$(cat "$T/err")"
  p=$(mkprofile q default '[seccomp]' 'deny = ["ptrace:EWHAT"]')
  sb run "$p"
  expect_rc 125
  expect_match "unknown errno error" "q\.toml:[0-9]+:[0-9]+: unknown errno 'EWHAT'" "$(cat "$T/err")"
  p=$(mkprofile r default '[seccomp]' 'allow = ["ptrace"]' 'deny = ["ptrace"]')
  sb run "$p"
  expect_rc 125
  expect_match "conflict error" "'ptrace' is both allowed" "$(cat "$T/err")"
}

t_seccomp_shown_by_dry_run_and_check() {
  local p
  p=$(mkprofile p default '[seccomp]' 'allow = ["ptrace"]' 'deny = ["acct:EACCES"]')
  sb run --dry-run "$p"
  expect_rc 0
  grep -q '^seccomp: enforce; architectures: ' "$T/out" || fail "--dry-run does not show the filter" "$(cat "$T/out")"
  grep -q 'deny keyctl (keyring): EPERM' "$T/out" || fail "--dry-run does not list keyctl"
  grep -q 'allowed by the profile: ptrace' "$T/out" || fail "--dry-run does not show the lifted denial"
  grep -q 'deny acct (profile): EACCES' "$T/out" || fail "--dry-run does not show the profile's denial"
  sb check "$p"
  expect_rc 0
  grep -q '^allow = \["ptrace"\]' "$T/out" || fail "check does not show [seccomp] allow" "$(cat "$T/out")"
  grep -q '^deny = \["acct:EACCES"\]' "$T/out" || fail "check does not show [seccomp] deny"
}

t_seccomp_nested_namespaces_keep_outer_guarantees() {
  local p mask=
  for mask in /proc/keys /proc/timer_list /proc/kcore; do [ -e "$mask" ] && break; done
  [ -e "$mask" ] || skip "none of /proc/keys, /proc/timer_list, /proc/kcore exists on this kernel"
  p=$(mkprofile p default '[security]' 'nested_namespaces = true')
  # With every capability in a new user and mount namespace, the outer read-only view and the
  # /proc masks are locked mounts: they hold.
  sb run "$p" -- /probe nested /usr "$mask"
  expect_rc 0
  expect_kv unshare ok
  expect_kv remount_rw EPERM
  expect_kv umount_mask EINVAL
  expect_kv create EROFS
  # Without the switch the nested namespace itself is refused.
  p=$(mkprofile q default)
  sb run "$p" -- /probe nested /usr "$mask"
  expect_rc 0
  expect_kv unshare EPERM
}

t_seccomp_violations_logged_as_json() {
  local p x32
  "$PROBE" syscalls >"$T/host.out" 2>/dev/null
  # Where the kernel runs no x32 calls the filter answers them ENOSYS itself, as calls newer than
  # its table: not refusals of the policy, so not recorded.
  x32=$([ "$(val x32_getpid "$T/host.out")" = ENOSYS ] && echo no || echo yes)
  p=$(mkprofile -n p default 'command = ["/probe", "syscalls"]')
  sb run --violations "$T/v.jsonl" "$p"
  expect_rc 0
  # The payload still got the filter's answers.
  expect_kv keyctl EPERM
  expect_kv clone3 ENOSYS
  [ -s "$T/v.jsonl" ] || fail "--violations wrote nothing" "$(cat "$T/err")"
  python3 - "$T/v.jsonl" "$x32" <<'PY' || fail "the violation records are not what was refused" "$(head -5 "$T/v.jsonl")"
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
x32_runs = sys.argv[2] == "yes"
by_name = {(r["syscall"], r["abi"]): r for r in records}
keyctl = by_name[("keyctl", "x86_64")]
assert keyctl["action"] == "refused" and keyctl["errno"] == "EPERM", keyctl
assert keyctl["executable"] == "/probe" and keyctl["pid"] > 0, keyctl
assert by_name[("clone3", "x86_64")]["errno"] == "ENOSYS"
assert by_name[("socket", "x86_64")]["errno"] == "EAFNOSUPPORT"
assert (("keyctl", "x32") in by_name) == x32_runs, "x32 calls are recorded with their ABI where the kernel runs them"
assert all(r["action"] == "refused" for r in records)
PY
  grep -q "refused system call(s); [0-9]* recorded in $T/v.jsonl" "$T/err" || fail "no summary on stderr" "$(cat "$T/err")"
}

t_seccomp_learn_lets_through_and_prints_allow_lines() {
  local p
  p=$(mkprofile -n p default 'command = ["/probe", "syscalls"]')
  sb run --learn "$p"
  expect_rc 0
  expect_kv keyctl ok
  expect_kv unshare_user ok
  grep -q '^\[seccomp\]$' "$T/err" || fail "--learn printed no [seccomp] table" "$(cat "$T/err")"
  local allow
  allow=$(grep '^allow = ' "$T/err")
  for name in keyctl unshare clone3 ptrace; do
    grep -q "\"$name\"" <<<"$allow" || fail "--learn did not list $name" "$allow"
  done
  # The printed lines, put in a profile, allow those calls for real.
  printf '%s\n' "extends = [\"$T/p.toml\"]" '[seccomp]' "$allow" >"$T/learned.toml"
  sb run "$T/learned.toml"
  expect_rc 0
  expect_kv keyctl ok
  expect_kv ptrace ESRCH
}

t_doctor_names_why_user_namespaces_fail() {
  local p
  # Inside a sandbox, our own filter refuses nested user namespaces: doctor must say so and how.
  p=$(mkprofile p default)
  printf '\n[[mount]]\ntype = "ro-bind"\nsource = "%s"\ntarget = "/sandbox"\n' "$SANDBOX" >>"$p"
  sb run "$p" -- /sandbox doctor
  expect_rc 0
  grep -q '^  no    user namespaces     unshare(CLONE_NEWUSER) fails: Operation not permitted' "$T/out" ||
    fail "doctor does not name the refused user namespaces" "$(cat "$T/out")"
  grep -q '^        fix: ' "$T/out" || fail "doctor names no fix"
  # Outside it reports what the kernel offers.
  sb doctor
  expect_rc 0
  grep -q '^  ok    user namespaces' "$T/out" || fail "doctor on the host: user namespaces" "$(cat "$T/out")"
  grep -q '^  \(ok\|no\)    seccomp ' "$T/out" || fail "doctor says nothing about seccomp"
  grep -q '^  \(ok\|no\)    landlock ' "$T/out" || fail "doctor says nothing about Landlock"
}

t_seccomp_violations_log_is_bounded() {
  local p lines
  # A payload that refuses itself many calls cannot fill the host's disk through the log.
  p=$(mkprofile p default)
  sb run --violations "$T/v.jsonl" "$p" -- /probe refuse-many 12000
  expect_rc 0
  expect_kv refused 12000
  lines=$(wc -l <"$T/v.jsonl")
  [ "$lines" -eq 10001 ] || fail "the log has $lines lines, expected 10000 records and one truncation line"
  tail -n 1 "$T/v.jsonl" | grep -q '"truncated":true' || fail "no truncation line" "$(tail -n 2 "$T/v.jsonl")"
  grep -q 'the log is capped' "$T/err" || fail "stderr does not say the log was capped" "$(cat "$T/err")"
}
