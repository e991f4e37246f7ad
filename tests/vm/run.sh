#!/usr/bin/env bash
# cgroup v2 tests in a qemu guest: run.sh STAGE [TEST-NAME-OR-GLOB...]
#
# Boots Debian's own kernel (downloaded once with apt-get download, cached) with a busybox
# initramfs holding STAGE (bin/sandbox, bin/sandbox-probe, share/sandbox/profiles) at /opt/sandbox
# and this directory at /opt/sandbox/tests/vm. The guest delegates cgroups the way systemd does and
# runs the test functions of tests_*.sh as unprivileged users (see README.md beside this file).
#
# Prints "PASS name", "FAIL name: reason" (details indented), "SKIP name: reason" per test, and ends
# with exactly the guest's "vm: N passed, N failed, N skipped" line, or a "FAIL vm: ..." line when
# the guest did not finish. Exits 1 when anything failed. Run as root; without root and with
# something missing it prints "SKIP vm: reason" and exits 0.
#
# Environment:
#   SANDBOX_VM_CACHE         kernel cache (default /var/cache/sandbox-vm)
#   SANDBOX_VM_TIMEOUT       whole-run limit in seconds, then qemu is killed (default 900)
#   SANDBOX_VM_TEST_TIMEOUT  per-test limit inside the guest (default 120; 600 for a script)
#   SANDBOX_VM_MEM           guest memory in MiB (default 1024)
#   SANDBOX_VM_SMP           guest CPUs (default 2)
#   SANDBOX_VM_PLACEMENT     where a test's process starts (see guest.sh): service (default),
#                            init.scope, or a path under /sys/fs/cgroup with %U for the uid
#   SANDBOX_VM_SCRIPT        run this script as sbuser instead of the tests, printing its output
#   SANDBOX_VM_CONSOLE=1     print the guest's kernel console at the end
#   SANDBOX_VM_KVM=1         try KVM first (off by default: TCG is what was measured)
set -u

VM_SRC=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd) || exit 1
CACHE=${SANDBOX_VM_CACHE:-/var/cache/sandbox-vm}
VM_TIMEOUT=${SANDBOX_VM_TIMEOUT:-900}
MEM=${SANDBOX_VM_MEM:-1024}
SMP=${SANDBOX_VM_SMP:-2}
SCRIPT=${SANDBOX_VM_SCRIPT:-}
if [ -n "$SCRIPT" ]; then TEST_TIMEOUT=${SANDBOX_VM_TEST_TIMEOUT:-600}; else TEST_TIMEOUT=${SANDBOX_VM_TEST_TIMEOUT:-120}; fi
PLACEMENT=${SANDBOX_VM_PLACEMENT:-service}
# Modules loaded in the guest, in this order (their dependencies first), with their arguments.
MODULES=("brd rd_nr=1 rd_size=65536" "tun" "overlay")
KCMDLINE="console=ttyS0 quiet loglevel=3 panic=-1 cgroup_no_v1=all"

T0=${EPOCHREALTIME/[.,]/}
QPID=
TMP=

skip_vm() { echo "SKIP vm: $*"; exit 0; }
die() { # die REASON [DETAIL...]: the harness itself failed
  echo "FAIL vm: $1"
  exit 1
}
is_root() { [ "$(id -u)" -eq 0 ]; }
elapsed() { # elapsed START-USEC: seconds since, one decimal
  local d=$((${EPOCHREALTIME/[.,]/} - $1))
  printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000))
}

