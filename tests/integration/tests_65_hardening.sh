# Hardening: what the sandbox must not share with its caller, and a start-up that holds under
# load and stops before the payload when set-up fails.

# ------------------------------------------------------------------ the session keyring

# The caller's session keyring (Kerberos tickets, fscrypt and cifs keys) is not the payload's:
# every sandbox joins a fresh anonymous one. The probe outside puts a secret key in a session
# keyring of its own and runs the sandbox; inside, that keyring is not ours, the key can be
# neither read nor found, and a key planted inside is gone for the caller afterwards. A key
# syscall refused outright (EPERM, ENOSYS: a seccomp filter) counts as "cannot read".
t_hardening_session_keyring_is_not_the_callers() {
  local p
  p=$(mkprofile p default)
  LAST_CMD="sandbox-probe keyring-caller sandbox run $p -- /probe keyring-inside ..."
  RC=0
  "$PROBE" keyring-caller "$SANDBOX" run "$p" -- /probe keyring-inside @CALLER_SESSION@ @CALLER_KEY@ \
    </dev/null >"$T/out" 2>"$T/err" || RC=$?
  [ "$RC" -eq 3 ] && skip "no session keyring for the caller here ($(cat "$T/out"))"
  expect_rc 0
  expect_kv cmd_rc 0
  expect_kv session_is_callers no
  case $(val read_caller_key) in
    ok:*) fail "the payload read the caller's key: $(val read_caller_key)" ;;
    EACCES | ENOKEY | EPERM | ENOSYS) ;;
    *) fail "reading the caller's key failed oddly: $(val read_caller_key)" ;;
  esac
  case $(val search_caller_key) in
    found) fail "the payload found the caller's key in its session keyring" ;;
    ENOKEY | EACCES | EPERM | ENOSYS) ;;
    *) fail "searching the caller's key failed oddly: $(val search_caller_key)" ;;
  esac
  expect_kv planted_seen no
}

# Two sandboxes of one caller do not share a session keyring either.
t_hardening_session_keyring_per_sandbox() {
  local p first second
  p=$(mkprofile p default)
  RC=0
  "$PROBE" keyring-caller /bin/sh -c '"$1" run "$2" -- /probe keyring-inside "$3" "$4" && "$1" run "$2" -- /probe keyring-inside "$3" "$4"' \
    sh "$SANDBOX" "$p" @CALLER_SESSION@ @CALLER_KEY@ </dev/null >"$T/out" 2>"$T/err" || RC=$?
  [ "$RC" -eq 3 ] && skip "no session keyring for the caller here ($(cat "$T/out"))"
  expect_rc 0
  expect_kv cmd_rc 0
  first=$(grep '^session=' "$T/out" | sed -n 1p)
  second=$(grep '^session=' "$T/out" | sed -n 2p)
  [ -n "$second" ] || fail "the second sandbox did not report its session keyring: $(cat "$T/out")"
  # Refused key syscalls (session=EPERM) share nothing; ids must differ.
  if [[ $first =~ ^session=[0-9]+$ ]]; then
    [ "$first" != "$second" ] || fail "two sandboxes share the session keyring ($first)"
  fi
}

# ------------------------------------------------------------------ set-up before the payload

# A forward whose host port is taken stops the run with 125 before the payload's first
# instruction: its side effects (a file in a writable bind) never land. Repeated: the old code
# lost this race only sometimes.
t_hardening_busy_forward_payload_never_runs() {
  local p portfile=$T/busy port i
  mkdir -p "$T/w"
  start_bg python3 "$IT_DIR/netutil.py" listen-busy 127.0.0.1 "$portfile"
  for ((i = 0; i < 50; i++)); do [ -s "$portfile" ] && break; sleep 0.1; done
  port=$(cat "$portfile") || fail "the busy listener did not start"
  p=$(mkprofile p default '[network]' 'mode = "slirp"' "ports = [\"127.0.0.1:$port:80\"]" \
    '' '[[mount]]' 'type = "bind"' "source = \"$T/w\"" 'target = "/w"')
  for ((i = 0; i < 10; i++)); do
    sb run "$p" -- /probe write /w/ran
    expect_rc 125 "exit code with the forward's host port taken (run $i)"
    grep -q "^sandbox: network: forward 127.0.0.1:$port:80/tcp: cannot listen" "$T/err" ||
      fail "no message naming the busy port: $(cat "$T/err")"
    [ ! -e "$T/w/ran" ] || fail "the payload ran (it wrote /w/ran) although the set-up failed (run $i)"
  done
}

# ------------------------------------------------------------------ many at once, under load

# fifty_at_once [forward]: 50 sandboxes started at once (each with a forward on a port of its
# own when asked), with the CPUs kept busy; every one must exit 0. The old handshake failed
# about one run in fifty ("unexpected message network-ready while waiting-for-init"). Several
# rounds, each a test of its own to stay within the test timeout on a loaded machine.
fifty_at_once() {
  local forward=${1:-} i n=50 failed=0 loader p
  local -a pids=() ports=()
  p=$(mkprofile p default)
  # Bounded load: two busy loops, at most 50 s, killed by pid when the test ends.
  for loader in 1 2; do start_bg timeout 50 /bin/sh -c 'while :; do :; done'; done
  if [ -n "$forward" ]; then
    # Fifty distinct free ports, held together while chosen.
    mapfile -t ports < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(50)]
for s in socks: s.bind(("127.0.0.1", 0))
for s in socks: print(s.getsockname()[1])')
    [ "${#ports[@]}" -eq "$n" ] || fail "could not pick $n free ports"
  fi
  for ((i = 0; i < n; i++)); do
    if [ -n "$forward" ]; then
      timeout -k 5 40 "$SANDBOX" run --network slirp -p "127.0.0.1:${ports[i]}:80" "$p" -- /probe exit 0 \
        </dev/null >"$T/out.$i" 2>"$T/err.$i" &
    else
      timeout -k 5 40 "$SANDBOX" run "$p" -- /probe exit 0 </dev/null >"$T/out.$i" 2>"$T/err.$i" &
    fi
    pids+=($!)
  done
  for ((i = 0; i < n; i++)); do
    RC=0
    wait "${pids[i]}" || RC=$?
    if [ "$RC" -ne 0 ]; then
      failed=$((failed + 1))
      echo "sandbox $i: exit $RC: $(head -c 300 "$T/err.$i")" >>"$T/failures"
    fi
  done
  LAST_CMD=
  [ "$failed" -eq 0 ] || fail "$failed of $n sandboxes failed" "$(head -n 20 "$T/failures")"
}

t_hardening_fifty_at_once_round_1() { fifty_at_once; }
t_hardening_fifty_at_once_round_2() { fifty_at_once; }
t_hardening_fifty_at_once_round_3() { fifty_at_once; }
t_hardening_fifty_at_once_with_forwards_round_1() { fifty_at_once forward; }
t_hardening_fifty_at_once_with_forwards_round_2() { fifty_at_once forward; }
t_hardening_fifty_at_once_with_forwards_round_3() { fifty_at_once forward; }
