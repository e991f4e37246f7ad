#!/bin/sh
# The guest's /init (busybox sh), put there by run.sh.
#
# Stage 1 copies the initramfs into a tmpfs and switch_roots into it: nothing can pivot_root away
# from the initramfs rootfs, and the sandbox does pivot_root. Stage 2 mounts the usual file
# systems, loads the modules, builds the cgroup delegation the way systemd does, then runs guest.sh
# (the tests) and powers off.
#
# Delegation (cgroup2 mounted with nsdelegate,memory_recursiveprot):
#   /sys/fs/cgroup                            +cpu +cpuset +io +memory +pids
#     user.slice                              +cpu +cpuset +io +memory +pids
#       user-1000.slice                       +cpu +cpuset +io +memory +pids
#         user@1000.service                   owned by sbuser (dir + delegatable files)
#           init.scope                        owned by sbuser (like systemd --user's own scope)
#       user-1001.slice                       +memory +pids (systemd's default for users)
#         user@1001.service                   owned by sbmin
#           init.scope                        owned by sbmin
#       user-1002.slice
#         session-1.scope                     root's: sbnone has no delegation
export PATH=/usr/bin:/usr/sbin

if [ "${1:-}" != stage2 ]; then
  mkdir -p /newroot
  mount -t tmpfs -o mode=0755 rootfs /newroot || exec sh
  for e in /* /.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    [ "$e" = /newroot ] && continue
    cp -a "$e" /newroot/
  done
  # Owned by root whatever the archive recorded (it may have been built without root).
  chown -Rh 0:0 /newroot
  chmod 4755 /newroot/usr/bin/newuidmap /newroot/usr/bin/newgidmap
  chmod 1777 /newroot/tmp /newroot/var/tmp
  while IFS=: read -r _ _ uid gid _ home _; do
    [ "$uid" -ge 1000 ] && [ "$uid" -lt 65534 ] && [ -d "/newroot$home" ] && chown -R "$uid:$gid" "/newroot$home"
  done </etc/passwd
  exec switch_root /newroot /init stage2
  echo "vm: switch_root failed" >/dev/console
  exec sh
fi

# ------------------------------------------------------------------ stage 2

ERRS=/run/vm/setup-errors
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run/vm
# devtmpfs has no /dev/fd (bash's <(...) needs it) nor /dev/std*
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts -o mode=0620,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
: >"$ERRS"
err() { echo "$*" >>"$ERRS"; }

dmesg -n 1 # console log level: only emergencies interleave with the results
hostname vm
ip link set lo up 2>/dev/null || err "ip link set lo up failed"

while read -r ko args; do
  [ -n "$ko" ] || continue
  # shellcheck disable=SC2086 # module arguments
  insmod "$ko" $args 2>>"$ERRS" || err "insmod $ko $args failed"
done </etc/vm/modules
# devtmpfs makes them root's, 0600: the unprivileged tests need them (tun for the network,
# the RAM disk for io.max).
if [ -c /dev/net/tun ]; then chmod 0666 /dev/net/tun; else err "/dev/net/tun is missing"; fi
if [ -b /dev/ram0 ]; then chmod 0666 /dev/ram0; else err "/dev/ram0 is missing (brd)"; fi
# The delegation below is built the way systemd builds it, so the guest says it is a systemd host
# (sd_booted() checks this directory): the tool's hints then name systemd's fixes.
mkdir -p /run/systemd/system

for u in 1000 1001 1002; do
  mkdir -p "/run/user/$u"
  chown "$u:$u" "/run/user/$u"
  chmod 0700 "/run/user/$u"
done

# ------------------------------------------------------------------ cgroups

CG=/sys/fs/cgroup
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 "$CG" || err "mounting cgroup2 failed"

cg_enable() { # cg_enable DIR CONTROLLER...: enable them for DIR's children
  d=$1
  shift
  for c in "$@"; do
    echo "+$c" >"$d/cgroup.subtree_control" || err "enabling $c in $d failed"
  done
}
delegate() { # delegate DIR UID: the directory and its delegatable files to the user, as systemd does
  chown "$2:$2" "$1" || err "chown $1 failed"
  for f in $(cat /sys/kernel/cgroup/delegate) cgroup.procs cgroup.subtree_control cgroup.threads; do
    [ -e "$1/$f" ] && { chown "$2:$2" "$1/$f" || err "chown $1/$f failed"; }
  done
}
mkcg() { mkdir -p "$1" || err "mkdir $1 failed"; }

cg_enable "$CG" cpu cpuset io memory pids
mkcg "$CG/user.slice"
cg_enable "$CG/user.slice" cpu cpuset io memory pids

for spec in "1000 cpu cpuset io memory pids" "1001 memory pids"; do
  set -- $spec # uid and controllers
  uid=$1
  shift
  slice=$CG/user.slice/user-$uid.slice
  mkcg "$slice"
  cg_enable "$slice" "$@"
  mkcg "$slice/user@$uid.service"
  delegate "$slice/user@$uid.service" "$uid"
  # systemd (>= 251) marks what it delegates, with trusted.delegate and, readable by the user,
  # user.delegate; the user's own app scopes stay unmarked.
  for x in trusted.delegate user.delegate; do
    /opt/sandbox/bin/sandbox-probe set-xattr "$slice/user@$uid.service" $x 1 >/dev/null ||
      err "marking user@$uid.service delegated ($x) failed"
  done
  mkcg "$slice/user@$uid.service/init.scope"
  delegate "$slice/user@$uid.service/init.scope" "$uid"
done
mkcg "$CG/user.slice/user-1002.slice/session-1.scope"

# ------------------------------------------------------------------ the tests

if [ -x /usr/bin/bash ]; then
  /usr/bin/bash /opt/sandbox/tests/vm/guest.sh
else
  echo "FAIL vm-setup: /usr/bin/bash is missing" >/dev/ttyS1
fi
sync
reboot -f
