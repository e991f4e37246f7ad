# Identity and isolation: id maps, namespaces, hostname, network, read-only mounts,
# capabilities, file descriptors, environment, working directory.

t_idmap_root() {
  need_subids
  local p
  p=$(mkprofile p default)
  sb run "$p"
  expect_rc 0
  expect_kv uid 0
  expect_kv gid 0
  expect_kv euid 0
  expect_kv egid 0
  expect_kv uid_map "0 $MYUID 1;1 $SUBUID"
  expect_kv gid_map "0 $MYGID 1;1 $SUBGID"
}

# Without a subordinate range (tests/run.sh runs this as a second user, sandbox-nosub, made
# without ranges): a single-id map, one warning naming what is lost and the fix, and it still runs.
t_idmap_fallback_single_id() {
  [ -z "$(subid_range /etc/subuid)" ] || skip "user $MYNAME has a subordinate range (run as a user without one)"
  local p warnings
  p=$(mkprofile p default)
  sb run "$p"
  expect_rc 0
  expect_kv uid 0
  expect_kv uid_map "0 $MYUID 1"
  expect_kv gid_map "0 $MYGID 1"
  warnings=$(grep -c '^sandbox: warning: using a single-id map' "$T/err")
  [ "$warnings" -eq 1 ] || fail "expected exactly one single-id warning on stderr, got $warnings"
  grep -q 'usermod --add-subuids' "$T/err" || fail "the warning does not name the fix (usermod --add-subuids)"
  sb run --user-mode keep-id "$p"
  expect_rc 0
  expect_kv uid "$MYUID"
  expect_kv uid_map "$MYUID $MYUID 1"
}

# Regression: as root of a user namespace someone else made (`unshare -r` here, a rootless
# container in practice), only the ids that namespace maps exist; the sandbox mapped 0..65535
# anyway, the kernel refused (EPERM), and nothing could start.
t_idmap_nested_as_root_of_another_namespace() {
  command -v unshare >/dev/null || skip "no unshare(1)"
  unshare -Ur true 2>/dev/null || skip "unshare -r is refused here"
  local p
  p=$(mkprofile p default)
  LAST_CMD="unshare -Ur sandbox run"
  RC=0
  unshare -Ur "$SANDBOX" run "$p" </dev/null >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0 "a sandbox inside unshare -r"
  expect_kv uid 0
  expect_kv uid_map "0 0 1"
  expect_kv gid_map "0 0 1"
  grep -q '^sandbox: warning: only 1 uid(s) exist in the user namespace this runs in' "$T/err" ||
    fail "no warning that only root exists there" "$(cat "$T/err")"
}

t_idmap_keep_id() {
  need_subids
  local p map entry found
  p=$(mkprofile p default)
  sb run --user-mode keep-id "$p"
  expect_rc 0
  expect_kv uid "$MYUID"
  expect_kv gid "$MYGID"
  expect_kv euid "$MYUID"
  expect_kv egid "$MYGID"
  for entry in "uid_map:$MYUID $MYUID 1" "gid_map:$MYGID $MYGID 1"; do
    map=$(val "${entry%%:*}") || fail "no ${entry%%:*}= line"
    found=0
    IFS=';' read -r -a parts <<<"$map"
    for part in "${parts[@]}"; do [ "$part" = "${entry#*:}" ] && found=1; done
    [ "$found" -eq 1 ] || fail "${entry%%:*}: expected an entry '${entry#*:}', got '$map'"
  done
  # keep-id payloads hold no capabilities either
  for cap in inh prm eff bnd amb; do expect_kv "cap.$cap" 0000000000000000; done
  expect_kv no_new_privs 1
}

t_user_uid_gid() {
  need_subids
  local p
  p=$(mkprofile p default 'cwd = "/"' '[user]' 'mode = "root"' 'uid = 1000' 'gid = 1000')
  sb run "$p"
  expect_rc 0
  expect_kv uid 1000
  expect_kv gid 1000
  expect_kv euid 1000
  expect_kv egid 1000
  expect_kv cap.eff 0000000000000000
  # a tmpfs is owned by the payload user: the home tmpfs is usable
  sb run "$p" -- /probe stat "$HOME"
  expect_rc 0
  expect_eq "owner of the \$HOME tmpfs (stat uid:gid)" 1000:1000 "$(val uid):$(val gid)"
  sb run "$p" -- /probe write "$HOME/x"
  expect_rc 0
  expect_kv write ok
}

