# Defaults from design/SECURITY.md, each tried from inside: the attack must not get through.

need_python_inside() {
  [ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed (needed inside the sandbox)"
}

# Python run inside: prints NAME=ok or NAME=ERRNO-NAME for each call.
PY_HEADER='
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def report(name, r):
    e = ctypes.get_errno()
    print(name + "=" + ("ok" if r != -1 else errno.errorcode.get(e, str(e))), flush=True)
'

t_binary_not_visible() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /probe stat "$SANDBOX"
  expect_rc 0
  expect_kv exists 0
}

t_dev_minimal() {
  local p n want got
  p=$(mkprofile p default)
  for n in null zero full random urandom tty; do
    sb run "$p" -- /probe stat "/dev/$n"
    expect_rc 0
    expect_kv exists 1
    got=$(val type)
    "$PROBE" stat "/dev/$n" >"$T/host" 2>/dev/null
    want=$(val type "$T/host")
    expect_eq "type of /dev/$n (inside vs host)" "$want" "$got"
  done
  # device nodes work (not on a nodev mount)
  sb run "$p" -- /bin/sh -c 'echo x >/dev/null && head -c 4 /dev/zero | od -An -tx1'
  expect_rc 0
  expect_file_eq "writing /dev/null and reading /dev/zero" " 00 00 00 00" "$T/out"
  for n in kmsg mem port vda sda nvme0n1 loop0; do
    [ -e "/dev/$n" ] || continue
    sb run "$p" -- /probe stat "/dev/$n"
    expect_rc 0
    expect_kv exists 0 "$T/out"
  done
}

t_no_sys_by_default() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /probe stat /sys/kernel
  expect_rc 0
  expect_kv exists 0
}

t_proc_is_the_sandbox_pid_namespace() {
  local p got
  p=$(mkprofile p default)
  sb run "$p" -- /bin/ls /proc
  expect_rc 0
  got=$(grep -E '^[0-9]+$' "$T/out" | sort -n | tr '\n' ' ')
  expect_eq "pids in /proc (pid 1 and ls itself)" "1 2 " "$got"
  sb run "$p" -- /probe write /proc/sysrq-trigger
  expect_rc 0
  expect_kv_not write ok
}

# Terminal injection (CVE-2017-5226 and kin): whatever runs inside pushes input with TIOCSTI;
# the caller's shell, reading right after the sandbox ends, must not receive it.
# `script` gives the sandbox a real terminal as its caller's controlling terminal.
tiocsti_session() { # tiocsti_session REDIRECTIONS: output of the outer shell in $T/session
  local p=$1 redirect=$2
  command -v script >/dev/null || skip "script(1) from util-linux is not installed"
  # The sleep keeps script's stdin open while the outer shell waits for input. The outer shell
  # may be dash (no `read -t`): head under timeout --foreground reads the terminal instead.
  sleep 4 | timeout 20 script -qec "$SANDBOX run $p -- /probe tiocsti $redirect; \
    echo \"outer-read:[\$(timeout --foreground 2 head -n 1)]\"" /dev/null \
    >"$T/session" 2>&1
}

t_tiocsti_cannot_reach_callers_terminal_redirected() {
  local p
  p=$(mkprofile p default)
  tiocsti_session "$p" "</dev/null >$T/out 2>&1"
  grep -q 'outer-read:\[\]' "$T/session" || fail "input was injected into the caller's terminal: $(tr -d '\r' <"$T/session")"
  # No controlling terminal inside: /dev/tty cannot be opened at all.
  expect_kv devtty_open ENXIO
}

t_tiocsti_cannot_reach_callers_terminal_pty() {
  local p
  p=$(mkprofile p default)
  tiocsti_session "$p" ""
  grep -q 'outer-read:\[\]' "$T/session" || fail "input was injected into the caller's terminal: $(tr -d '\r' <"$T/session")"
  # Inside, the terminal is the sandbox's own pty: pushing input there only reaches the sandbox.
  grep -q 'devtty_tiocsti=' "$T/session" || fail "the probe did not run: $(tr -d '\r' <"$T/session")"
}

