# Egress by domain name ([network] allow_domains). These run only inside the pretend outside
# world of tests/integration/domain_net.sh (root makes it; tests/run.sh starts them there): the
# names *.test resolve at a DNS stub on 192.0.2.53, echo servers listen on documentation
# addresses. Elsewhere they skip.

need_domain_net() { [ "${SANDBOX_DOMAIN_NET:-}" = 1 ] || skip "needs the namespace of tests/integration/domain_net.sh"; }

# The payload: "resolve NAME [v6]", "tcp HOST [PORT]", "udp HOST [PORT]", "hold HOST SECONDS"
# (connect, wait, then talk on the same connection and open a new one to the same address); one
# KEY=VALUE line per step. A connection refused by the filter is "refused" (a reset to its SYN).
DOMAINS_PY='
import socket, sys, time
def resolve(name, family=socket.AF_INET):
    try:
        return socket.getaddrinfo(name, 8080, family, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror:
        return "unresolved"
def talk(sock, payload=b"ping"):
    sock.settimeout(3)
    sock.send(payload)
    return "ok" if sock.recv(64) == payload else "wrong"
def tcp(host, port=8080):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_connection((host, port), timeout=3) as s:
            return talk(s)
    except ConnectionRefusedError: return "refused"
    except ConnectionResetError: return "reset"
    except OSError as e: return "error-%d" % (e.errno or 0)
def udp(host, port=9090):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    try:
        return talk(s)
    except socket.timeout: return "timeout"
    except OSError as e: return "error-%d" % (e.errno or 0)
args = sys.argv[1:]
i = 0
while i < len(args):
    step = args[i]
    if step == "resolve": print("resolve_%s=%s" % (args[i+1], resolve(args[i+1]))); i += 2
    elif step == "resolve6": print("resolve6_%s=%s" % (args[i+1], resolve(args[i+1], socket.AF_INET6))); i += 2
    elif step == "tcp": print("tcp_%s=%s" % (args[i+1], tcp(args[i+1], int(args[i+2])))); i += 3
    elif step == "udp": print("udp_%s=%s" % (args[i+1], udp(args[i+1]))); i += 2
    elif step == "hold":  # resolved once: later connections go to the address, not the name
        address = resolve(args[i+1])
        s = socket.create_connection((address, 8080), timeout=3)
        print("hold_first=%s" % talk(s)); sys.stdout.flush()
        time.sleep(float(args[i+2]))
        print("hold_after=%s" % talk(s)); s.close()
        print("hold_new=%s" % tcp(address, 8080)); i += 3
    else: i += 1
'

domains_profile() { # domains_profile NAME [EXTRA LINE...]
  local name=$1
  shift
  mkprofile -n "$name" default '[network]' 'mode = "slirp"' 'dns = "192.0.2.53"' \
    'allow_domains = ["allowed.test", "alias.test", "target.test", "badalias.test", "rebind.test", "short.test", "port.test:8080/tcp", "forged.test"]' "$@"
}

domains_run() { # domains_run PROFILE [sandbox options...] -- STEPS...
  local p=$1
  shift
  local opts=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  sb run "${opts[@]}" "$p" -- /usr/bin/python3 -c "$DOMAINS_PY" "$@"
}

t_domains_allowed_names_reach_their_servers_others_do_not() {
  need_domain_net
  local p
  p=$(domains_profile p)
  domains_run "$p" --violations "$T/v.jsonl" -- resolve allowed.test tcp allowed.test 8080 udp allowed.test \
    resolve other.test resolve6 allowed.test tcp 2001:db8::10 8080 tcp 198.51.100.20 8080 udp 198.51.100.20 \
    resolve port.test tcp port.test 8080 udp port.test
  expect_rc 0 "the payload"
  expect_kv resolve_allowed.test 192.0.2.10
  expect_kv tcp_allowed.test ok
  expect_kv udp_allowed.test ok
  expect_kv resolve_other.test unresolved
  expect_kv resolve6_allowed.test 2001:db8::10
  expect_kv tcp_2001:db8::10 ok
  expect_kv tcp_198.51.100.20 refused
  expect_kv_not udp_198.51.100.20 ok
  expect_kv resolve_port.test 192.0.2.12
  expect_kv tcp_port.test ok
  expect_kv_not udp_port.test ok
  grep -q '"kind":"dns","name":"other.test","reason":"not in allow_domains","action":"refused"' "$T/v.jsonl" ||
    fail "the refused name is not in the violation log" "$(cat "$T/v.jsonl")"
  grep -q '"kind":"flow","protocol":"tcp","address":"198.51.100.20","port":8080,"name":null' "$T/v.jsonl" ||
    fail "the refused flow is not in the violation log" "$(cat "$T/v.jsonl")"
  grep -q '"kind":"flow","protocol":"udp","address":"192.0.2.12","port":9090,"name":"port.test"' "$T/v.jsonl" ||
    fail "the flow to a pinned name on a port not allowed is not logged with its name" "$(cat "$T/v.jsonl")"
  grep -q 'allow_domains refused' "$T/err" || fail "no summary of the refusals on stderr" "$(cat "$T/err")"
}

t_domains_cname_chains_and_rebinding() {
  need_domain_net
  local p
  p=$(domains_profile p)
  domains_run "$p" --violations "$T/v.jsonl" -- resolve alias.test tcp alias.test 8080 resolve badalias.test resolve rebind.test
  expect_rc 0
  expect_kv resolve_alias.test 203.0.113.30
  expect_kv tcp_alias.test ok
  expect_kv resolve_badalias.test unresolved
  expect_kv resolve_rebind.test unresolved
  grep -q 'CNAME badalias.test -> other.test' "$T/v.jsonl" || fail "the CNAME refusal is not logged" "$(cat "$T/v.jsonl")"
  grep -q 'DNS rebinding' "$T/v.jsonl" || fail "the rebinding refusal is not logged" "$(cat "$T/v.jsonl")"
}

t_domains_established_flow_outlives_its_pin() {
  need_domain_net
  local p
  p=$(domains_profile p)
  # short.test has a TTL of 1 s: its pin lasts the 10 s minimum, the connection longer.
  domains_run "$p" -- resolve short.test hold short.test 12
  expect_rc 0
  expect_kv hold_first ok
  expect_kv hold_after ok
  expect_kv hold_new refused
}

t_domains_learn_prints_the_additions() {
  need_domain_net
  local p
  p=$(domains_profile p)
  domains_run "$p" --learn -- resolve other.test tcp other.test 8080 tcp 203.0.113.30 8080
  expect_rc 0
  expect_kv resolve_other.test 198.51.100.20
  expect_kv tcp_other.test ok
  grep -q '^allow_domains = \[.*"other.test".*\]' "$T/err" || fail "learn does not print the name" "$(cat "$T/err")"
  grep -q '"other.test:8080/tcp"' "$T/err" || fail "learn does not print the name's port" "$(cat "$T/err")"
  grep -q '"203.0.113.30/32:8080/tcp"' "$T/err" || fail "learn does not print the egress rule" "$(cat "$T/err")"
}

t_domains_egress_rule_admits_an_address() {
  need_domain_net
  local p
  p=$(domains_profile p '[network.egress]' 'allow = ["198.51.100.20/32:8080/tcp"]')
  domains_run "$p" -- tcp 198.51.100.20 8080 tcp 203.0.113.30 8080
  expect_rc 0
  expect_kv tcp_198.51.100.20 ok
  expect_kv tcp_203.0.113.30 refused
}

# Link-local (a cloud's metadata service) and reserved addresses are the outside too.
t_domains_metadata_and_reserved_addresses_refused() {
  need_domain_net
  local p
  p=$(domains_profile p)
  domains_run "$p" -- tcp 169.254.169.254 8080 tcp 240.0.0.1 8080
  expect_rc 0
  expect_kv tcp_169.254.169.254 refused
  expect_kv tcp_240.0.0.1 refused
}

# DNS over TCP to the sandbox's DNS address is answered by the same resolver, with the same rules.
t_domains_dns_over_tcp() {
  need_domain_net
  local p
  p=$(domains_profile p)
  sb run --violations "$T/v.jsonl" "$p" -- /usr/bin/python3 -c '
import socket, struct
def ask(name):
    q = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    with socket.create_connection(("10.0.2.3", 53), timeout=5) as s:
        s.sendall(struct.pack("!H", len(q)) + q)
        size = struct.unpack("!H", s.recv(2))[0]
        a = b""
        while len(a) < size: a += s.recv(size - len(a))
    rcode, answers = a[3] & 15, struct.unpack("!H", a[6:8])[0]
    print("%s=rcode%d,answers%d,%s" % (name, rcode, answers, socket.inet_ntoa(a[-4:]) if answers else "-"))
ask("allowed.test"); ask("other.test")'
  expect_rc 0 "DNS over TCP"
  expect_kv allowed.test rcode0,answers1,192.0.2.10
  expect_kv other.test rcode5,answers0,-
  grep -q '"name":"other.test"' "$T/v.jsonl" || fail "the name refused over TCP is not logged" "$(cat "$T/v.jsonl")"
}

# The stub sends forgeries before the answer to forged.test (domain_servers.py): another id, the
# right id for another question, the right question with a record of another name. Only what
# answers our own question counts, and only the names on its chain are pinned.
t_domains_forged_answers_pin_nothing() {
  need_domain_net
  local p
  p=$(domains_profile p)
  domains_run "$p" -- resolve forged.test tcp forged.test 8080 tcp 198.51.100.20 8080
  expect_rc 0
  expect_kv resolve_forged.test 192.0.2.10
  expect_kv tcp_forged.test ok
  expect_kv tcp_198.51.100.20 refused
}

# TCP clients of the sandbox's DNS address that connect and say nothing, more of them than are
# served at once, and clients that ask and hang up before the answer: the supervisor waits for
# them without spinning (it did: the full listener stayed readable), and a new client is answered
# once they are gone. The whole run's CPU time (supervisor, pid 1 and payload) is the witness.
t_domains_dns_over_tcp_idle_clients_cost_no_cpu() {
  need_domain_net
  local p
  p=$(domains_profile p)
  local TIMEFORMAT='%U %S'
  { time sb run "$p" -- /usr/bin/python3 -c '
import socket, struct, time
def query(name):
    q = struct.pack("!HHHHHH", 7, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    return struct.pack("!H", len(q)) + q
idle = [socket.create_connection(("10.0.2.3", 53), timeout=5) for _ in range(24)]
for _ in range(4):
    with socket.create_connection(("10.0.2.3", 53), timeout=5) as s:
        s.sendall(query("allowed.test"))
time.sleep(4)
for s in idle: s.close()
time.sleep(0.5)
with socket.create_connection(("10.0.2.3", 53), timeout=5) as s:
    s.sendall(query("allowed.test"))
    size = struct.unpack("!H", s.recv(2))[0]
    a = b""
    while len(a) < size: a += s.recv(size - len(a))
print("after=%s" % socket.inet_ntoa(a[-4:]))'; } 2>"$T/cpu"
  expect_rc 0 "idle DNS clients"
  expect_kv after 192.0.2.10
  local user system
  read -r user system <"$T/cpu"
  awk -v u="$user" -v s="$system" 'BEGIN { exit !(u + s < 2.0) }' ||
    fail "the run took ${user}s user and ${system}s system CPU over 4 s of idle DNS clients: something spins"
}