t_pid_namespace() {
  local p
  p=$(mkprofile p default)
  sb run "$p"
  expect_rc 0
  expect_kv ppid 1
  expect_kv pid 2
}

t_hostname_default() {
  local p
  p=$(mkprofile p default)
  sb run "$p"
  expect_rc 0
  expect_kv hostname sandbox
}

t_hostname_option() {
  local p
  p=$(mkprofile p default)
  sb run --hostname foo "$p"
  expect_rc 0
  expect_kv hostname foo
}

t_hostname_profile() {
  local p
  p=$(mkprofile p default 'hostname = "from-profile"')
  sb run "$p"
  expect_rc 0
  expect_kv hostname from-profile
  sb run --hostname from-cli "$p"
  expect_rc 0
  expect_kv hostname from-cli
}

t_namespaces_new() {
  local p ns inside host
  p=$(mkprofile p default)
  sb run "$p"
  expect_rc 0
  for ns in user mnt pid uts ipc net cgroup; do
    inside=$(val "ns.$ns") || fail "no ns.$ns= line"
    inside=$(ns_ino "$inside")
    host=$(host_ns "$ns")
    [ "$inside" != "$host" ] || fail "ns.$ns: expected a new namespace, got the host's ($host)"
    [[ $inside =~ ^[0-9]+$ ]] || fail "ns.$ns: expected a namespace inode, got '$inside'"
  done
}

t_namespaces_shared() {
  local p ns inside host
  p=$(mkprofile p default '[namespaces]' 'uts = false' 'ipc = false' 'cgroup = false' \
    '[network]' 'mode = "host"')
  sb run "$p"
  expect_rc 0
  for ns in uts ipc cgroup net; do
    inside=$(val "ns.$ns") || fail "no ns.$ns= line"
    inside=$(ns_ino "$inside")
    host=$(host_ns "$ns")
    [ "$inside" = "$host" ] || fail "ns.$ns: expected the host's namespace $host, got $inside"
  done
  for ns in user mnt pid; do
    inside=$(ns_ino "$(val "ns.$ns")")
    host=$(host_ns "$ns")
    [ "$inside" != "$host" ] || fail "ns.$ns: must always be new, got the host's ($host)"
  done
  local want got
  want=$(ls /sys/class/net | sort | tr '\n' ' ')
  got=$(val ifaces | tr ',; ' '\n\n\n' | sed '/^$/d' | sort | tr '\n' ' ')
  expect_eq "ifaces with network mode host" "$want" "$got"
}

t_network_none() {
  local p
  p=$(mkprofile p default)
  sb run "$p"
  expect_rc 0
  expect_kv ifaces lo
}

t_readonly_usr() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /probe write /usr/probe-x
  expect_rc 0
  expect_kv write EROFS
  [ ! -e /usr/probe-x ] || fail "/usr/probe-x appeared on the host"
}

t_readonly_etc() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /probe write /etc/probe-x
  expect_rc 0
  expect_kv write EROFS
}

t_readonly_root() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /probe write /probe-x
  expect_rc 0
  expect_kv write EROFS
  sb run "$p" -- /probe mkdir /probe-dir
  expect_rc 0
  expect_kv mkdir EROFS
}

t_readonly_no_remount() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /probe remount-rw /usr
  expect_rc 0
  expect_kv_not remount ok
  expect_kv_not umount ok
  # whatever the probe tried, /usr is still read-only for the next payload
  sb run "$p" -- /probe write /usr/probe-x
  expect_rc 0
  expect_kv write EROFS
}

t_writable_tmp() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /probe write /tmp/x
  expect_rc 0
  expect_kv write ok
}

t_writable_home_is_private() {
  local p marker=".sandbox-it-marker-$$"
  [ -d "$HOME" ] || skip "HOME=$HOME does not exist"
  touch "$HOME/$marker" || skip "cannot create a file in HOME=$HOME"
  AT_EXIT+=("rm -f '$HOME/$marker' '$HOME/probe-x'")
  p=$(mkprofile p default)
  sb run "$p" -- /probe write "$HOME/probe-x"
  expect_rc 0
  expect_kv write ok
  [ ! -e "$HOME/probe-x" ] || fail "$HOME/probe-x written inside appeared in the real home"
  sb run "$p" -- /probe stat "$HOME/$marker"
  expect_rc 0
  expect_kv exists 0
}

t_caps_empty() {
  local p cap
  p=$(mkprofile p default)
  sb run "$p"
  expect_rc 0
  for cap in inh prm eff bnd amb; do expect_kv "cap.$cap" 0000000000000000; done
  expect_kv no_new_privs 1
}