# Only fds that are terminals outside get the sandbox's pty: a redirected stderr stays a file.
t_pty_keeps_redirected_stderr() {
  local p
  p=$(mkprofile p default)
  command -v script >/dev/null || skip "script(1) from util-linux is not installed"
  sleep 2 | timeout 20 script -qec "$SANDBOX run $p -- /bin/sh -c 'echo to-stderr >&2; echo to-stdout' 2>$T/err.log" \
    /dev/null >"$T/session" 2>&1
  grep -qx to-stderr "$T/err.log" || fail "stderr redirected to a file did not get the payload's stderr (got: $(cat "$T/err.log"))"
  grep -q to-stdout "$T/session" || fail "stdout did not reach the terminal"
}

# A payload that never reads its terminal must not stall its own output (pty relay buffering).
t_pty_unread_input_does_not_block_output() {
  local p
  p=$(mkprofile p default)
  command -v script >/dev/null || skip "script(1) from util-linux is not installed"
  RC=0
  yes aaaaaaa | head -c 300000 | timeout 30 script -qec \
    "$SANDBOX run $p -- /bin/sh -c 'sleep 1; seq 1 200000 | tail -n 1'" /dev/null >"$T/session" 2>&1 || RC=$?
  [ "$RC" -eq 0 ] || fail "the sandbox did not finish (rc $RC): its output stalled behind unread input"
  grep -q 200000 "$T/session" || fail "the payload's output did not arrive"
}

# Sensitive /proc (SECURITY.md): host-kernel files hidden under /dev/null, /proc/sys and friends
# read-only, as podman does.
t_proc_sensitive_paths_masked() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /bin/sh -c '/probe stat /proc/keys; /probe stat /proc/timer_list;
    /probe write /proc/sys/kernel/hostname; wc -c </proc/keys | tr -d " " | sed "s/^/keys_bytes=/";
    awk "\$5 == \"/proc/sys\" { split(\$6, o, \",\"); print \"procsys=\" o[1] }" /proc/self/mountinfo'
  expect_rc 0
  [ "$(grep -c '^type=chr$' "$T/out")" -eq 2 ] || fail "/proc/keys and /proc/timer_list are not covered by /dev/null: $(grep type= "$T/out")"
  expect_kv keys_bytes 0
  expect_kv write EROFS
  expect_kv procsys ro
}

# Binds are nodev (issue 8 A.9), as bubblewrap makes them: a host device node reached through a
# bind opens nothing, unless the profile marks the bind as devices.
t_bind_is_nodev() {
  local p
  p=$(mkprofile p default '[[mount]]' 'type = "bind"' 'source = "/dev/null"' 'target = "/tmp/null"')
  sb run "$p" -- /probe open /tmp/null
  expect_rc 0
  expect_kv open EACCES
}

t_bind_marked_devices_keeps_device_nodes() {
  local p
  p=$(mkprofile p default '[[mount]]' 'type = "bind"' 'source = "/dev/null"' 'target = "/tmp/null"' 'devices = true')
  sb run "$p" -- /probe open /tmp/null
  expect_rc 0
  expect_kv open ok
}

# The rest of podman's masked /proc list (issue 8 A.12): /proc/interrupts and friends show nothing.
t_proc_podman_masked_paths() {
  local p
  p=$(mkprofile p default)
  sb run "$p" -- /bin/sh -c 'for f in interrupts keys timer_list kcore sched_debug; do
      [ -e /proc/$f ] || continue; printf "%s=%s\n" "$f" "$(wc -c </proc/$f | tr -d " ")"; done'
  expect_rc 0
  grep -q '^interrupts=' "$T/out" || fail "/proc/interrupts is missing: $(cat "$T/out")"
  local line
  while read -r line; do
    [ "${line#*=}" = 0 ] || fail "/proc/${line%%=*} shows ${line#*=} bytes of the host kernel"
  done <"$T/out"
}

# A profile that binds the host's sysfs gets podman's /sys masks (firmware, fs/selinux, dev/block).
t_sys_bind_masks_podman_paths() {
  [ -d /sys/dev/block ] || skip "no /sys/dev/block on this host"
  local p
  p=$(mkprofile p default '[[mount]]' 'type = "ro-bind"' 'source = "/sys"')
  sb run "$p" -- /bin/sh -c 'printf "block=%s\n" "$(ls -A /sys/dev/block | wc -l)";
      printf "firmware=%s\n" "$(ls -A /sys/firmware | wc -l)"; printf "kernel=%s\n" "$(ls -A /sys/kernel | wc -l)"'
  expect_rc 0
  expect_kv block 0
  expect_kv firmware 0
  expect_kv_not kernel 0
}

