# User-mode networking (libslirp in the supervisor). Every host service is on loopback and
# started by the test; the sandbox reaches it only through the gateway (10.0.2.2 / fd00::2).

# netprofile NAME [TOML LINES...]: a slirp profile with python3 and netutil.py inside
netprofile() {
  local name=$1
  shift
  mkprofile -n "$name" default '[network]' 'mode = "slirp"' "$@" \
    '' '[[mount]]' 'type = "ro-bind"' "source = \"$IT_DIR/netutil.py\"" 'target = "/netutil.py"'
}

need_python_inside() {
  [ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed (needed inside the sandbox)"
}

# serve KIND ADDRESS: an echo server of the test's own; its port in $PORT, the file where it
# notes each client it hears in $HEARD
serve() {
  local portfile=$T/port.$RANDOM
  start_bg python3 "$IT_DIR/netutil.py" serve "$1" "$2" "$portfile"
  local i
  for ((i = 0; i < 50; i++)); do [ -s "$portfile" ] && break; sleep 0.1; done
  PORT=$(cat "$portfile") || fail "the $1 echo server on $2 did not start"
  HEARD=$portfile.log
}

# N makes the network namespace while the maps are written, but only once they are: made
# before, the kernel gives /proc/net (and lo's sysfs entries) to nobody instead of the
# sandbox's root. Both with a network of the sandbox's own: none and slirp; several runs, as a
# wrong order shows only when N wins the race.
t_net_namespace_owned_by_sandbox_root() {
  local p mode i
  for mode in none slirp; do
    p=$(mkprofile "$mode" default '[network]' "mode = \"$mode\"")
    for i in 1 2 3 4; do
      sb run "$p" -- /probe stat /proc/self/net/dev
      expect_rc 0 "network $mode, run $i"
      expect_kv uid 0
    done
  done
}

t_net_slirp_interface() {
  need_python_inside
  local p
  p=$(netprofile p)
  sb run "$p" -- /bin/sh -c 'python3 /netutil.py local-address; cat /etc/resolv.conf; cat /sys/class/net/eth0/mtu 2>/dev/null || awk "\$1 == \"eth0:\"" /proc/net/dev'
  expect_rc 0
  expect_kv local 10.0.2.100
  expect_kv local6 fd00::100
  grep -qx 'nameserver 10.0.2.3' "$T/out" || fail "/etc/resolv.conf does not point at the slirp DNS address"
}

t_net_host_loopback_allowed() {
  need_python_inside
  local p tcp udp
  serve tcp 127.0.0.1; tcp=$PORT
  serve udp 127.0.0.1; udp=$PORT
  p=$(netprofile p 'allow_host_loopback = true')
  sb run "$p" -- /bin/sh -c "python3 /netutil.py client tcp 10.0.2.2 $tcp; python3 /netutil.py client udp 10.0.2.2 $udp"
  expect_rc 0
  [ "$(grep -c '^answer=echo:hi$' "$T/out")" -eq 2 ] || fail "TCP and UDP through the gateway did not both echo: $(cat "$T/out")"
}

t_net_host_loopback_denied_by_default() {
  need_python_inside
  local p ms
  serve tcp 127.0.0.1
  p=$(netprofile p)
  sb run "$p" -- python3 /netutil.py client tcp 10.0.2.2 "$PORT"
  expect_rc 0
  grep -q '^answer=' "$T/out" && fail "the host's loopback was reachable without allow_host_loopback"
  grep -q '^error=E' "$T/out" || fail "no error: $(cat "$T/out")"
  ms=$(val elapsed_ms)
  [ "$ms" -lt 2000 ] || fail "a denied connection took ${ms} ms (it must fail fast, not hang)"
}

t_net_ipv6_gateway() {
  need_python_inside
  local p
  python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null || skip "no IPv6 loopback on this host"
  serve tcp ::1
  p=$(netprofile p 'allow_host_loopback = true')
  sb run "$p" -- python3 /netutil.py client tcp fd00::2 "$PORT"
  expect_rc 0
  expect_kv answer echo:hi
}

t_net_port_forward() {
  need_python_inside
  local p port pid i answer=
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  p=$(netprofile p "ports = [\"$port:8080\"]")
  sb_bg_net "$p" python3 /netutil.py echo-listen 8080
  pid=$BG
  wait_for_line "$T/out" '^ready$' 10 || fail "the listener inside did not start: $(cat "$T/err")"
  answer=$(host_answer tcp 127.0.0.1 "$port")
  [ "$answer" = "inside:hi" ] || fail "the forward 127.0.0.1:$port -> 8080 did not reach the listener (got '$answer')"
  wait_exit "$pid" 10 || fail "the sandbox did not end after its listener answered"
  expect_rc 0
  python3 "$IT_DIR/netutil.py" port-free 127.0.0.1 "$port" || fail "127.0.0.1:$port is still listening after the sandbox ended"
}

# host_answer KIND ADDRESS PORT: the answer of a service reached from the host, retried for up
# to 4 s while the sandbox's listener comes up
host_answer() {
  local i answer=
  for ((i = 0; i < 20; i++)); do
    answer=$(python3 "$IT_DIR/netutil.py" client "$1" "$2" "$3" | sed -n 's/^answer=//p')
    [ -n "$answer" ] && break
    sleep 0.2
  done
  echo "$answer"
}

sb_bg_net() { # sb_bg_net PROFILE CMD...: sandbox in the background, output in $T/out
  local p=$1
  shift
  LAST_CMD="sandbox run $p -- $*"
  start_bg "$SANDBOX" run "$p" -- "$@" </dev/null >"$T/out" 2>"$T/err"
}

t_net_port_forward_busy() {
  local p portfile=$T/busy
  start_bg python3 "$IT_DIR/netutil.py" listen-busy 127.0.0.1 "$portfile"
  local i
  for ((i = 0; i < 50; i++)); do [ -s "$portfile" ] && break; sleep 0.1; done
  p=$(netprofile p "ports = [\"$(cat "$portfile"):80\"]")
  sb run "$p" -- /bin/true
  expect_rc 125
  grep -q "^sandbox: network: forward 127.0.0.1:$(cat "$portfile"):80/tcp: cannot listen" "$T/err" ||
    fail "no message naming the busy port: $(cat "$T/err")"
}

t_net_egress_rules() {
  need_python_inside
  local p open closed udp
  serve tcp 127.0.0.1; open=$PORT
  serve tcp 127.0.0.1; closed=$PORT
  serve udp 127.0.0.1; udp=$PORT
  # Traffic to the gateway is traffic to the host's loopback: rules name 127.0.0.1.
  p=$(netprofile p 'allow_host_loopback = true' '[network.egress]' \
    "deny = [\"127.0.0.1:$closed/tcp\", \"127.0.0.1:$udp/udp\"]")
  sb run "$p" -- /bin/sh -c "python3 /netutil.py client tcp 10.0.2.2 $open; python3 /netutil.py client tcp 10.0.2.2 $closed;
    python3 /netutil.py client udp 10.0.2.2 $udp"
  expect_rc 0
  [ "$(sed -n 1p "$T/out")" = "answer=echo:hi" ] || fail "an allowed port was not reachable: $(cat "$T/out")"
  [ "$(grep '^error=' "$T/out" | sed -n 1p)" = "error=ECONNREFUSED" ] || fail "a denied TCP port was not reset: $(cat "$T/out")"
  [ "$(grep '^error=' "$T/out" | sed -n 2p)" = "error=EHOSTUNREACH" ] || fail "a denied UDP port got no ICMP unreachable: $(cat "$T/out")"
  awk -F= '$1 == "elapsed_ms" && $2 > 2000 { bad = 1 } END { exit bad }' "$T/out" || fail "a denied connection did not fail fast: $(cat "$T/out")"
}

t_net_egress_allow_list() {
  need_python_inside
  local p allowed other
  serve tcp 127.0.0.1; allowed=$PORT
  serve tcp 127.0.0.1; other=$PORT
  p=$(netprofile p 'allow_host_loopback = true' '[network.egress]' "allow = [\"127.0.0.1:$allowed/tcp\"]")
  sb run "$p" -- /bin/sh -c "python3 /netutil.py client tcp 10.0.2.2 $allowed; python3 /netutil.py client tcp 10.0.2.2 $other"
  expect_rc 0
  [ "$(sed -n 1p "$T/out")" = "answer=echo:hi" ] || fail "the allow-listed port was not reachable: $(cat "$T/out")"
  grep -q '^error=ECONNREFUSED' "$T/out" || fail "a port outside the allow-list was reachable: $(cat "$T/out")"
}

# Denied destinations outside the virtual network never leave: the filter answers itself.
# (192.0.2.0/24 is TEST-NET-1; nothing is sent there, the reset comes from the filter.)
t_net_egress_public_only() {
  need_python_inside
  local p
  p=$(netprofile p '[network.egress]' 'preset = "public-only"' 'deny = ["192.0.2.0/24"]')
  sb run "$p" -- /bin/sh -c 'python3 /netutil.py client tcp 192.168.1.1 443; python3 /netutil.py client tcp 192.0.2.1 80'
  expect_rc 0
  [ "$(grep -c '^error=ECONNREFUSED$' "$T/out")" -eq 2 ] || fail "denied destinations were not reset at once: $(cat "$T/out")"
}

# DNS: the sandbox asks 10.0.2.3; with `dns` in the profile the query goes to that resolver
# (here a stub of the test's own on 127.0.0.1), never to the machine's real one.
t_net_dns_through_stub() {
  need_python_inside
  local p portfile=$T/dnsport i
  start_bg python3 "$IT_DIR/netutil.py" dns-stub "$portfile"
  for ((i = 0; i < 50; i++)); do [ -s "$portfile" ] && break; sleep 0.1; done
  p=$(netprofile p "dns = \"127.0.0.1:$(cat "$portfile")\"")
  sb run "$p" -- python3 /netutil.py resolve www.example.test
  expect_rc 0
  expect_kv resolved 192.0.2.123
}

t_net_host_mode_check_warns() {
  local p
  p=$(mkprofile p default '[network]' 'mode = "host"')
  sb check "$p"
  expect_rc 0
  grep -q "^sandbox: warning: \[network\] mode = \"host\" shares the host's network namespace" "$T/err" ||
    fail "check did not warn about host networking: $(cat "$T/err")"
}

need_ipv6_loopback() {
  python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null || skip "no IPv6 loopback on this host"
}

# free_port tcp|udp ADDRESS: a port free on the host's ADDRESS just now
free_port() {
  python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET,
                  socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM)
s.bind((sys.argv[2], 0)); print(s.getsockname()[1])' "$1" "$2"
}

