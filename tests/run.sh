#!/usr/bin/env bash
# Runs the whole test suite: build, unit tests, docs checks, the fuzz corpus, integration tests.
# The integration tests run as an unprivileged user (sandbox-test, created when we are root).
# Ends with exactly one line "N passed, N failed"; exits 1 when anything failed.
set -u

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." || exit 1

PASSED=0
FAILED=0
SKIPPED=0
STAGE=
LOGDIR=$(mktemp -d /tmp/sandbox-run-logs.XXXXXX) || exit 1

cleanup() {
  [ -n "$STAGE" ] && rm -rf -- "$STAGE"
  rm -rf -- "$LOGDIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }

summary() {
  echo
  echo "$SKIPPED skipped"
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] && exit 0
  exit 1
}

count_lines() { # count_lines REGEX FILE
  local n
  n=$(grep -cE -- "$1" "$2" 2>/dev/null) || n=0
  echo "${n:-0}"
}

# ---------------------------------------------------------------- dependencies
echo "== dependencies"
if ! bash scripts/install-deps.sh; then
  fail "install-deps: scripts/install-deps.sh failed"
fi

# ---------------------------------------------------------------- build
echo "== build"
if [ ! -f build/build.ninja ]; then
  setup=(meson setup build)
  # configured once but broken since: start over
  [ -f build/meson-private/coredata.dat ] && setup=(meson setup --wipe build)
  if ! "${setup[@]}"; then
    fail "build: meson setup build failed"
    summary
  fi
fi
if ! ninja -C build; then
  fail "build: ninja -C build failed"
  summary
fi

# ---------------------------------------------------------------- unit tests
echo "== unit tests"
unit_log=$LOGDIR/unit.log
if [ ! -x build/sandbox-unit-tests ]; then
  fail "unit: build/sandbox-unit-tests was not built"
else
  build/sandbox-unit-tests --use-colour no 2>&1 | tee "$unit_log"
  unit_rc=${PIPESTATUS[0]}
  all_re='^All tests passed \(([0-9]+) assertions? in ([0-9]+) test cases?\)'
  line=$(grep -E "$all_re|^test cases:|^No tests ran" "$unit_log" | tail -n 1)
  u_pass=0
  u_fail=0
  if [[ $line =~ $all_re ]]; then
    u_pass=${BASH_REMATCH[2]}
  elif [[ $line =~ ^test\ cases: ]]; then
    # e.g. "test cases: 12 | 10 passed | 2 failed" (Catch2 omits zero columns)
    [[ $line =~ ([0-9]+)\ passed ]] && u_pass=${BASH_REMATCH[1]}
    [[ $line =~ ([0-9]+)\ failed($|\ \|) ]] && u_fail=${BASH_REMATCH[1]}
  fi
  PASSED=$((PASSED + u_pass))
  FAILED=$((FAILED + u_fail))
  echo "unit: $u_pass test cases passed, $u_fail failed (exit code $unit_rc)"
  if [ -z "$line" ]; then
    fail "unit: no Catch2 summary line (exit code $unit_rc)"
  elif [[ $line == "No tests ran"* ]]; then
    fail "unit: no test case ran (exit code $unit_rc)"
  elif [ "$unit_rc" -ne 0 ] && [ "$u_fail" -eq 0 ]; then
    fail "unit: build/sandbox-unit-tests exited $unit_rc but reported no failed test case"
  fi
fi

# ---------------------------------------------------------------- docs
echo "== docs"
docs_log=$LOGDIR/docs.log
if [ ! -f tests/check-docs.sh ]; then
  fail "docs: tests/check-docs.sh is missing"
else
  bash tests/check-docs.sh build/sandbox . 2>&1 | tee "$docs_log"
  docs_rc=${PIPESTATUS[0]}
  d_pass=$(count_lines '^PASS:' "$docs_log")
  d_fail=$(count_lines '^FAIL:' "$docs_log")
  PASSED=$((PASSED + d_pass))
  FAILED=$((FAILED + d_fail))
  if [ "$d_pass" -eq 0 ] && [ "$d_fail" -eq 0 ]; then
    fail "docs: tests/check-docs.sh printed no PASS:/FAIL: line (exit code $docs_rc)"
  elif [ "$docs_rc" -ne 0 ] && [ "$d_fail" -eq 0 ]; then
    fail "docs: tests/check-docs.sh exited $docs_rc but reported no FAIL: line"
  fi
fi

# ---------------------------------------------------------------- fuzz corpus
# The profile loader's fuzzer (libFuzzer, ASan, UBSan) over its seed corpus, which holds every
# input that once crashed it: one PASS or FAIL line.
echo "== fuzz corpus"
fuzz_log=$LOGDIR/fuzz.log
if ! command -v clang++ >/dev/null 2>&1; then
  fail "fuzz: clang++ is missing (scripts/install-deps.sh installs clang)"