# Bind sources are opened without following symlinks (issue 8 A.3): a payload that can write
# where a later run's source lives must not redirect that bind by swapping in a link.
t_bind_source_symlink_refused() {
  mkdir -p "$T/real/sub" "$T/work"
  ln -s "$T/real" "$T/work/cache"
  local p
  p=$(mkprofile p default '[[mount]]' 'type = "bind"' "source = \"$T/work/cache\"" 'target = "/cache"')
  sb run "$p" -- /probe write /cache/planted
  expect_rc 125
  [ ! -e "$T/real/planted" ] || fail "the bind followed the link and wrote $T/real/planted"
  grep -q "$T/work/cache" "$T/err" || fail "the error does not name the source: $(cat "$T/err")"
  grep -q 'follow_symlinks = true' "$T/err" || fail "the error does not name the fix: $(cat "$T/err")"
  # An intermediate component counts too.
  p=$(mkprofile p2 default '[[mount]]' 'type = "bind"' "source = \"$T/work/cache/sub\"" 'target = "/cache"')
  sb run "$p" -- /probe write /cache/planted
  expect_rc 125
  [ ! -e "$T/real/sub/planted" ] || fail "the bind followed an intermediate link"
}

t_bind_source_follow_symlinks_when_asked() {
  mkdir -p "$T/real"
  ln -s "$T/real" "$T/link"
  local p
  p=$(mkprofile p default '[[mount]]' 'type = "bind"' "source = \"$T/link\"" 'target = "/cache"' 'follow_symlinks = true')
  sb run --dry-run "$p"
  expect_rc 0
  grep -q "source follows symlinks: now $T/real" "$T/out" || fail "--dry-run does not say where the source points: $(grep cache "$T/out")"
  sb run "$p" -- /probe write /cache/made
  expect_rc 0
  expect_kv write ok
  [ -e "$T/real/made" ] || fail "the write did not reach $T/real"
}

# Nothing is created in a host directory (issue 8 A.8): a file mount on a missing ~/.bashrc, a
# tmpfs on a missing ~/.config/autostart, a dir and a symlink inside a writable bind of "home"
# are made in a read-only mirror of the directory that holds them. Inside, the existing entries
# are there and writable as before; after the run the host's directory is as it was, apart
# from the payload's own write.
host_listing() { (cd "$1" && find . -printf '%p %y %m\n' | sort); }

