#!/usr/bin/env python3
"""Small network helpers for the slirp tests. Loopback only on the host.

  netutil.py serve tcp|udp ADDRESS PORTFILE   echo server on ADDRESS, a free port written to PORTFILE;
                                              a line in PORTFILE.log for each client it hears
  netutil.py listen-busy ADDRESS PORTFILE     a TCP listener that only holds its port
  netutil.py client tcp|udp HOST PORT         (inside the sandbox) send "hi", print the answer
                                              or "error=ERRNONAME", and "elapsed_ms=N"
  netutil.py client-from LOCALPORT tcp|udp HOST PORT
                                              (inside) the same, from LOCALPORT (a forward's guest port)
  netutil.py broadcast PORT                   (inside) as client, to 255.255.255.255:PORT
  netutil.py local-address                    (inside) the source address towards the gateway
  netutil.py echo-listen PORT                 (inside) TCP echo server on [::]:PORT (and IPv4), prints ready
  netutil.py udp-echo-once PORT [COUNT]       (inside) answers COUNT (1) UDP datagrams on [::]:PORT
                                              (IPv4 and IPv6)
  netutil.py dns-stub PORTFILE                 a DNS server on 127.0.0.1 answering every A query with
                                              192.0.2.123 (and AAAA with no records)
  netutil.py resolve NAME                     (inside) gethostbyname NAME: "resolved=ADDRESS" or error
  netutil.py port-free ADDRESS PORT           exit 0 when nothing listens there (connection refused)
"""
import errno
import os
import socket
import sys
import time


def family(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def serve(kind, address, portfile):
    s = socket.socket(family(address), socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    s.bind((address, 0))
    if kind == "tcp":
        s.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    def heard(peer):
        with open(portfile + ".log", "a") as log:
            log.write("%s %s\n" % (kind, peer))

    while True:
        if kind == "tcp":
            c, peer = s.accept()
            heard(peer)
            c.settimeout(5)
            try:
                c.sendall(b"echo:" + c.recv(1000))
            except OSError:
                pass
            c.close()
        else:
            data, peer = s.recvfrom(1000)
            heard(peer)
            s.sendto(b"echo:" + data, peer)


def client(kind, host, port, local_port=None):
    start = time.monotonic()
    try:
        s = socket.socket(family(host), socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
        s.settimeout(5)
        if local_port is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::" if family(host) == socket.AF_INET6 else "0.0.0.0", int(local_port)))
        s.connect((host, int(port)))
        s.send(b"hi")
        print("answer=" + s.recv(100).decode())
    except OSError as e:
        name = errno.errorcode.get(e.errno, "timeout" if isinstance(e, socket.timeout) else str(e.errno))
        print("error=" + name)
    print("elapsed_ms=%d" % ((time.monotonic() - start) * 1000))


def dns_stub(portfile):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        query, peer = s.recvfrom(1500)
        if len(query) < 12:
            continue
        end = 12
        while end < len(query) and query[end] != 0:
            end += query[end] + 1
        question = query[12:end + 5]
        qtype = int.from_bytes(query[end + 1:end + 3], "big")
        answers = b""
        if qtype == 1:  # A
            answers = b"\xc0\x0c" + (1).to_bytes(2, "big") + (1).to_bytes(2, "big") + (60).to_bytes(4, "big") \
                + (4).to_bytes(2, "big") + bytes([192, 0, 2, 123])
        header = query[:2] + b"\x81\x80" + (1).to_bytes(2, "big") + (1 if answers else 0).to_bytes(2, "big") + b"\x00\x00\x00\x00"
        s.sendto(header + question + answers, peer)


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "listen-busy":
        s = socket.socket(family(sys.argv[2]))
        s.bind((sys.argv[2], 0))
        s.listen(1)
        with open(sys.argv[3], "w") as f:
            f.write(str(s.getsockname()[1]))
        time.sleep(120)
    elif cmd == "client":
        client(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "client-from":
        client(sys.argv[3], sys.argv[4], sys.argv[5], local_port=sys.argv[2])
    elif cmd == "broadcast":
        start = time.monotonic()
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.settimeout(5)
        try:
            s.connect(("255.255.255.255", int(sys.argv[2])))  # connected: ICMP errors are reported
            s.send(b"hi")
            print("answer=" + s.recv(100).decode())
        except OSError as e:
            print("error=" + errno.errorcode.get(e.errno, "timeout" if isinstance(e, socket.timeout) else str(e.errno)))
        print("elapsed_ms=%d" % ((time.monotonic() - start) * 1000))
    elif cmd == "local-address":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("10.0.2.2", 9))
        print("local=" + s.getsockname()[0])
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s6.connect(("fd00::2", 9))
        print("local6=" + s6.getsockname()[0])
    elif cmd == "udp-echo-once":
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)  # dual-stack, as echo-listen
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", int(sys.argv[2])))
        for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1):
            data, peer = s.recvfrom(1000)
            s.sendto(b"inside-udp:" + data, peer)
    elif cmd == "echo-listen":
        s = socket.socket(socket.AF_INET6)  # dual-stack: IPv4 and IPv6 forwards both arrive
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", int(sys.argv[2])))
        s.listen(4)
        print("ready", flush=True)
        c, _ = s.accept()
        c.sendall(b"inside:" + c.recv(1000))
        c.close()
    elif cmd == "dns-stub":
        dns_stub(sys.argv[2])
    elif cmd == "resolve":
        try:
            print("resolved=" + socket.gethostbyname(sys.argv[2]))
        except OSError as e:
            print("error=%s" % e)
    elif cmd == "port-free":
        # Nothing listens: a connection is refused (bind would also fail on TIME_WAIT leftovers).
        s = socket.socket(family(sys.argv[2]))
        s.settimeout(2)
        try:
            s.connect((sys.argv[2], int(sys.argv[3])))
        except ConnectionRefusedError:
            sys.exit(0)
        except OSError:
            pass
        sys.exit(1)
    else:
        sys.exit("netutil.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
