#!/usr/bin/python3
"""The outside world of the allow_domains tests (tests/integration/domain_net.sh): a DNS stub and
echo servers on documentation addresses, in a network namespace of their own. Runs until killed."""
import socket, socketserver, struct, threading

TTL = 300
RECORDS = {  # name -> list of (type, ttl, value)
    "allowed.test": [(1, TTL, "192.0.2.10"), (28, TTL, "2001:db8::10")],
    "other.test": [(1, TTL, "198.51.100.20")],
    "alias.test": [(5, TTL, "target.test")],
    "target.test": [(1, TTL, "203.0.113.30")],
    "badalias.test": [(5, TTL, "other.test")],
    "rebind.test": [(1, TTL, "10.1.2.3")],
    "short.test": [(1, 1, "192.0.2.11")],
    "port.test": [(1, TTL, "192.0.2.12")],
    "forged.test": [(1, TTL, "192.0.2.10")],
}
# 169.254.169.254 (a cloud's metadata service) and 240.0.0.1 (reserved) are what a payload
# tries when names are refused: inside this namespace only, as everything here.
ECHO_TCP = ["192.0.2.10", "192.0.2.11", "192.0.2.12", "198.51.100.20", "203.0.113.30", "2001:db8::10",
            "169.254.169.254", "240.0.0.1"]
ECHO_UDP = ["192.0.2.10", "192.0.2.12", "198.51.100.20"]


def encode_name(name):
    return b"".join(bytes([len(part)]) + part.encode() for part in name.split(".")) + b"\0"


def read_question(data):
    at, labels = 12, []
    while data[at]:
        labels.append(data[at + 1:at + 1 + data[at]].decode())
        at += 1 + data[at]
    qtype, = struct.unpack("!H", data[at + 1:at + 3])
    return ".".join(labels).lower(), qtype, at + 5


def answer(query):
    name, qtype, end = read_question(query)
    records, current = [], name
    for _ in range(8):  # follow CNAMEs as a recursive resolver does
        found = RECORDS.get(current, [])
        cnames = [r for r in found if r[0] == 5]
        if cnames:
            records.append((current, cnames[0]))
            current = cnames[0][2]
            continue
        records += [(current, r) for r in found if r[0] == qtype]
        break
    rcode = 0 if name in RECORDS else 3
    out = query[:2] + struct.pack("!HHHHH", 0x8180 | rcode, 1, len(records), 0, 0) + query[12:end]
    for owner, (rtype, ttl, value) in records:
        if rtype == 1:
            data = socket.inet_pton(socket.AF_INET, value)
        elif rtype == 28:
            data = socket.inet_pton(socket.AF_INET6, value)
        else:
            data = encode_name(value)
        out += encode_name(owner) + struct.pack("!HHIH", rtype, 1, ttl, len(data)) + data
    return out


def forgeries(query):
    """What an attacker on the path sends before the real answer to forged.test: another id, then
    the right id for another question, then the right id and question with a record of another
    name in it. Each says 198.51.100.20 (other.test's address, never allowed)."""
    other = answer(query[:12] + encode_name("other.test") + query[12 + len(encode_name("forged.test")):])
    wrong_id = bytes([query[0] ^ 0xff, query[1]]) + other[2:]
    genuine = answer(query)
    stray = encode_name("other.test") + struct.pack("!HHIH", 1, 1, TTL, 4) + socket.inet_aton("198.51.100.20")
    smuggled = genuine[:6] + struct.pack("!H", struct.unpack("!H", genuine[6:8])[0] + 1) + genuine[8:] + stray
    return [wrong_id, other, smuggled]


def dns():
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("192.0.2.53", 53))
    while True:
        data, peer = server.recvfrom(4096)
        try:
            if read_question(data)[0] == "forged.test":
                for forged in forgeries(data):
                    server.sendto(forged, peer)
            server.sendto(answer(data), peer)
        except Exception:
            pass


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(4096)
            if not data:
                return
            self.request.sendall(data)


class TcpV4(socketserver.ThreadingTCPServer):
    daemon_threads = allow_reuse_address = True


class TcpV6(TcpV4):
    address_family = socket.AF_INET6


def udp_echo(address):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 9090))
    while True:
        data, peer = sock.recvfrom(4096)
        sock.sendto(data, peer)


threads = [threading.Thread(target=dns, daemon=True)]
for address in ECHO_TCP:
    server = (TcpV6 if ":" in address else TcpV4)((address, 8080), Echo)
    threads.append(threading.Thread(target=server.serve_forever, daemon=True))
for address in ECHO_UDP:
    threads.append(threading.Thread(target=udp_echo, args=(address,), daemon=True))
for thread in threads:
    thread.start()
print("ready", flush=True)
threading.Event().wait()
