# Landlock, the second fence, attacked from inside: a mount the payload makes itself (possible
# with nested namespaces) is not writable, abstract UNIX sockets of the host are out of reach
# under network = "host", and signals do not leave the payload's domain.

t_landlock_refuses_writes_to_a_mount_made_inside() {
  need_landlock 1
  [ -d /usr/local ] || skip "/usr/local does not exist on this host"
  local p
  # Nested namespaces give the payload every capability over a mount namespace of its own; a
  # Landlock domain may not change its mounts at all, so the read-only /usr/local stays so.
  p=$(mkprofile on default '[security]' 'nested_namespaces = true')
  sb run "$p" -- /probe nested-tmpfs /usr/local
  expect_rc 0
  expect_kv unshare ok
  expect_kv mount_tmpfs EPERM
  expect_kv_not create ok
  # The control: without Landlock the mount goes through (the file then fails only because the
  # nested namespace has no id map: EOVERFLOW).
  p=$(mkprofile off default '[security]' 'nested_namespaces = true' 'landlock = "off"')
  sb run "$p" -- /probe nested-tmpfs /usr/local
  expect_rc 0
  expect_kv mount_tmpfs ok
}

t_landlock_keeps_writable_mounts_writable() {
  need_landlock 1
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /bin/sh -c 'echo x >/tmp/f && cat /tmp/f && mkdir "$HOME/d" && rm -r "$HOME/d" && echo x >/dev/null && echo fine'
  expect_rc 0
  grep -qx fine "$T/out" || fail "writes to /tmp, the home tmpfs or /dev/null failed under Landlock" "$(cat "$T/err")"
}

t_landlock_scopes_host_abstract_sockets() {
  need_landlock 6
  command -v python3 >/dev/null || skip "python3 is needed to listen on an abstract socket"
  local name=sandbox-test-abstract-$$ p
  start_bg python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0" + sys.argv[1]); s.listen(8); print("ready", flush=True)
s.settimeout(30)
try:
    while True: s.accept()[0].close()
except Exception: pass' "$name" >"$T/server.out"
  wait_for_line "$T/server.out" '^ready' 10 || fail "the abstract socket server did not start"
  p=$(mkprofile on default '[network]' 'mode = "host"')
  sb run "$p" -- /probe abstract-connect "$name"
  expect_rc 0
  expect_kv connect EPERM
  p=$(mkprofile off default '[network]' 'mode = "host"' '[security]' 'landlock = "off"')
  sb run "$p" -- /probe abstract-connect "$name"
  expect_rc 0
  expect_kv connect ok
}

t_landlock_scopes_signals() {
  need_landlock 6
  local p
  # pid 1 is outside the payload's Landlock domain: the payload cannot signal it.
  p=$(mkprofile on default)
  sb run "$p" -- /probe kill 1 0
  expect_rc 0
  expect_kv kill EPERM
  p=$(mkprofile off default '[security]' 'landlock = "off"')
  sb run "$p" -- /probe kill 1 0
  expect_rc 0
  expect_kv kill ok
}

t_landlock_shown_and_required() {
  local p abi
  p=$(mkprofile p default '[security]' 'landlock = "required"')
  sb run --dry-run "$p"
  expect_rc 0
  grep -q '^landlock:   required' "$T/out" || fail "--dry-run does not show the Landlock mode" "$(cat "$T/out")"
  abi=$(landlock_abi_of_host)
  if [ -n "$abi" ]; then
    grep -q '^  /tmp: read, write' "$T/out" || fail "--dry-run does not list /tmp as writable" "$(cat "$T/out")"
    sb run "$p" -- /bin/true
    expect_rc 0 "landlock = \"required\" on a kernel with Landlock ABI $abi"
  else
    sb run "$p" -- /bin/true
    expect_rc 125 "landlock = \"required\" on a kernel without Landlock"
  fi
  p=$(mkprofile q default '[security]' 'landlock = "sometimes"')
  sb run "$p"
  expect_rc 125
  expect_match "bad landlock value" 'q\.toml:[0-9]+:[0-9]+: \[security\] landlock must be' "$(cat "$T/err")"
}