cleanup() {
  if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
    kill -TERM "$QPID" 2>/dev/null
    local i
    for ((i = 0; i < 20; i++)); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$QPID" 2>/dev/null
    wait "$QPID" 2>/dev/null
  fi
  [ -n "$TMP" ] && rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ arguments

STAGE_ARG=${1:-}
if [ -z "$STAGE_ARG" ] || [ "$STAGE_ARG" = -h ] || [ "$STAGE_ARG" = --help ]; then
  echo "usage: run.sh STAGE [TEST-NAME-OR-GLOB...]" >&2
  exit 2
fi
shift
STAGE=$(cd "$STAGE_ARG" 2>/dev/null && pwd) || die "stage directory $STAGE_ARG does not exist"
for f in bin/sandbox bin/sandbox-probe; do
  [ -f "$STAGE/$f" ] || die "$STAGE/$f is missing (a stage holds bin/sandbox, bin/sandbox-probe, share/sandbox/profiles)"
done
[ -d "$STAGE/share/sandbox/profiles" ] || die "$STAGE/share/sandbox/profiles is missing"
if [ -n "$SCRIPT" ]; then
  [ -f "$SCRIPT" ] || die "SANDBOX_VM_SCRIPT=$SCRIPT does not exist"
fi

# ------------------------------------------------------------------ host tools

APT_UPDATED=0
apt_update_once() {
  [ "$APT_UPDATED" -eq 1 ] && return 0
  APT_UPDATED=1
  apt-get update -qq >/dev/null 2>&1 || echo "vm-info: apt-get update failed" >&2
}
apt_install() { # apt_install PKG...: update only when the install fails without it
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 && return 0
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}

is_static() { ! ldd "$1" >/dev/null 2>&1; }

need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
{ [ -x /usr/bin/newuidmap ] && [ -x /usr/bin/newgidmap ]; } || need_pkgs+=(uidmap)
[ -x /usr/bin/setpriv ] || need_pkgs+=(util-linux)
command -v flock >/dev/null || need_pkgs+=(util-linux)
[ -x /usr/bin/timeout ] || need_pkgs+=(coreutils)
command -v ldd >/dev/null || need_pkgs+=(libc-bin)
command -v apt-get >/dev/null || skip_vm "apt-get is missing: this harness needs Debian"
# A static busybox: /bin/busybox from busybox-static, unless the dynamic busybox package is
# installed (the two conflict: then busybox-static is unpacked into the cache instead).
BUSYBOX=
if [ -x /bin/busybox ] && is_static /bin/busybox; then
  BUSYBOX=/bin/busybox
elif [ -x "$CACHE/busybox-static/bin/busybox" ]; then
  BUSYBOX=$CACHE/busybox-static/bin/busybox
elif ! dpkg -s busybox >/dev/null 2>&1; then
  need_pkgs+=(busybox-static)
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  is_root || skip_vm "missing ${need_pkgs[*]} (run as root to install them)"
  apt_install "${need_pkgs[@]}" || die "apt-get install ${need_pkgs[*]} failed"
fi
if [ -z "$BUSYBOX" ] && [ -x /bin/busybox ] && is_static /bin/busybox; then BUSYBOX=/bin/busybox; fi

# ------------------------------------------------------------------ the cache

mkdir -p "$CACHE" 2>/dev/null
CACHE_RW=0
[ -d "$CACHE" ] && [ -w "$CACHE" ] && CACHE_RW=1
if [ "$CACHE_RW" -eq 1 ]; then
  chmod 755 "$CACHE" 2>/dev/null # apt-get download runs as _apt where it can
  exec 9>"$CACHE/.lock" && flock 9 # one preparer at a time; released at exit
fi

deb_fetch() { # deb_fetch PKG DESTDIR: apt-get download PKG into DESTDIR; the .deb's path on stdout
  local dl
  dl=$(mktemp -d "$CACHE/.dl.XXXXXX") || return 1
  chmod 755 "$dl"
  if ! (cd "$dl" && apt-get download -qq "$1" >/dev/null 2>&1); then
    if is_root; then
      apt_update_once
      (cd "$dl" && apt-get download -qq "$1" >/dev/null 2>&1) || { rm -rf "$dl"; return 1; }
    else
      rm -rf "$dl"
      return 1
    fi
  fi
  local deb
  deb=$(ls "$dl"/*.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] || { rm -rf "$dl"; return 1; }
  mv "$deb" "$2/" && rm -rf "$dl" && echo "$2/$(basename "$deb")"
}

if [ -z "$BUSYBOX" ]; then
  [ "$CACHE_RW" -eq 1 ] || skip_vm "no static busybox and $CACHE is not writable"
  mkdir -p "$CACHE/busybox-static.tmp"
  bdeb=$(deb_fetch busybox-static "$CACHE/busybox-static.tmp") || die "apt-get download busybox-static failed"
  dpkg -x "$bdeb" "$CACHE/busybox-static.tmp/x" && mkdir -p "$CACHE/busybox-static/bin" &&
    bb=$(find "$CACHE/busybox-static.tmp/x" -name busybox -type f | head -n 1) && [ -n "$bb" ] &&
    cp "$bb" "$CACHE/busybox-static/bin/busybox" || die "unpacking busybox-static failed"
  rm -rf "$CACHE/busybox-static.tmp"
  BUSYBOX=$CACHE/busybox-static/bin/busybox
fi

# The kernel: the versioned package linux-image-amd64 depends on.
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
KPKG=$(kernel_pkg)
if [ -z "$KPKG" ] && is_root; then
  apt_update_once
  KPKG=$(kernel_pkg)
fi
# The cache entry is named after the package (its name changes with the kernel's ABI).
KEY=$KPKG
if [ -z "$KEY" ] || { [ ! -f "$CACHE/$KEY/.complete" ] && [ "$CACHE_RW" -eq 0 ]; }; then
  # Offline or without apt lists: any complete cached kernel will do.
  cached=$(ls -dt "$CACHE"/linux-image-*/.complete 2>/dev/null | head -n 1)
  if [ -n "$cached" ]; then
    KEY=$(basename "$(dirname "$cached")")
  elif [ -z "$KEY" ]; then
    is_root || skip_vm "no cached kernel in $CACHE and apt-cache names no linux-image package"
    die "apt-cache depends linux-image-amd64 names no versioned kernel package"
  else
    skip_vm "no cached kernel in $CACHE and it is not writable"
  fi
fi
KDIR=$CACHE/$KEY

# vmlinux: the bzImage's xz payload uncompressed (qemu boots the ELF directly through PVH,
# which saves the guest ~3 s of decompression under TCG).
extract_vmlinux() { # extract_vmlinux BZIMAGE OUT
  local off
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$1" | head -n 1 | cut -d: -f1)
  [ -n "$off" ] || return 1
  tail -c +$((off + 1)) "$1" | xz -dc --single-stream >"$2.tmp" 2>/dev/null
  [ -s "$2.tmp" ] && [ "$(head -c 4 "$2.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] && mv "$2.tmp" "$2"
}

ko_depends() { # ko_depends KO: the names in its modinfo depends= (comma separated)
  if command -v modinfo >/dev/null 2>&1; then
    modinfo -F depends "$1" 2>/dev/null
  else
    tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | head -n 1
  fi
}

# Unpacks the kernel package and keeps vmlinux and the modules we want (with their dependencies).
unpack_kernel() {
  local x=$KDIR/x deb
  deb=$(ls "$KDIR"/*.deb 2>/dev/null | head -n 1)
  if [ -z "$deb" ]; then
    echo "vm-info: downloading $KPKG (once; cached in $CACHE)" >&2
    deb=$(deb_fetch "$KPKG" "$KDIR") || return 1
  fi
  rm -rf "$x"
  dpkg -x "$deb" "$x" || return 1
  local kver moddir=$x/lib/modules
  [ -d "$moddir" ] || moddir=$x/usr/lib/modules
  kver=$(ls "$moddir" 2>/dev/null | head -n 1)
  [ -n "$kver" ] || return 1
  echo "$kver" >"$KDIR/kver"
  if [ ! -f "$KDIR/vmlinux" ]; then
    # Not xz-compressed: boot the bzImage itself (slower: the guest decompresses it).
    extract_vmlinux "$x/boot/vmlinuz-$kver" "$KDIR/vmlinux" ||
      cp "$x/boot/vmlinuz-$kver" "$KDIR/vmlinux" || return 1
  fi
  mkdir -p "$KDIR/modules"
  local todo=() m ko
  for m in "${MODULES[@]}"; do todo+=("${m%% *}"); done
  while [ ${#todo[@]} -gt 0 ]; do
    m=${todo[0]}
    todo=("${todo[@]:1}")
    m=${m//-/_}
    [ -f "$KDIR/modules/$m.ko" ] && continue
    ko=$(find "$moddir/$kver" \( -name "$m.ko*" -o -name "${m//_/-}.ko*" \) | head -n 1)
    [ -n "$ko" ] || { echo "vm-info: module $m not found in $KPKG" >&2; return 1; }
    case $ko in
      *.ko) cp "$ko" "$KDIR/modules/$m.ko" ;;
      *.ko.xz) xz -dc "$ko" >"$KDIR/modules/$m.ko" ;;
      *.ko.zst) zstd -dc "$ko" >"$KDIR/modules/$m.ko" ;;
      *.ko.gz) gzip -dc "$ko" >"$KDIR/modules/$m.ko" ;;
      *) return 1 ;;
    esac || return 1
    local d
    for d in $(ko_depends "$KDIR/modules/$m.ko" | tr ',' ' '); do todo+=("$d"); done
  done
  rm -rf "$x"
}

modules_complete() {
  local m
  for m in "${MODULES[@]}"; do
    m=${m%% *}
    [ -f "$KDIR/modules/${m//-/_}.ko" ] || return 1
  done
}

T_PREP=${EPOCHREALTIME/[.,]/}
if [ ! -f "$KDIR/.complete" ] || [ ! -s "$KDIR/vmlinux" ] || ! modules_complete; then
  [ "$CACHE_RW" -eq 1 ] || skip_vm "$CACHE is not writable and holds no complete kernel"
  mkdir -p "$KDIR" && chmod 755 "$KDIR"
  rm -f "$KDIR/.complete"
  if ! unpack_kernel; then
    rm -rf "$KDIR/x"
    is_root || skip_vm "preparing the kernel $KEY in $KDIR failed (apt-get download needs root here?)"
    die "preparing the kernel $KEY in $KDIR failed"
  fi
  touch "$KDIR/.complete"
  # Older kernels are of no more use.
  for old in "$CACHE"/linux-image-*; do
    [ "$old" = "$KDIR" ] || rm -rf -- "$old"
  done
fi
KVER=$(cat "$KDIR/kver")
[ -f "$CACHE/.lock" ] && exec 9>&- # the cache is ready: let others in

# Load order: dependencies first.
MOD_ORDER=()
mod_add() { # mod_add NAME [ARGS...]
  local m=${1//-/_} d e
  shift
  for e in "${MOD_ORDER[@]}"; do [ "${e%% *}" = "$m.ko" ] && return 0; done
  for d in $(ko_depends "$KDIR/modules/$m.ko" | tr ',' ' '); do mod_add "$d"; done
  MOD_ORDER+=("$(echo "$m.ko $*" | sed 's/ *$//')")
}
for m in "${MODULES[@]}"; do
  # shellcheck disable=SC2086 # a module name and its arguments
  mod_add $m
done

# ------------------------------------------------------------------ the initramfs

# Left by a run that was killed outright (its pid is gone): remove.
for d in /tmp/sandbox-vm.*; do
  [ -O "$d" ] && [ -f "$d/.pid" ] || continue
  kill -0 "$(cat "$d/.pid")" 2>/dev/null || rm -rf -- "$d"
done
TMP=$(mktemp -d /tmp/sandbox-vm.XXXXXX) || die "mktemp failed"
echo $$ >"$TMP/.pid"
R=$TMP/root

mkdir -p "$R"/usr/{bin,sbin,lib,lib64} "$R"/{proc,sys,dev,tmp,run,etc,home,root,opt,mnt} "$R/var/tmp" \
  "$R/etc/vm" "$R/opt/sandbox/tests" "$R/usr/lib/modules/$KVER" || die "mkdir in $R failed"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done
chmod 1777 "$R/tmp" "$R/var/tmp"
chmod 0700 "$R/root"

cp "$BUSYBOX" "$R/usr/bin/busybox" || die "copying busybox failed"
while read -r applet; do
  case $applet in
    bin/* | usr/bin/*) dst=usr/bin/${applet##*/} rel=busybox ;;
    sbin/* | usr/sbin/*) dst=usr/sbin/${applet##*/} rel=../bin/busybox ;;
    *) continue ;;
  esac
  [ -e "$R/$dst" ] || [ -L "$R/$dst" ] || ln -s "$rel" "$R/$dst"
done < <("$BUSYBOX" --list-full)

# copy_libs BIN: its shared libraries and ELF interpreter, at their paths under /usr
declare -A COPIED=()
copy_libs() {
  local lib dst
  is_static "$1" && return 0
  while read -r lib; do
    [ -n "$lib" ] || continue
    case $lib in
      /usr/*) dst=$lib ;;
      /*) dst=/usr$lib ;;
      *) continue ;;
    esac
    [ -n "${COPIED[$dst]:-}" ] && continue
    COPIED[$dst]=1
    mkdir -p "$R$(dirname "$dst")"
    cp -L "$lib" "$R$dst" || return 1
  done < <(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }')
}
# add_bin SRC [DST]: a host binary with its libraries
add_bin() {
  local dst=${2:-/usr/bin/$(basename "$1")}
  rm -f "$R$dst"
  cp -L "$1" "$R$dst" && copy_libs "$1" || die "copying $1 into the initramfs failed"
}
add_bin /usr/bin/bash
add_bin /usr/bin/setpriv
add_bin /usr/bin/newuidmap
add_bin /usr/bin/newgidmap
add_bin /usr/bin/timeout # coreutils': exit 124 and the whole process group on timeout
chmod 4755 "$R/usr/bin/newuidmap" "$R/usr/bin/newgidmap"

# The stage and this directory.
cp -R "$STAGE/bin" "$STAGE/share" "$R/opt/sandbox/" || die "copying the stage failed"
cp -R "$VM_SRC" "$R/opt/sandbox/tests/vm" || die "copying $VM_SRC failed"
cp -R "$VM_SRC/../lib" "$R/opt/sandbox/tests/lib" || die "copying $VM_SRC/../lib failed"
for b in "$R"/opt/sandbox/bin/*; do
  [ -f "$b" ] && file_is_elf=$(head -c 4 "$b" | od -An -c | tr -d ' ') && [ "$file_is_elf" = '177ELF' ] &&
    { copy_libs "$b" || die "copying the libraries of $b failed"; }
done
chmod -R a+rX "$R/opt"
cp "$VM_SRC/init.sh" "$R/init" && chmod 755 "$R/init"

# Modules.
: >"$R/etc/vm/modules"
for e in "${MOD_ORDER[@]}"; do
  cp "$KDIR/modules/${e%% *}" "$R/usr/lib/modules/$KVER/" || die "copying module ${e%% *} failed"
  echo "/usr/lib/modules/$KVER/$e" >>"$R/etc/vm/modules"
done

# Users: sbuser has cpu cpuset io memory pids delegated, sbmin memory pids (systemd's default),
# sbnone nothing.
cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
sbuser:x:1000:1000:sandbox test user (full delegation):/home/sbuser:/bin/bash
sbmin:x:1001:1001:sandbox test user (memory pids):/home/sbmin:/bin/bash
sbnone:x:1002:1002:sandbox test user (no delegation):/home/sbnone:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
sbuser:x:1000:
sbmin:x:1001:
sbnone:x:1002:
nogroup:x:65534:
EOF
printf 'sbuser:100000:65536\nsbmin:200000:65536\nsbnone:300000:65536\n' >"$R/etc/subuid"
cp "$R/etc/subuid" "$R/etc/subgid"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' >"$R/etc/nsswitch.conf"
printf '127.0.0.1 localhost vm\n::1 localhost\n' >"$R/etc/hosts"
echo vm >"$R/etc/hostname"
: >"$R/etc/resolv.conf"
: >"$R/etc/login.defs"
for u in sbuser:1000 sbmin:1001 sbnone:1002; do
  mkdir -p "$R/home/${u%%:*}"
  chmod 0755 "$R/home/${u%%:*}"
  is_root && chown "${u#*:}:${u#*:}" "$R/home/${u%%:*}" # the guest's init fixes it otherwise
done

# What to run.
{
  echo "VM_MODE=$([ -n "$SCRIPT" ] && echo script || echo tests)"
  echo "VM_TEST_TIMEOUT=$TEST_TIMEOUT"
  printf 'VM_PLACEMENT=%q\n' "$PLACEMENT"
  echo "VM_KERNEL=$KEY"
} >"$R/etc/vm/config"
printf '%s\n' "$@" >"$R/etc/vm/select"
[ -n "$SCRIPT" ] && cp "$SCRIPT" "$R/etc/vm/script" && chmod 755 "$R/etc/vm/script"

(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc >"$TMP/initrd" 2>/dev/null) ||
  die "building the initramfs failed"
rm -rf "$R"
INITRD_MB=$(($(stat -c %s "$TMP/initrd") / 1048576))
echo "vm-info: kernel $KEY, initramfs $INITRD_MB MiB, prepared in $(elapsed "$T_PREP") s"

# ------------------------------------------------------------------ boot

ACCEL=(-accel tcg,thread=multi)
# KVM only when asked: where /dev/kvm exists but nested virtualisation is broken, the guest stops
# at once with "KVM internal error. Suberror: 1 ... emulation failure" and qemu hangs paused.
if [ "${SANDBOX_VM_KVM:-0}" = 1 ]; then ACCEL=(-accel kvm "${ACCEL[@]}"); fi
RES=$TMP/results
CON=$TMP/console
: >"$RES"
: >"$CON"
T_BOOT=${EPOCHREALTIME/[.,]/}
# Under timeout too: should this script be killed outright, qemu still ends.
timeout -k 5 $((VM_TIMEOUT + 30)) qemu-system-x86_64 -machine q35 "${ACCEL[@]}" -cpu max -smp "$SMP" -m "$MEM" \
  -nodefaults -display none -no-reboot -no-user-config \
  -chardev file,id=con,path="$CON" -serial chardev:con \
  -chardev file,id=res,path="$RES" -serial chardev:res \
  -kernel "$KDIR/vmlinux" -initrd "$TMP/initrd" -append "$KCMDLINE" \
  </dev/null >"$TMP/qemu.out" 2>&1 &
QPID=$!

SUMMARY=
READY=
DONE=
PRINTED=0
NFAIL=0
flush() { # print the complete new lines of the results channel
  local n line
  n=$(wc -l <"$RES")
  [ "$n" -gt "$PRINTED" ] || return 0
  while IFS= read -r line; do
    line=${line%$'\r'}
    case $line in
      "@@vm ready "*) READY=${line#@@vm ready } ;;
      "@@vm done "*) DONE=${line#@@vm done } ;;
      "@@vm "*) ;;
      "vm: "[0-9]*" passed, "*) SUMMARY=$line ;;
      *)
        [[ $line == "FAIL "* ]] && NFAIL=$((NFAIL + 1))
        printf '%s\n' "$line" ;;
    esac
  done < <(sed -n "$((PRINTED + 1)),${n}p" "$RES")
  PRINTED=$n
}

TIMED_OUT=0
deadline=$((SECONDS + VM_TIMEOUT))
while kill -0 "$QPID" 2>/dev/null; do
  flush
  if [ "$SECONDS" -ge "$deadline" ]; then
    TIMED_OUT=1
    kill -TERM "$QPID" 2>/dev/null
    for ((i = 0; i < 30; i++)); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$QPID" 2>/dev/null
    break
  fi
  sleep 0.3
done
QRC=0
wait "$QPID" || QRC=$?
QPID=
# A last line without its newline still counts.
[ -s "$RES" ] && [ "$(tail -c 1 "$RES" | od -An -c | tr -d ' ')" != '\n' ] && echo >>"$RES"
flush

if [ "${SANDBOX_VM_CONSOLE:-0}" = 1 ]; then
  echo "vm-info: guest console:"
  sed 's/\r$//; s/^/    console| /' "$CON"
fi

times="total $(elapsed "$T0") s, qemu $(elapsed "$T_BOOT") s"
[ -n "$READY" ] && times="$times; guest ready at ${READY} s uptime"
[ -n "$DONE" ] && times="$times, done at ${DONE} s"
echo "vm-time: $times"

why=
if [ "$TIMED_OUT" -eq 1 ]; then
  why="the guest did not finish within $VM_TIMEOUT s (SANDBOX_VM_TIMEOUT): qemu killed"
elif grep -q 'Kernel panic' "$CON"; then
  why="kernel panic: $(grep -m 1 'Kernel panic' "$CON" | tr -d '\r' | cut -c1-160)"
elif [ -z "$SUMMARY" ]; then
  why="the guest ended without its summary line (qemu exit code $QRC)"
fi
if [ -n "$why" ]; then
  if [ -s "$CON" ]; then
    panic_at=$(grep -n -m 1 -e 'Kernel panic' -e 'BUG:' -e 'Oops' "$CON" | cut -d: -f1)
    if [ -n "$panic_at" ]; then
      echo "    the guest console around the first panic, BUG or Oops:"
      from=$((panic_at > 15 ? panic_at - 15 : 1))
      sed -n "${from},$((panic_at + 10))p" "$CON" >"$TMP/console.part"
    else
      echo "    last lines of the guest console:"
      tail -n 25 "$CON" >"$TMP/console.part"
    fi
    sed 's/\r$//' "$TMP/console.part" | cut -c1-200 | sed 's/^/    | /'
  fi
  if [ -s "$TMP/qemu.out" ]; then
    echo "    qemu said:"
    tail -n 10 "$TMP/qemu.out" | cut -c1-200 | sed 's/^/    | /'
  fi
  [ -n "$SUMMARY" ] && echo "    guest summary: $SUMMARY"
  echo "FAIL vm: $why"
  exit 1
fi

echo "$SUMMARY"
failed=$(sed -n 's/^vm: [0-9]* passed, \([0-9]*\) failed.*/\1/p' <<<"$SUMMARY")
[ "${failed:-1}" -eq 0 ] && [ "$NFAIL" -eq 0 ]