elif ! bash tests/fuzz/build.sh build/fuzz >"$fuzz_log" 2>&1; then
  tail -n 20 "$fuzz_log"
  fail "fuzz: tests/fuzz/build.sh failed"
elif timeout -k 10 600 build/fuzz/profile_fuzzer -runs=0 -timeout=10 -artifact_prefix="$LOGDIR/" tests/fuzz/corpus >>"$fuzz_log" 2>&1; then
  echo "PASS fuzz-corpus ($(find tests/fuzz/corpus -type f | wc -l) inputs)"
  PASSED=$((PASSED + 1))
else
  grep -E 'ERROR|runtime error|Assertion|deadly|Test unit written' "$fuzz_log" | head -n 20
  fail "fuzz: build/fuzz/profile_fuzzer failed on tests/fuzz/corpus (see above)"
fi

# ---------------------------------------------------------------- integration
echo "== integration tests"
stage_ok=1
STAGE=$(mktemp -d /tmp/sandbox-it.XXXXXX) || { fail "integration: mktemp failed"; summary; }
mkdir -p "$STAGE/bin" "$STAGE/share/sandbox/profiles" "$STAGE/tests" || stage_ok=0
for f in sandbox sandbox-probe; do
  if [ -f "build/$f" ]; then
    cp "build/$f" "$STAGE/bin/$f" || stage_ok=0
  else
    fail "integration: build/$f was not built"
    stage_ok=0
  fi