# UDP and IPv6 forwards: "127.0.0.1:PORT:5353/udp", "[::1]:PORT:5353/udp" and "[::1]:PORT:8443".
# The sandbox's UDP answers go back through the gateway without allow_host_loopback.
t_net_port_forward_udp_and_ipv6() {
  need_python_inside
  need_ipv6_loopback
  local p udp udp6 tcp6 pid i a1= a2= a3=
  udp=$(free_port udp 127.0.0.1)
  udp6=$(free_port udp ::1)
  tcp6=$(free_port tcp ::1)
  p=$(netprofile p "ports = [\"127.0.0.1:$udp:5353/udp\", \"[::1]:$udp6:5353/udp\", \"[::1]:$tcp6:8443\"]")
  sb_bg_net "$p" /bin/sh -c 'python3 /netutil.py udp-echo-once 5353 2 & python3 /netutil.py echo-listen 8443; wait'
  pid=$BG
  wait_for_line "$T/out" '^ready$' 10 || fail "the listeners inside did not start: $(cat "$T/err")"
  a1=$(host_answer udp 127.0.0.1 "$udp")
  a3=$(host_answer udp ::1 "$udp6")
  a2=$(host_answer tcp ::1 "$tcp6")
  [ "$a1" = "inside-udp:hi" ] || fail "the UDP forward 127.0.0.1:$udp -> 5353 did not answer (got '$a1')"
  [ "$a3" = "inside-udp:hi" ] || fail "the UDP forward [::1]:$udp6 -> 5353 did not answer (got '$a3')"
  [ "$a2" = "inside:hi" ] || fail "the IPv6 forward [::1]:$tcp6 -> 8443 did not answer (got '$a2')"
  wait_exit "$pid" 10 || fail "the sandbox did not end"
}

