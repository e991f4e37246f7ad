#!/usr/bin/env bash
# Runs the allow_domains tests (t_domains_* in tests_85_domains.sh) as USER inside a network
# namespace of their own: documentation addresses on its lo, a DNS stub and echo servers there
# (domain_servers.py), so nothing ever leaves the machine. Needs root. Usage: STAGE USER
set -u
stage=$1 user=$2
ns=sbt-domains-$$
here=$(cd "$(dirname "$0")" && pwd)
ip netns add "$ns" || { echo "FAIL domains-setup: ip netns add"; exit 1; }
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  ip netns delete "$ns" 2>/dev/null
}
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up
for a in 192.0.2.10 192.0.2.11 192.0.2.12 192.0.2.53 198.51.100.20 203.0.113.30 169.254.169.254 240.0.0.1; do in_ns ip addr add "$a/32" dev lo; done
in_ns ip addr add 2001:db8::10/128 dev lo nodad
# The host's default route is not there: a pretend default, so that connect() to these picks lo.
in_ns ip route add default dev lo 2>/dev/null
in_ns ip -6 route add default dev lo 2>/dev/null
in_ns python3 "$here/domain_servers.py" >"$stage/domain-servers.out" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q ready "$stage/domain-servers.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$stage/domain-servers.out" || { echo "FAIL domains-setup: the servers did not start"; cat "$stage/domain-servers.out"; exit 1; }
home=$(getent passwd "$user" | cut -d: -f6)
(cd "$stage" && timeout -k 10 600 ip netns exec "$ns" runuser -u "$user" -- env -i HOME="$home" USER="$user" \
  LOGNAME="$user" PATH=/usr/local/bin:/usr/bin:/bin TERM="${TERM:-dumb}" SANDBOX_DOMAIN_NET=1 \
  bash "$stage/tests/integration/run.sh" "$stage" 't_domains_*' </dev/null)
