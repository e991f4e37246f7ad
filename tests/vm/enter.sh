#!/usr/bin/env bash
# enter.sh USER [--] CMD...: run by root in the guest. Puts this process into USER's cgroup, drops
# to USER (setpriv: real and effective ids, the user's groups, no capabilities) and execs CMD in
# USER's home with a clean environment.
#
# Where the process goes (VM_PLACEMENT, from SANDBOX_VM_PLACEMENT on the host):
#   service (default)  user.slice/user-UID.slice/user@UID.service itself; when root cannot put it
#                      there (EBUSY: controllers are enabled in its cgroup.subtree_control, the
#                      no-internal-processes rule), its child init.scope instead
#   init.scope         always user@UID.service/init.scope
#   a path             under /sys/fs/cgroup, %U replaced by the uid (created, and given to the
#                      user, when missing)
# sbnone (no user@UID.service) always goes to user.slice/user-UID.slice/session-1.scope (root's).
#
# The environment: HOME USER LOGNAME XDG_RUNTIME_DIR=/run/user/UID PATH=/usr/bin:/usr/sbin
# TERM=dumb SANDBOX PROBE PROFILES VM_DIR WORK, plus
#   VM_CG            the cgroup directory the process was put in (/sys/fs/cgroup/...)
#   VM_CG_DELEGATED  the user's delegated cgroup directory (user@UID.service), empty for sbnone
set -u

user=${1:?usage: enter.sh USER [--] CMD...}
shift
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "enter.sh: no command" >&2; exit 2; }

IFS=: read -r _ _ uid gid _ home _ < <(grep "^$user:" /etc/passwd)
[ -n "${uid:-}" ] || { echo "enter.sh: no user $user in /etc/passwd" >&2; exit 2; }

CG=/sys/fs/cgroup
slice=$CG/user.slice/user-$uid.slice
deleg=$slice/user@$uid.service
placement=${VM_PLACEMENT:-service}
if [ -d "$deleg" ]; then
  case $placement in
    service) targets=("$deleg" "$deleg/init.scope") ;;
    init.scope) targets=("$deleg/init.scope") ;;
    *)
      t=$CG/${placement#/}
      t=${t//%U/$uid}
      if [ ! -d "$t" ]; then
        mkdir -p "$t" || exit 1
        chown "$uid:$gid" "$t"
        for f in $(cat /sys/kernel/cgroup/delegate) cgroup.procs cgroup.subtree_control cgroup.threads; do
          [ -e "$t/$f" ] && chown "$uid:$gid" "$t/$f"
        done
      fi
      targets=("$t") ;;
  esac
else
  deleg=
  targets=("$slice/session-1.scope")
fi

placed=
errf=/run/vm/enter.$$
for t in "${targets[@]}"; do
  # "0": the writing process itself, this shell (echo is a builtin)
  if { echo 0 >"$t/cgroup.procs"; } 2>"$errf"; then
    placed=$t
    break
  fi
  grep -qi 'busy' "$errf" || break # only EBUSY moves on to the next candidate
done
if [ -z "$placed" ]; then
  echo "enter.sh: cannot put the process into ${targets[*]}: $(cat "$errf")" >&2
  rm -f "$errf"
  exit 1
fi
rm -f "$errf"

cd "$home" || exit 1
exec /usr/bin/setpriv --reuid="$uid" --regid="$gid" --init-groups \
  /usr/bin/env -i HOME="$home" USER="$user" LOGNAME="$user" XDG_RUNTIME_DIR="/run/user/$uid" \
  PATH=/usr/bin:/usr/sbin TERM=dumb \
  SANDBOX="${SANDBOX:-/opt/sandbox/bin/sandbox}" PROBE="${PROBE:-/opt/sandbox/bin/sandbox-probe}" \
  PROFILES="${PROFILES:-/opt/sandbox/share/sandbox/profiles}" \
  VM_DIR="${VM_DIR:-/opt/sandbox/tests/vm}" WORK="${WORK:-/tmp/vm-work}" \
  VM_CG="$placed" VM_CG_DELEGATED="$deleg" "$@"