# Issue 8 A.1: a forward's guest port is no way to the host's loopback. The payload chooses its
# source port: bound to the forward's guest port, it connects to the gateway, where the test's
# own service listens on the host's 127.0.0.1 / ::1. Without allow_host_loopback that must fail
# fast (a reset, an ICMP error), as from any other port.
# forward_port_attack tcp|udp 4|6
forward_port_attack() {
  local kind=$1 host=127.0.0.1 gateway=10.0.2.2 guest_port=8080 p forward
  need_python_inside
  [ "$2" = 6 ] && { need_ipv6_loopback; host=::1; gateway=fd00::2; }
  [ "$kind" = udp ] && guest_port=5353
  serve "$kind" "$host"
  forward="$(free_port "$kind" "$host"):$guest_port/$kind"
  [ "$2" = 6 ] && forward="[::1]:$forward"
  p=$(netprofile p "ports = [\"$forward\"]")
  sb run "$p" -- /bin/sh -c "python3 /netutil.py client $kind $gateway $PORT; python3 /netutil.py client-from $guest_port $kind $gateway $PORT"
  expect_rc 0
  grep -q '^answer=' "$T/out" &&
    fail "the host's $host:$PORT ($kind) was reachable from the forward's guest port $guest_port: $(cat "$T/out")"
  [ -s "$HEARD" ] && fail "the host's $host:$PORT ($kind) heard from the sandbox: $(cat "$HEARD")"
  [ "$(grep -c '^error=E' "$T/out")" -eq 2 ] || fail "not both denied with an error: $(cat "$T/out")"
  [ "$(grep '^error=' "$T/out" | sed -n 1p)" = "$(grep '^error=' "$T/out" | sed -n 2p)" ] ||
    fail "the forward's guest port was answered unlike any other port: $(cat "$T/out")"
  awk -F= '$1 == "elapsed_ms" && $2 > 2000 { bad = 1 } END { exit bad }' "$T/out" || fail "a denied packet did not fail fast: $(cat "$T/out")"
}