t_missing_mount_points_in_bind_are_mirrored() {
  mkdir -p "$T/home/sub"
  echo data >"$T/home/f"
  ln -s f "$T/home/l"
  # Missing for the plan (it follows links), so the profile's file is made in its place: the
  # mirror does not show the dangling link.
  ln -s nowhere "$T/home/.profile"
  local p before
  before=$(host_listing "$T/home")
  p=$(mkprofile p default '[[mount]]' 'type = "bind"' "source = \"$T/home\"" 'target = "/home/u"' \
    '[[mount]]' 'type = "file"' 'target = "/home/u/.bashrc"' 'contents = "echo hi"' \
    '[[mount]]' 'type = "file"' 'target = "/home/u/.profile"' 'contents = "echo profile"' \
    '[[mount]]' 'type = "tmpfs"' 'target = "/home/u/.config/autostart"' \
    '[[mount]]' 'type = "dir"' 'target = "/home/u/sub/new"' \
    '[[mount]]' 'type = "symlink"' 'source = "../f"' 'target = "/home/u/sub/link"')
  sb run --dry-run "$p"
  expect_rc 0
  grep -q "tmpfs /home/u (read-only, nosuid, nodev) (mirror of $T/home: .*/home/u/.bashrc, /home/u/.profile, /home/u/.config/autostart" "$T/out" ||
    fail "--dry-run does not say how the targets are reserved: $(grep /home/u "$T/out")"
  sb run "$p" -- /bin/sh -c 'echo bashrc=$(cat /home/u/.bashrc); echo profile=$(cat /home/u/.profile)
    echo l=$(cat /home/u/l); echo link=$(cat /home/u/sub/link)
    echo changed >/home/u/f; echo existing=$?; touch /home/u/new 2>/dev/null; echo create=$?
    touch /home/u/.config/autostart/x; echo autostart=$?; [ -d /home/u/sub/new ]; echo dir=$?'
  expect_rc 0
  expect_kv bashrc "echo hi"
  expect_kv profile "echo profile"
  expect_kv l data
  expect_kv link data
  expect_kv existing 0
  expect_kv_not create 0
  expect_kv autostart 0
  expect_kv dir 0
  grep -q "warning: /home/u is shown through a read-only mirror of $T/home" "$T/err" ||
    fail "the run does not warn that /home/u is mirrored: $(cat "$T/err")"
  [ "$(cat "$T/home/f")" = changed ] || fail "the payload's write to an existing file did not reach the host"
  echo data >"$T/home/f"
  [ "$(host_listing "$T/home")" = "$before" ] ||
    fail "the host directory changed: $(diff <(echo "$before") <(host_listing "$T/home") | tr '\n' ' ')"
  # Once the host has them, nothing is mirrored: /home/u stays writable, and nothing is added.
  touch "$T/home/.bashrc"
  mkdir -p "$T/home/.config/autostart" "$T/home/sub/new"
  before=$(host_listing "$T/home")
  p=$(mkprofile q default '[[mount]]' 'type = "bind"' "source = \"$T/home\"" 'target = "/home/u"' \
    '[[mount]]' 'type = "file"' 'target = "/home/u/.bashrc"' 'contents = "echo hi"' \
    '[[mount]]' 'type = "tmpfs"' 'target = "/home/u/.config/autostart"' \
    '[[mount]]' 'type = "dir"' 'target = "/home/u/sub/new"')
  sb run "$p" -- /bin/sh -c 'echo bashrc=$(cat /home/u/.bashrc); touch /home/u/new; echo create=$?'
  expect_rc 0
  expect_kv bashrc "echo hi"
  expect_kv create 0
  ! grep -q "mirror" "$T/err" || fail "a mirror was made although nothing is missing: $(cat "$T/err")"
  rm "$T/home/new"
  [ "$(host_listing "$T/home")" = "$before" ] || fail "the host directory changed: $(host_listing "$T/home" | tr '\n' ' ')"
}

# A mirror shows a read-only bind's entries read-only, and what was hidden stays hidden: the
# state directory's cover inside a bind of the runtime directory is carried into the mirror.
t_mirror_keeps_read_only_and_covers() {
  mkdir -p "$T/ro/d"
  mkdir -p -m 0700 "$XDG_RUNTIME_DIR/sandbox"
  echo data >"$T/ro/f"
  local p
  p=$(mkprofile p default '[[mount]]' 'type = "ro-bind"' "source = \"$T/ro\"" 'target = "/ro"' \
    '[[mount]]' 'type = "file"' 'target = "/ro/new"' 'contents = "x"' \
    '[[mount]]' 'type = "bind"' "source = \"$XDG_RUNTIME_DIR\"" 'target = "/xdg"' 'allow_sensitive = true' \
    '[[mount]]' 'type = "file"' 'target = "/xdg/planted"' 'contents = "x"')
  sb run "$p" -- /bin/sh -c 'echo f=$(cat /ro/f); echo x >/ro/f 2>/dev/null; echo write_f=$?; touch /ro/d/x 2>/dev/null; echo write_d=$?
    echo new=$(cat /ro/new); echo seen=$(ls -A /xdg/sandbox | wc -l); touch /xdg/sandbox/forged 2>/dev/null; echo forge=$?'
  expect_rc 0
  expect_kv f data
  expect_kv_not write_f 0
  expect_kv_not write_d 0
  expect_kv new x
  expect_kv seen 0
  expect_kv_not forge 0
  [ "$(cat "$T/ro/f")" = data ] && [ ! -e "$T/ro/d/x" ] && [ ! -e "$T/ro/new" ] || fail "the read-only bind was written through the mirror"
  [ ! -e "$XDG_RUNTIME_DIR/planted" ] && [ ! -e "$XDG_RUNTIME_DIR/sandbox/forged" ] || fail "the mirror let the sandbox write into the runtime directory"
}

# Propagation: the "host" is a user and mount namespace of this user's own (unshare -Urm), in
# which $T/src is a shared mount and the sandbox runs (as root of that namespace). The payload
# waits for the host to say it mounted a tmpfs at $T/src/sub, then looks there and writes.
later_mount_script='import errno, os, time
print("ready", flush=True)
for _ in range(200):
    if os.path.exists("/view/mounted"): break
    time.sleep(0.05)
