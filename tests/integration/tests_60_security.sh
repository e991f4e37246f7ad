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