t_net_forward_port_no_host_loopback_tcp4() { forward_port_attack tcp 4; }
t_net_forward_port_no_host_loopback_tcp6() { forward_port_attack tcp 6; }
t_net_forward_port_no_host_loopback_udp4() { forward_port_attack udp 4; }
t_net_forward_port_no_host_loopback_udp6() { forward_port_attack udp 6; }

# The command line: --network slirp and -p/--publish on a profile without networking.
t_net_cli_publish() {
  need_python_inside
  local p port pid i answer=
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  p=$(mkprofile -n p default '[[mount]]' 'type = "ro-bind"' "source = \"$IT_DIR/netutil.py\"" 'target = "/netutil.py"')
  LAST_CMD="sandbox run --network slirp -p $port:8080 $p -- python3 /netutil.py echo-listen 8080"
  start_bg "$SANDBOX" run --network slirp -p "$port:8080" "$p" -- python3 /netutil.py echo-listen 8080 \
    </dev/null >"$T/out" 2>"$T/err"
  pid=$BG
  wait_for_line "$T/out" '^ready$' 10 || fail "the listener inside did not start: $(cat "$T/err")"
  answer=$(host_answer tcp 127.0.0.1 "$port")
  [ "$answer" = "inside:hi" ] || fail "-p $port:8080 did not reach the listener (got '$answer')"
  wait_exit "$pid" 10 || fail "the sandbox did not end"
  sb run -p 8080:80 "$p" -- /bin/true
  expect_rc 125
  grep -q -- '--publish needs the slirp network' "$T/err" || fail "no clear error for -p without slirp: $(cat "$T/err")"
}

# libslirp sends what goes to the broadcast address 255.255.255.255 to the host's loopback, as
# what goes to the gateway: without allow_host_loopback it is denied at once.
t_net_broadcast_no_host_loopback() {
  need_python_inside
  local p
  serve udp 127.0.0.1
  p=$(netprofile p)
  sb run "$p" -- python3 /netutil.py broadcast "$PORT"
  expect_rc 0
  grep -q '^answer=' "$T/out" && fail "the host's 127.0.0.1:$PORT was reachable through 255.255.255.255: $(cat "$T/out")"
  [ -s "$HEARD" ] && fail "the host's 127.0.0.1:$PORT heard from the sandbox through 255.255.255.255: $(cat "$HEARD")"
  expect_kv error EHOSTUNREACH
}