print("mounted=" + ("yes" if os.path.exists("/view/mounted") else "no"))
print("seen=" + ("yes" if os.path.exists("/view/sub/marker") else "no"))
try:
    with open("/view/sub/new", "w") as f: f.write("x")
    print("write=ok")
except OSError as e:
    print("write=" + errno.errorcode[e.errno])'

run_with_later_host_mount() { # run_with_later_host_mount PROFILE: $T/out, $T/err, $RC
  command -v unshare >/dev/null || skip "no unshare(1)"
  unshare -Urm true 2>/dev/null || skip "unshare -Urm is refused here"
  [ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed (needed inside the sandbox)"
  mkdir -p "$T/src/sub"
  LAST_CMD="unshare -Urm sandbox run $1"
  RC=0
  unshare -Urm bash -c '
    set -e
    mount --bind "$1/src" "$1/src"
    mount --make-shared "$1/src"
    "$2" run "$3" -- /usr/bin/python3 -I -c "$4" >"$1/out" 2>"$1/err" </dev/null &
    pid=$!
    for i in $(seq 100); do grep -q "^ready" "$1/out" && break; sleep 0.1; done
    mount -t tmpfs -o mode=0777 tmpfs "$1/src/sub"
    echo hi >"$1/src/sub/marker"
    touch "$1/src/mounted"
    wait $pid' _ "$T" "$SANDBOX" "$1" "$later_mount_script" || RC=$?
}

t_bind_slave_shows_later_host_mounts() {
  local p
  p=$(mkprofile p default '[[mount]]' 'type = "bind"' "source = \"$T/src\"" 'target = "/view"' 'propagation = "slave"')
  run_with_later_host_mount "$p"
  expect_rc 0
  expect_kv mounted yes
  expect_kv seen yes
  expect_kv write ok
}

t_bind_private_hides_later_host_mounts() {
  local p
  p=$(mkprofile p default '[[mount]]' 'type = "bind"' "source = \"$T/src\"" 'target = "/view"')
  run_with_later_host_mount "$p"
  expect_rc 0
  expect_kv mounted yes
  expect_kv seen no
}

# A mount the host makes later arrives with the host's flags, writable, and would cover whatever
# the sandbox mounted below it: a read-only slave bind, and anything inside a slave bind, are
# refused before anything runs.
t_bind_slave_refusals() {
  local p
  mkdir -p "$T/src"
  p=$(mkprofile ro default '[[mount]]' 'type = "ro-bind"' "source = \"$T/src\"" 'target = "/view"' 'propagation = "slave"')
  sb run "$p"
  expect_rc 125 "a read-only slave bind"
  grep -q 'propagation = "slave" needs a writable bind, not ro-bind' "$T/err" ||
    fail "no refusal of a read-only slave bind" "$(cat "$T/err")"
  p=$(mkprofile inside default '[[mount]]' 'type = "bind"' "source = \"$T/src\"" 'target = "/view"' 'propagation = "slave"' \
    '[[mount]]' 'type = "tmpfs"' 'target = "/view/secret"')
  sb run "$p"
  expect_rc 125 "a tmpfs inside a slave bind"
  grep -q '/view/secret lies inside the bind at /view, whose propagation is "slave"' "$T/err" ||
    fail "no refusal of a cover inside a slave bind" "$(cat "$T/err")"
  [ ! -s "$T/out" ] || fail "the payload ran" "$(cat "$T/out")"
}

# `shell` makes the current directory writable (issue 8 A.6): started in /tmp or in the home
# directory it is refused, with the reason and the override, instead of exposing all of it.
t_shell_refuses_writable_tmp_and_home() {
  local p dir
  p=$(mkprofile p shell)
  for dir in /tmp "$HOME"; do
    sb_in "$dir" run "$p" -- /probe write "$dir/planted-by-sandbox-$$"
    [ ! -e "$dir/planted-by-sandbox-$$" ] || { rm -f "$dir/planted-by-sandbox-$$"; fail "the sandbox wrote into $dir"; }
    expect_rc 125 "shell started in $dir"
    grep -q "refusing a writable bind of $dir" "$T/err" || fail "the error does not say why: $(cat "$T/err")"
    grep -q 'allow_sensitive = true' "$T/err" || fail "the error does not name the override: $(cat "$T/err")"
  done
}
