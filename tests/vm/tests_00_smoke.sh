# Smoke tests of the guest itself: delegation as systemd builds it, the sandbox running, devices.

# sbuser starts in its delegated cgroup, which it owns and which has every controller.
t_smoke_delegated_cgroup() {
  local want=/user.slice/user-1000.slice/user@1000.service got
  got=$(cg_of) || fail "no 0:: line in /proc/self/cgroup"
  [ "$got" = "$want" ] || [ "$got" = "$want/init.scope" ] ||
    fail "/proc/self/cgroup: expected 0::$want (or its init.scope), got 0::$got"
  expect_eq "VM_CG_DELEGATED" "$CGROOT$want" "$VM_CG_DELEGATED"
  expect_eq "VM_CG" "$CGROOT$got" "$VM_CG"
  expect_eq "owner of $want" 1000 "$(stat -c %u "$VM_CG_DELEGATED")"
  expect_eq "owner of $want/cgroup.procs" 1000 "$(stat -c %u "$VM_CG_DELEGATED/cgroup.procs")"
  expect_eq "owner of $want/cgroup.subtree_control" 1000 \
    "$(stat -c %u "$VM_CG_DELEGATED/cgroup.subtree_control")"
  expect_eq "$want/cgroup.controllers" "cpu cpuset io memory pids" "$(cg_controllers "$VM_CG_DELEGATED")"
  # Its own limits stay root's.
  [ -w "$VM_CG_DELEGATED/memory.max" ] && fail "$want/memory.max is writable by the user"
  # It can make and remove child cgroups.
  mkdir "$VM_CG_DELEGATED/smoke" || fail "mkdir in $want failed"
  rmdir "$VM_CG_DELEGATED/smoke" || fail "rmdir in $want failed"
}

# The sandbox works in the guest: user namespace, newuidmap with the subordinate range.
t_smoke_sandbox_runs() {
  need_subids
  sb run default -- /bin/true
  expect_rc 0 "sandbox run default -- /bin/true"
  sb run default -- /bin/sh -c 'cat /proc/self/uid_map'
  expect_rc 0 "sandbox run default -- cat /proc/self/uid_map"
  local start count
  read -r start count <<<"$SUBUID"
  awk -v s="$start" -v c="$count" '$2 == s && $3 == c { found = 1 } END { exit !found }' "$T/out" ||
    fail "uid_map has no line for the subordinate range $start $count"
  awk '$1 == 0 && $2 == 1000 && $3 == 1 { found = 1 } END { exit !found }' "$T/out" ||
    fail "uid_map does not map 0 to 1000"
}

# systemd's default delegation: memory and pids only.
tmin_smoke_controllers() {
  local want=$CGROOT/user.slice/user-1001.slice/user@1001.service
  expect_eq "VM_CG_DELEGATED" "$want" "$VM_CG_DELEGATED"
  expect_eq "owner of user@1001.service" 1001 "$(stat -c %u "$want")"
  expect_file_eq "user@1001.service/cgroup.controllers" "memory pids" "$want/cgroup.controllers"
}

# No delegation: the user's cgroup is root's.
tnone_smoke_not_delegated() {
  local dir
  dir=$(cg_dir) || fail "no 0:: line in /proc/self/cgroup"
  expect_eq "cgroup" "$CGROOT/user.slice/user-1002.slice/session-1.scope" "$dir"
  expect_eq "VM_CG_DELEGATED" "" "$VM_CG_DELEGATED"
  [ -w "$dir" ] && fail "$dir is writable by sbnone"
  [ -w "$dir/cgroup.procs" ] && fail "$dir/cgroup.procs is writable by sbnone"
  mkdir "$dir/x" 2>/dev/null && fail "sbnone could mkdir in $dir"
  return 0
}

# The modules: brd's /dev/ram0 (major 1) and tun's /dev/net/tun open to all, overlay registered.
t_smoke_devices() {
  [ -b /dev/ram0 ] || fail "/dev/ram0 is not a block device" "$(ls -l /dev/ram* 2>&1 | head -n 3)"
  expect_eq "major:minor of /dev/ram0 (hex)" "1:0" "$(stat -c %t:%T /dev/ram0)"
  [ -r /dev/ram0 ] && [ -w /dev/ram0 ] || fail "/dev/ram0 is not readable and writable"
  [ -c /dev/net/tun ] || fail "/dev/net/tun is missing"
  [ -r /dev/net/tun ] && [ -w /dev/net/tun ] || fail "/dev/net/tun is not readable and writable"
  grep -qw overlay /proc/filesystems || fail "overlay is not in /proc/filesystems"
}