t_caps_profile_keeps_named() {
  need_subids
  local p
  p=$(mkprofile p default '[user]' 'mode = "root"' 'capabilities = ["CAP_NET_BIND_SERVICE"]')
  sb run "$p"
  expect_rc 0
  expect_kv cap.eff 0000000000000400
  expect_kv cap.prm 0000000000000400
  expect_kv no_new_privs 1
}

t_fds_not_inherited() {
  local p
  p=$(mkprofile p default)
  LAST_CMD="sandbox run $p (with fds 7, 8 and 9 open)"
  RC=0
  (
    exec 7</etc/hostname 8>"$T/fd8" 9<>"$T/fd9"
    exec "$SANDBOX" run "$p"
  ) </dev/null >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0
  expect_kv fds 0,1,2
}

t_env_cleared() {
  local p
  p=$(mkprofile p default)
  LAST_CMD="FOO=bar ... sandbox run $p -- /probe env"
  RC=0
  FOO=bar SECRET_TOKEN=s3cret DISPLAY=:99 SSH_AUTH_SOCK=/tmp/agent LD_PRELOAD=/nonexistent.so \
    "$SANDBOX" run "$p" -- /probe env </dev/null >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0
  expect_no_key FOO
  expect_no_key SECRET_TOKEN
  expect_no_key DISPLAY
  expect_no_key SSH_AUTH_SOCK
  expect_no_key LD_PRELOAD
  expect_kv PATH "$DEFAULT_PATH"
  val HOME >/dev/null || fail "HOME is not set inside"
  val USER >/dev/null || fail "USER is not set inside"
  val LOGNAME >/dev/null || fail "LOGNAME is not set inside"
}

t_env_kept_by_default() {
  local p
  p=$(mkprofile p default)
  LAST_CMD="TERM=... LANG=... sandbox run $p -- /probe env"
  RC=0
  TERM=xterm-test COLORTERM=truecolor LANG=C.UTF-8 LANGUAGE=en LC_TIME=C LC_ALL=C.UTF-8 \
    TZ=Europe/Paris NO_COLOR=1 \
    "$SANDBOX" run "$p" -- /probe env </dev/null >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0
  expect_kv TERM xterm-test
  expect_kv COLORTERM truecolor
  expect_kv LANG C.UTF-8
  expect_kv LANGUAGE en
  expect_kv LC_TIME C
  expect_kv LC_ALL C.UTF-8
  expect_kv TZ Europe/Paris
  expect_kv NO_COLOR 1
}

t_env_option() {
  local p
  p=$(mkprofile p default '[env]' 'set = { FROM_PROFILE = "profile", BOTH = "profile" }')
  sb run -e X=1 --env "Y=a b=c" -e BOTH=cli "$p" -- /probe env
  expect_rc 0
  expect_kv X 1
  expect_kv Y "a b=c"
  expect_kv FROM_PROFILE profile
  expect_kv BOTH cli
}

t_env_profile_set_and_variables() {
  local p
  p=$(mkprofile p default '[env]' \
    'set = { MYVAR = "v1", PS1 = "x$$y", H = "${HOME}", U = "${UID}:${GID}", N = "${USER}", PD = "${PROFILE_DIR}" }')
  sb run "$p" -- /probe env
  expect_rc 0
  expect_kv MYVAR v1
  expect_kv PS1 'x$y'
  expect_kv H "$HOME"
  expect_kv U "$MYUID:$MYGID"
  expect_kv N "${USER:-$MYNAME}"
  expect_kv PD "$T"
}

t_env_keep_and_unset() {
  local p
  p=$(mkprofile p default '[env]' 'keep = ["MY_KEEP", "XDG_*"]' 'unset = ["LANG"]')
  LAST_CMD="MY_KEEP=1 ... sandbox run $p -- /probe env"
  RC=0
  MY_KEEP=1 MY_KEEPX=2 XDG_FOO=3 XDG_BAR=4 XDGNOT=5 LANG=C.UTF-8 \
    "$SANDBOX" run "$p" -- /probe env </dev/null >"$T/out" 2>"$T/err" || RC=$?
  expect_rc 0
  expect_kv MY_KEEP 1
  expect_no_key MY_KEEPX
  expect_kv XDG_FOO 3
  expect_kv XDG_BAR 4
  expect_no_key XDGNOT
  expect_no_key LANG
}

t_cwd_option() {
  local p
  p=$(mkprofile p default)
  sb run --cwd /tmp "$p"
  expect_rc 0
  expect_kv cwd /tmp
}