done
shopt -s nullglob
profiles=(profiles/*.toml)
shopt -u nullglob
if [ ${#profiles[@]} -eq 0 ]; then
  fail "integration: no profiles/*.toml to stage"
  stage_ok=0
else
  cp "${profiles[@]}" "$STAGE/share/sandbox/profiles/" || stage_ok=0
fi
if [ -d tests/integration ]; then
  cp -R tests/integration tests/lib "$STAGE/tests/" || stage_ok=0
else
  fail "integration: tests/integration is missing"
  stage_ok=0
fi
chmod -R a+rX "$STAGE" || stage_ok=0

if [ "$stage_ok" -eq 1 ]; then
  runner=(bash "$STAGE/tests/integration/run.sh" "$STAGE")
  if [ "$(id -u)" -eq 0 ]; then
    user=sandbox-test
    if ! id "$user" >/dev/null 2>&1; then
      useradd -m -s /bin/bash "$user" || fail "integration: useradd $user failed"
    fi
    # Debian's useradd usually adds a range already; a duplicate line breaks newuidmap.
    grep -q "^$user:" /etc/subuid 2>/dev/null || echo "$user:200000:65536" >>/etc/subuid
    grep -q "^$user:" /etc/subgid 2>/dev/null || echo "$user:200000:65536" >>/etc/subgid
    home=$(getent passwd "$user" | cut -d: -f6)
    runner=(runuser -u "$user" -- env -i HOME="${home:-/home/$user}" USER="$user" LOGNAME="$user"
            PATH=/usr/local/bin:/usr/bin:/bin TERM="${TERM:-dumb}" "${runner[@]}")
  fi
  it_log=$LOGDIR/integration.log
  # stdin from /dev/null: the tests must not read our terminal.
  (cd "$STAGE" && timeout -k 10 3600 "${runner[@]}" </dev/null) 2>&1 | tee "$it_log"
  it_rc=${PIPESTATUS[0]}
  i_pass=$(count_lines '^PASS ' "$it_log")
  i_fail=$(count_lines '^FAIL ' "$it_log")
  i_skip=$(count_lines '^SKIP ' "$it_log")
  PASSED=$((PASSED + i_pass))
  FAILED=$((FAILED + i_fail))
  SKIPPED=$((SKIPPED + i_skip))
  if [ "$it_rc" -ne 0 ] && [ "$i_fail" -eq 0 ]; then
    fail "integration: runner exited $it_rc but reported no FAIL line"
  elif [ "$i_pass" -eq 0 ] && [ "$i_fail" -eq 0 ]; then
    fail "integration: runner reported no results"
  fi
  # Invoked by root, the tool writes the maps itself and must still isolate.
  if [ "$(id -u)" -eq 0 ]; then
    root_profile=$STAGE/root-probe.toml
    printf 'extends = ["%s"]\ncommand = ["/probe", "info"]\n[[mount]]\ntype = "ro-bind"\nsource = "%s"\ntarget = "/probe"\n' \
      "$STAGE/share/sandbox/profiles/default.toml" "$STAGE/bin/sandbox-probe" >"$root_profile"
    # Records go to a runtime directory of the stage's, not to /tmp/sandbox-0.
    export XDG_RUNTIME_DIR=$STAGE/runtime
    mkdir -m 0700 -p "$XDG_RUNTIME_DIR"
    root_out=$(cd / && timeout 30 "$STAGE/bin/sandbox" run "$root_profile" </dev/null 2>&1)
    root_why=
    grep -qx 'uid=0' <<<"$root_out" || root_why="uid is not 0"
    grep -qx 'cap.eff=0000000000000000' <<<"$root_out" || root_why="the payload kept capabilities"
    grep -qx 'ifaces=lo' <<<"$root_out" || root_why="not in a new network namespace"
    [ "$(grep '^ns.user=' <<<"$root_out" | cut -d= -f2)" != "$(readlink /proc/self/ns/user)" ] ||
      root_why="not in a new user namespace"
    [ "$(grep '^ns.mnt=' <<<"$root_out" | cut -d= -f2)" != "$(readlink /proc/self/ns/mnt)" ] ||
      root_why="not in a new mount namespace"
    if [ -z "$root_why" ]; then
      echo "PASS root-invocation ($(grep '^uid_map=' <<<"$root_out"))"
      PASSED=$((PASSED + 1))
    else
      fail "root-invocation: $root_why"
      sed 's/^/    /' <<<"$root_out" | head -20
    fi
  fi

  # As root /dev/net/tun can be opened: the slirp network then uses a tap device (unprivileged
  # tests on hosts where tun is root-only exercise the veth path instead).
  if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ]; then
    tap_out=$(cd / && timeout 30 "$STAGE/bin/sandbox" run --network slirp "$root_profile" -- /bin/cat /proc/net/dev </dev/null 2>&1)
    if grep -q 'eth0:' <<<"$tap_out" && ! grep -q 'slirp0:' <<<"$tap_out"; then
      echo "PASS slirp-tap-as-root"
      PASSED=$((PASSED + 1))
    else
      fail "slirp-tap-as-root: eth0 is not a tap (or the sandbox failed)"
      sed 's/^/    /' <<<"$tap_out" | head -20
    fi
  fi

  # The single-id fallback needs a user without subordinate ranges: only root can make one.
  if [ "$(id -u)" -eq 0 ]; then
    nosub=sandbox-nosub
    id "$nosub" >/dev/null 2>&1 ||
      useradd -m -s /bin/bash -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 "$nosub" ||
      fail "integration: useradd $nosub failed"
    fb_log=$LOGDIR/integration-fallback.log
    (cd "$STAGE" && timeout -k 10 600 runuser -u "$nosub" -- env -i HOME="/home/$nosub" USER="$nosub" \
      LOGNAME="$nosub" PATH=/usr/local/bin:/usr/bin:/bin TERM="${TERM:-dumb}" \
      bash "$STAGE/tests/integration/run.sh" "$STAGE" 't_idmap_fallback*' </dev/null) 2>&1 | tee "$fb_log"
    PASSED=$((PASSED + $(count_lines '^PASS ' "$fb_log")))
    FAILED=$((FAILED + $(count_lines '^FAIL ' "$fb_log")))
    SKIPPED=$((SKIPPED + $(count_lines '^SKIP ' "$fb_log")))
  fi

  # allow_domains: a pretend outside world (names, documentation addresses, servers) in a network
  # namespace of its own, which only root can make; the tests run in it as the user.
  if [ "$(id -u)" -eq 0 ] && id "$user" >/dev/null 2>&1; then
    dn_log=$LOGDIR/integration-domains.log
    timeout -k 10 600 bash tests/integration/domain_net.sh "$STAGE" "$user" </dev/null 2>&1 | tee "$dn_log"
    PASSED=$((PASSED + $(count_lines '^PASS ' "$dn_log")))
    FAILED=$((FAILED + $(count_lines '^FAIL ' "$dn_log")))
    SKIPPED=$((SKIPPED + $(count_lines '^SKIP ' "$dn_log")))
  fi

  # A second user cannot use another's control socket: not through the private state directory,
  # not through the socket's mode, and not even when both are opened up (the supervisor checks
  # the peer's uid). Needs two users: only root can arrange it.
  if [ "$(id -u)" -eq 0 ] && id "$user" >/dev/null 2>&1 && id "$nosub" >/dev/null 2>&1; then
    xu_rt=$STAGE/xuser-runtime
    mkdir -p -m 0700 "$xu_rt" && chown "$user:" "$xu_rt"
    as_owner=(runuser -u "$user" -- env -i HOME="${home:-/home/$user}" XDG_RUNTIME_DIR="$xu_rt" PATH=/usr/bin:/bin)
    as_other=(runuser -u "$nosub" -- env -i HOME="/home/$nosub" XDG_RUNTIME_DIR="$xu_rt" PATH=/usr/bin:/bin)
    xu_why=
    if ! (cd / && timeout 30 "${as_owner[@]}" "$STAGE/bin/sandbox" run -d --name xuser \
      "$STAGE/share/sandbox/profiles/default.toml" -- /bin/sleep 60 </dev/null >/dev/null 2>&1); then
      xu_why="the owner could not start a detached sandbox"
    fi
    sock=$xu_rt/sandbox/xuser/control
    ask='import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("refused:", e.strerror); sys.exit(0)
s.send(b"{\"version\":1,\"type\":\"kill\",\"signal\":9}")
s.settimeout(5)
try:
    print("answer:" + s.recv(65536).decode())
except OSError as e:
    print("closed:", e.strerror)'
    if [ -z "$xu_why" ]; then
      out=$(cd / && timeout 30 "${as_other[@]}" "$STAGE/bin/sandbox" exec xuser /bin/true </dev/null 2>&1) &&
        xu_why="another user's exec succeeded: $out"
    fi
    if [ -z "$xu_why" ]; then
      out=$(cd / && timeout 30 "${as_other[@]}" python3 -c "$ask" "$sock" 2>&1)
      grep -q '^refused:' <<<"$out" || xu_why="another user reached the socket through the state directory: $out"
    fi
    if [ -z "$xu_why" ]; then  # the directories opened up: the socket's own mode
      chmod 0711 "$xu_rt" "$xu_rt/sandbox" "$xu_rt/sandbox/xuser"
      out=$(cd / && timeout 30 "${as_other[@]}" python3 -c "$ask" "$sock" 2>&1)
      grep -q '^refused:' <<<"$out" || xu_why="another user connected to a socket of mode 0600: $out"
    fi
    if [ -z "$xu_why" ]; then  # and the socket too: the supervisor's own check of the peer
      chmod 0666 "$sock"
      out=$(cd / && timeout 30 "${as_other[@]}" python3 -c "$ask" "$sock" 2>&1)
      grep -q '^answer:' <<<"$out" && xu_why="the supervisor answered another user: $out"
      chmod 0700 "$xu_rt" "$xu_rt/sandbox" "$xu_rt/sandbox/xuser"
      state=$(cd / && timeout 30 "${as_owner[@]}" "$STAGE/bin/sandbox" ps 2>&1)
      grep -q '^xuser .* running ' <<<"$state" || xu_why="another user's request was carried out: $state"
    fi
    (cd / && timeout 30 "${as_owner[@]}" "$STAGE/bin/sandbox" stop -t 0 xuser </dev/null >/dev/null 2>&1)
    (cd / && timeout 30 "${as_owner[@]}" "$STAGE/bin/sandbox" rm xuser </dev/null >/dev/null 2>&1)
    rm -rf "$xu_rt"
    if [ -z "$xu_why" ]; then
      echo "PASS control-socket-other-user"
      PASSED=$((PASSED + 1))
    else
      fail "control-socket-other-user: $xu_why"
    fi
  fi
else
  fail "integration: staging failed, integration tests not run"
fi

# ---------------------------------------------------------------- cgroup tests in a qemu guest
# The host's cgroup v2 hierarchy has nothing delegated and must not be touched: the limits are
# tested in a guest booted from Debian's kernel, with a subtree delegated as systemd does.
echo "== cgroup tests (qemu guest)"
if [ "$stage_ok" -eq 1 ] && [ -f tests/vm/run.sh ]; then
  vm_log=$LOGDIR/vm.log
  timeout -k 10 2400 bash tests/vm/run.sh "$STAGE" </dev/null 2>&1 | tee "$vm_log"
  vm_rc=${PIPESTATUS[0]}
  v_pass=$(count_lines '^PASS ' "$vm_log")
  v_fail=$(count_lines '^FAIL ' "$vm_log")
  v_skip=$(count_lines '^SKIP ' "$vm_log")
  PASSED=$((PASSED + v_pass))
  FAILED=$((FAILED + v_fail))
  SKIPPED=$((SKIPPED + v_skip))
  if [ "$vm_rc" -ne 0 ] && [ "$v_fail" -eq 0 ]; then
    fail "vm: tests/vm/run.sh exited $vm_rc but reported no FAIL line"
  elif [ "$v_pass" -eq 0 ] && [ "$v_fail" -eq 0 ] && [ "$v_skip" -eq 0 ]; then
    fail "vm: tests/vm/run.sh reported no results"
  fi
else
  fail "vm: not run (staging failed or tests/vm/run.sh is missing)"
fi

summary