t_cwd_profile() {
  local p
  p=$(mkprofile p default 'cwd = "/usr"')
  sb run "$p"
  expect_rc 0
  expect_kv cwd /usr
  sb run --cwd /tmp "$p"
  expect_rc 0
  expect_kv cwd /tmp
}

# [user] subordinate_ids = false: only the caller's own ids, without the fallback warning.
t_idmap_single_by_profile() {
  local p
  p=$(mkprofile p default '[user]' 'subordinate_ids = false')
  sb run "$p"
  expect_rc 0
  expect_kv uid_map "0 $MYUID 1"
  expect_kv gid_map "0 $MYGID 1"
  ! grep -q 'warning' "$T/err" || fail "a warning for a single-id map the profile asked for: $(cat "$T/err")"
}

# run_without_netns errno|kill|setns PROFILE: the sandbox (--verbose) under an outer filter that
# refuses a new network namespace with EPERM, kills who asks for one, or refuses joining a user
# namespace (sandbox-probe no-netns).
run_without_netns() {
  LAST_CMD="sandbox-probe no-netns $1 sandbox run --verbose $2"
  RC=0
  "$PROBE" no-netns "$1" "$SANDBOX" run --verbose "$2" -- /probe exit 0 </dev/null >"$T/out" 2>"$T/err" || RC=$?
  [ "$(val no_netns "$T/out" 2>/dev/null)" != unsupported ] || skip "the probe has no such filter for this architecture"
}

t_network_namespace_refused_is_reported() {
  # The network namespace is made beside pid 1's filesystem work, by a process of its own; when
  # the kernel refuses it, the run stops at once with that error (through pid 1), exit 125, and
  # the payload never runs. With mode slirp pid 1 needs it first, without slirp last.
  local p mode
  for mode in none slirp; do
    p=$(mkprofile "p-$mode" default '[user]' 'subordinate_ids = false' '[network]' "mode = \"$mode\"")
    run_without_netns errno "$p"
    expect_rc 125 "a run whose network namespace the kernel refuses (mode $mode)"
    grep -q '^sandbox: namespaces: unshare net: Operation not permitted$' "$T/err" ||
      fail "mode $mode: the refusal is not reported as such" "$(cat "$T/err")"
    grep -q '^hint: .*max_net_namespaces' "$T/err" || fail "mode $mode: no hint" "$(cat "$T/err")"
    # The errno travels with the report, from the process that met it through pid 1.
    grep -q "the child's errno: 1 (Operation not permitted)" "$T/err" || fail "mode $mode: the errno was lost" "$(cat "$T/err")"
    [ ! -s "$T/out" ] || fail "mode $mode: the payload ran" "$(cat "$T/out")"
  done
}

t_network_namespace_maker_refused_early_is_reported() {
  # The maker joins the sandbox's user namespace as soon as it starts, which may be before pid 1
  # hears that the maps are written (with newuidmap, long before): its failure is reported as
  # such. Single id only: under an outer filter no_new_privs is set and newuidmap cannot work,
  # and with a single id the failure mostly comes after the maps; the order where it comes
  # first (once lost as "pid 1 exited early") is pinned by the unit test of wait_for_maps.
  local p i
  p=$(mkprofile p default '[user]' 'subordinate_ids = false')
  for i in 1 2 3; do
    run_without_netns setns "$p"
    expect_rc 125 "a run whose network namespace maker cannot join the user namespace (run $i)"
    grep -q "^sandbox: namespaces: join the sandbox's user namespace: Operation not permitted\$" "$T/err" ||
      fail "run $i: the refusal is not reported as such" "$(cat "$T/err")"
    [ ! -s "$T/out" ] || fail "run $i: the payload ran" "$(cat "$T/out")"
  done
}

t_network_namespace_maker_killed_is_reported() {
  # Killed while making the network namespace (an outer filter that kills, the OOM killer), the
  # process that makes it tells nobody: the supervisor must notice at once, not wait out its
  # 30 s set-up deadline while pid 1 waits for the namespace (regression).
  local p
  p=$(mkprofile p default '[user]' 'subordinate_ids = false')
  run_without_netns kill "$p"
  expect_rc 125 "a run whose network namespace maker is killed"
  grep -q "^sandbox: namespaces: the process making the sandbox's network namespace was killed by signal $(kill -l SYS)\$" "$T/err" ||
    fail "the killed maker is not reported" "$(cat "$T/err")"
  [ ! -s "$T/out" ] || fail "the payload ran" "$(cat "$T/out")"
}
