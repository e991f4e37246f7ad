// Network values (addresses, CIDRs, forwards, egress rules and policy) and the egress packet
// filter, on frames captured from the loopback interface (tests/unit/data/packets/*.hex).
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "net/address.hpp"
#include "net/packet.hpp"

using namespace sb;

namespace {

IpAddress ip(const std::string& text) {
    auto address = parse_ip(text);
    REQUIRE(address);
    return *address;
}

Cidr cidr(const std::string& text) {
    std::string error;
    auto block = parse_cidr(text, error);
    INFO(error);
    REQUIRE(block);
    return *block;
}

std::vector<std::uint8_t> captured(const std::string& name) {
    std::ifstream file(std::string(SANDBOX_TEST_DATA) + "/packets/" + name + ".hex");
    REQUIRE(file);
    std::string hex;
    file >> hex;
    std::vector<std::uint8_t> bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) bytes.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return bytes;
}

std::uint16_t get16(const std::vector<std::uint8_t>& b, std::size_t at) {
    return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
std::uint32_t get32(const std::vector<std::uint8_t>& b, std::size_t at) {
    return std::uint32_t(get16(b, at)) << 16 | get16(b, at + 2);
}

// The transport checksum of a reply verifies when summed with its pseudo-header.
bool transport_checksum_ok(const std::vector<std::uint8_t>& frame, bool v4, std::uint8_t protocol) {
    std::size_t ip = 14, header = v4 ? 20 : 40;
    std::size_t width = v4 ? 4 : 16, src = v4 ? ip + 12 : ip + 8;
    std::size_t length = frame.size() - ip - header;
    std::uint32_t pseudo = 0;
    for (std::size_t i = 0; i < 2 * width; i += 2) pseudo += get16(frame, src + i);
    pseudo += protocol + static_cast<std::uint32_t>(length);
    return internet_checksum(frame.data() + ip + header, length, pseudo) == 0;
}

VirtualNetwork virtual_network(bool host_loopback = true) {
    return {cidr("10.0.2.0/24"), cidr("[fd00::]/64"), ip("10.0.2.2"), ip("fd00::2"), host_loopback,
            ip("10.0.2.3"), ip("fd00::3"), {}};
}

// The verdict with no UDP flow delivered by a forward.
Verdict verdict_of(const PacketInfo& packet, const EgressPolicy& outside, const EgressPolicy& loopback,
                   const VirtualNetwork& network) {
    return egress_verdict(packet, outside, loopback, network, ForwardedUdpFlows{}, 0);
}

void put16(std::vector<std::uint8_t>& b, std::size_t at, std::uint16_t v) {
    b[at] = static_cast<std::uint8_t>(v >> 8);
    b[at + 1] = static_cast<std::uint8_t>(v);
}

// A frame as a guest's stack (or libslirp) writes it: Ethernet, IPv4 (DF) or IPv6, then a TCP
// segment with `tcp_flags` or a UDP datagram, carrying "hi", with valid checksums.
std::vector<std::uint8_t> frame(const std::string& from, std::uint16_t source_port, const std::string& to,
                                std::uint16_t destination_port, Protocol protocol, std::uint8_t tcp_flags = kTcpSyn) {
    IpAddress source = ip(from), destination = ip(to);
    bool v4 = source.family == IpFamily::V4, tcp = protocol == Protocol::Tcp;
    std::size_t ip_header = v4 ? 20 : 40, transport = (tcp ? 20 : 8) + 2, at = 14 + ip_header;
    std::vector<std::uint8_t> b(at + transport, 0);
    const std::uint8_t macs[12] = {0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    std::copy(macs, macs + 12, b.begin());
    put16(b, 12, v4 ? 0x0800 : 0x86dd);
    std::size_t width = v4 ? 4 : 16;
    if (v4) {
        b[14] = 0x45;
        put16(b, 16, static_cast<std::uint16_t>(ip_header + transport));
        put16(b, 18, 0x1234);
        put16(b, 20, 0x4000);  // don't fragment
        b[22] = 64;
        b[23] = tcp ? 6 : 17;
        std::copy(source.bytes.begin(), source.bytes.begin() + 4, b.begin() + 26);
        std::copy(destination.bytes.begin(), destination.bytes.begin() + 4, b.begin() + 30);
        put16(b, 24, internet_checksum(b.data() + 14, 20));
    } else {
        b[14] = 0x60;
        put16(b, 18, static_cast<std::uint16_t>(transport));
        b[20] = tcp ? 6 : 17;
        b[21] = 64;
        std::copy(source.bytes.begin(), source.bytes.end(), b.begin() + 22);
        std::copy(destination.bytes.begin(), destination.bytes.end(), b.begin() + 38);
    }
    put16(b, at, source_port);
    put16(b, at + 2, destination_port);
    if (tcp) {
        put16(b, at + 4, 1000);
        if (tcp_flags & kTcpAck) put16(b, at + 10, 2000);
        b[at + 12] = 5 << 4;
        b[at + 13] = tcp_flags;
        put16(b, at + 14, 65535);
    } else {
        put16(b, at + 4, static_cast<std::uint16_t>(transport));
    }
    b[b.size() - 2] = 'h';
    b[b.size() - 1] = 'i';
    std::uint32_t pseudo = 0;
    for (std::size_t i = 0; i < 2 * width; i += 2) pseudo += get16(b, (v4 ? 26 : 22) + i);
    pseudo += (tcp ? 6u : 17u) + static_cast<std::uint32_t>(transport);
    put16(b, at + (tcp ? 16 : 6), internet_checksum(b.data() + at, transport, pseudo));
    return b;
}

PacketInfo info_of(const std::vector<std::uint8_t>& bytes) {
    auto info = inspect_frame(bytes.data(), bytes.size());
    REQUIRE(info);
    return *info;
}

// An IPv4 frame cut to its first `keep` transport bytes and marked as the first fragment of more.
std::vector<std::uint8_t> first_fragment(std::vector<std::uint8_t> whole, std::size_t keep) {
    whole.resize(14 + 20 + keep);
    put16(whole, 16, static_cast<std::uint16_t>(20 + keep));
    put16(whole, 20, 0x2000);  // more fragments, offset 0
    put16(whole, 24, 0);
    put16(whole, 24, internet_checksum(whole.data() + 14, 20));
    return whole;
}

}  // namespace

TEST_CASE("net: IP addresses parse and print", "[net]") {
    CHECK(format_ip(ip("10.0.2.15")) == "10.0.2.15");
    CHECK(format_ip(ip("fd00::3")) == "fd00::3");
    CHECK(ip("::1").family == IpFamily::V6);
    CHECK_FALSE(parse_ip("10.0.2"));
    CHECK_FALSE(parse_ip("[::1]"));
    CHECK(is_loopback(ip("127.1.2.3")));
    CHECK(is_loopback(ip("::1")));
    CHECK_FALSE(is_loopback(ip("10.0.2.2")));
}

TEST_CASE("net: CIDR blocks", "[net]") {
    CHECK(cidr("10.0.0.0/8").contains(ip("10.200.1.1")));
    CHECK_FALSE(cidr("10.0.0.0/8").contains(ip("11.0.0.1")));
    CHECK(cidr("172.16.0.0/12").contains(ip("172.31.255.255")));
    CHECK_FALSE(cidr("172.16.0.0/12").contains(ip("172.32.0.0")));
    CHECK(cidr("192.168.1.7").prefix == 32);
    CHECK(cidr("[fe80::]/10").contains(ip("febf::1")));
    CHECK_FALSE(cidr("[fe80::]/10").contains(ip("fec0::1")));
    CHECK(cidr("fd00::/8").contains(ip("fd12::1")));
    CHECK_FALSE(cidr("10.0.0.0/8").contains(ip("::ffff:10.0.0.1")));  // families never mix
    CHECK(cidr("0.0.0.0/0").contains(ip("8.8.8.8")));
    CHECK(format_cidr(cidr("fd00::/8")) == "[fd00::]/8");

    std::string error;
    CHECK_FALSE(parse_cidr("10.0.0.1/8", error));
    CHECK(error == "\"10.0.0.1/8\" has host bits set (did you mean 10.0.0.0/8?)");
    CHECK_FALSE(parse_cidr("10.0.0.0/33", error));
    CHECK(error == "bad prefix length in \"10.0.0.0/33\"");
    CHECK_FALSE(parse_cidr("example.org/24", error));
    CHECK(error == "\"example.org\" is not an IP address");
    CHECK_FALSE(parse_cidr("[fd00::/8", error));
}

TEST_CASE("net: port forwards", "[net]") {
    std::string error;
    auto plain = parse_port_forward("8080:80", error);
    REQUIRE(plain);
    CHECK(format_ip(plain->host_address) == "127.0.0.1");  // loopback unless an address is given
    CHECK(plain->host_port == 8080);
    CHECK(plain->guest_port == 80);
    CHECK(plain->protocol == Protocol::Tcp);

    auto udp = parse_port_forward("127.0.0.1:5353:53/udp", error);
    REQUIRE(udp);
    CHECK(udp->protocol == Protocol::Udp);
    CHECK(format_port_forward(*udp) == "127.0.0.1:5353:53/udp");

    auto v6 = parse_port_forward("[::1]:8443:443", error);
    REQUIRE(v6);
    CHECK(v6->host_address == ip("::1"));
    CHECK(format_port_forward(*v6) == "[::1]:8443:443/tcp");

    for (const char* bad : {"80", "0:80", "70000:80", "8080:0", "::1:80:80", "x.y:1:2", "8080:80/sctp",
                            "[10.0.0.1]:1:2", "[::1]8443:443", "1:2:3:4"}) {
        INFO(bad);
        CHECK_FALSE(parse_port_forward(bad, error));
        CHECK_FALSE(error.empty());
    }
    parse_port_forward("8080:80/sctp", error);
    CHECK(error == "unknown protocol in \"8080:80/sctp\" (expected /tcp or /udp)");
}

TEST_CASE("net: egress rules", "[net]") {
    std::string error;
    auto rule = [&](const std::string& text) {
        auto parsed = parse_egress_rule(text, error);
        INFO(text << ": " << error);
        REQUIRE(parsed);
        return *parsed;
    };
    EgressRule all = rule("10.0.0.0/8");
    CHECK(all.port_low == 0);
    CHECK(all.port_high == 65535);
    CHECK(all.protocol == Protocol::Any);
    EgressRule dns = rule("192.168.1.7:53/udp");
    CHECK(dns.block == cidr("192.168.1.7/32"));
    CHECK(dns.port_low == 53);
    CHECK(dns.port_high == 53);
    CHECK(dns.protocol == Protocol::Udp);
    EgressRule v6 = rule("[fd00::]/8:443/tcp");
    CHECK(v6.block == cidr("[fd00::]/8"));
    CHECK(v6.protocol == Protocol::Tcp);
    EgressRule range = rule("0.0.0.0/0:1000-2000");
    CHECK(range.port_low == 1000);
    CHECK(range.port_high == 2000);
    CHECK(rule("10.0.0.0/8/tcp").protocol == Protocol::Tcp);
    CHECK(format_egress_rule(dns) == "192.168.1.7/32:53/udp");
    CHECK(format_egress_rule(range) == "0.0.0.0/0:1000-2000");
    for (const char* bad : {"10.0.0.0/8:0", "10.0.0.0/8:2000-1000", "10.0.0.0/8:http", "10.0.0.1/8", "nope"}) {
        INFO(bad);
        CHECK_FALSE(parse_egress_rule(bad, error));
    }
}

TEST_CASE("net: egress policy decisions", "[net]") {
    std::string error;
    auto rule = [&](const char* text) { return *parse_egress_rule(text, error); };
    SECTION("deny rules only: everything else is allowed") {
        EgressPolicy policy{{}, {rule("10.0.0.0/8")}};
        CHECK_FALSE(policy.allows(ip("10.1.1.1"), 80, Protocol::Tcp));
        CHECK(policy.allows(ip("93.184.216.34"), 80, Protocol::Tcp));
    }
    SECTION("allow rules only: an allow-list") {
        EgressPolicy policy{{rule("93.184.216.34:443/tcp")}, {}};
        CHECK(policy.allows(ip("93.184.216.34"), 443, Protocol::Tcp));
        CHECK_FALSE(policy.allows(ip("93.184.216.34"), 80, Protocol::Tcp));
        CHECK_FALSE(policy.allows(ip("93.184.216.34"), 443, Protocol::Udp));
        CHECK_FALSE(policy.allows(ip("1.1.1.1"), 443, Protocol::Tcp));
    }
    SECTION("both: allow punches holes in deny") {
        EgressPolicy policy{{rule("192.168.1.10:443/tcp")}, {rule("192.168.0.0/16")}};
        CHECK(policy.allows(ip("192.168.1.10"), 443, Protocol::Tcp));
        CHECK_FALSE(policy.allows(ip("192.168.1.10"), 22, Protocol::Tcp));
        CHECK(policy.allows(ip("8.8.8.8"), 53, Protocol::Udp));
    }
    SECTION("empty: everything") {
        CHECK(EgressPolicy{}.allows(ip("10.0.0.1"), 1, Protocol::Any));
    }
    SECTION("public-only") {
        EgressPolicy policy = public_only_policy();
        for (const char* lan : {"192.168.1.1", "10.0.0.1", "172.16.5.4", "169.254.1.1", "127.0.0.1", "100.64.0.1",
                                "224.0.0.251", "fe80::1", "fd12::1", "::1", "ff02::1"}) {
            INFO(lan);
            CHECK_FALSE(policy.allows(ip(lan), 443, Protocol::Tcp));
        }
        for (const char* internet : {"93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"}) {
            INFO(internet);
            CHECK(policy.allows(ip(internet), 443, Protocol::Tcp));
        }
    }
}

TEST_CASE("net: captured frames are inspected", "[net][packet]") {
    auto syn4 = captured("ipv4-tcp-syn");
    auto info = inspect_frame(syn4.data(), syn4.size());
    REQUIRE(info);
    CHECK(info->family == IpFamily::V4);
    CHECK(info->protocol == Protocol::Tcp);
    CHECK(info->destination == ip("127.0.0.1"));
    CHECK(info->destination_port == 443);
    CHECK(internet_checksum(syn4.data() + 14, 20) == 0);  // the kernel's IP header checksum verifies

    auto udp6 = captured("ipv6-udp");
    info = inspect_frame(udp6.data(), udp6.size());
    REQUIRE(info);
    CHECK(info->family == IpFamily::V6);
    CHECK(info->protocol == Protocol::Udp);
    CHECK(info->destination == ip("::1"));
    CHECK(info->destination_port == 53);

    std::vector<std::uint8_t> arp(42, 0);
    arp[12] = 0x08;
    arp[13] = 0x06;
    CHECK_FALSE(inspect_frame(arp.data(), arp.size()));
    CHECK_FALSE(inspect_frame(syn4.data(), 20));  // truncated
}

TEST_CASE("net: egress verdicts", "[net][packet]") {
    std::string error;
    EgressPolicy deny_loopback{{}, {*parse_egress_rule("127.0.0.0/8", error), *parse_egress_rule("[::1]/128", error)}};
    auto verdict = [&](const char* name) {
        auto frame = captured(name);
        return verdict_of(*inspect_frame(frame.data(), frame.size()), deny_loopback, EgressPolicy{},
                              virtual_network());
    };
    CHECK(verdict("ipv4-tcp-syn") == Verdict::Reset);
    CHECK(verdict("ipv4-udp") == Verdict::Unreachable);
    CHECK(verdict("ipv6-tcp-syn") == Verdict::Reset);
    CHECK(verdict("ipv6-udp") == Verdict::Unreachable);
    auto udp4 = captured("ipv4-udp");
    CHECK(verdict_of(*inspect_frame(udp4.data(), udp4.size()), EgressPolicy{}, EgressPolicy{}, virtual_network()) ==
          Verdict::Pass);
    // Inside the virtual network (here the DNS forwarder): passes whatever the policies say.
    PacketInfo to_dns;
    to_dns.destination = ip("10.0.2.3");
    to_dns.protocol = Protocol::Udp;
    to_dns.destination_port = 53;
    to_dns.transport_header = true;
    EgressPolicy deny_all{{}, {*parse_egress_rule("0.0.0.0/0", error), *parse_egress_rule("[::]/0", error)}};
    CHECK(verdict_of(to_dns, deny_all, deny_all, virtual_network()) == Verdict::Pass);
    // The gateway is the host's loopback: the loopback policy decides, as for 127.0.0.1.
    PacketInfo to_gateway;
    to_gateway.destination = ip("10.0.2.2");
    to_gateway.protocol = Protocol::Tcp;
    to_gateway.destination_port = 17001;
    to_gateway.transport_header = true;
    CHECK(verdict_of(to_gateway, deny_all, EgressPolicy{}, virtual_network()) == Verdict::Pass);
    EgressPolicy deny_port{{}, {*parse_egress_rule("127.0.0.1:17001/tcp", error)}};
    CHECK(verdict_of(to_gateway, EgressPolicy{}, deny_port, virtual_network()) == Verdict::Reset);
    to_gateway.destination_port = 17002;
    CHECK(verdict_of(to_gateway, EgressPolicy{}, deny_port, virtual_network()) == Verdict::Pass);
    PacketInfo to_gateway6 = to_gateway;
    to_gateway6.family = IpFamily::V6;
    to_gateway6.destination = ip("fd00::2");
    to_gateway6.destination_port = 17001;
    EgressPolicy deny_v6{{}, {*parse_egress_rule("[::1]/128", error)}};
    CHECK(verdict_of(to_gateway6, EgressPolicy{}, deny_v6, virtual_network()) == Verdict::Reset);
}

TEST_CASE("net: a denied TCP SYN gets a reset", "[net][packet]") {
    for (const char* name : {"ipv4-tcp-syn", "ipv6-tcp-syn"}) {
        INFO(name);
        auto syn = captured(name);
        auto info = *inspect_frame(syn.data(), syn.size());
        bool v4 = info.family == IpFamily::V4;
        auto reset = tcp_reset_for(syn.data(), syn.size(), info);
        std::size_t ip_header = v4 ? 20 : 40, tcp = 14 + ip_header;
        REQUIRE(reset.size() == tcp + 20);
        CHECK(std::equal(reset.begin(), reset.begin() + 6, syn.begin() + 6));  // back to the sender
        auto reply = *inspect_frame(reset.data(), reset.size());
        CHECK(reply.source == info.destination);
        CHECK(reply.destination == info.source);
        CHECK(reply.source_port == info.destination_port);
        CHECK(reply.destination_port == info.source_port);
        CHECK(reset[tcp + 13] == 0x14);                                      // RST | ACK
        CHECK(get32(reset, tcp + 8) == get32(syn, 14 + ip_header + 4) + 1);  // acks the SYN
        if (v4) CHECK(internet_checksum(reset.data() + 14, 20) == 0);
        CHECK(transport_checksum_ok(reset, v4, 6));
        CHECK(tcp_reset_for(reset.data(), reset.size(), reply).empty());  // never a reset for a reset
    }
}

TEST_CASE("net: a denied UDP packet gets an ICMP unreachable", "[net][packet]") {
    for (const char* name : {"ipv4-udp", "ipv6-udp"}) {
        INFO(name);
        auto udp = captured(name);
        auto info = *inspect_frame(udp.data(), udp.size());
        bool v4 = info.family == IpFamily::V4;
        auto icmp = icmp_unreachable_for(udp.data(), udp.size(), info, virtual_network());
        std::size_t at = 14 + (v4 ? 20 : 40);
        REQUIRE(icmp.size() > at + 8);
        auto reply = *inspect_frame(icmp.data(), icmp.size());
        CHECK(reply.ip_protocol == (v4 ? 1 : 58));
        CHECK(reply.destination == info.source);
        CHECK(icmp[at] == (v4 ? 3 : 1));     // destination unreachable
        CHECK(icmp[at + 1] == (v4 ? 13 : 1)); // administratively prohibited
        // The quoted original starts with the original IP header.
        CHECK(std::equal(icmp.begin() + static_cast<std::ptrdiff_t>(at + 8),
                         icmp.begin() + static_cast<std::ptrdiff_t>(at + 8 + (v4 ? 20 : 40)), udp.begin() + 14));
        if (v4) {
            CHECK(internet_checksum(icmp.data() + 14, 20) == 0);
            CHECK(internet_checksum(icmp.data() + at, icmp.size() - at) == 0);
        } else {
            CHECK(transport_checksum_ok(icmp, false, 58));
        }
    }
}

TEST_CASE("net: server addresses", "[net]") {
    std::string error;
    auto plain = parse_server_address("127.0.0.1", 53, error);
    REQUIRE(plain);
    CHECK(format_server_address(*plain) == "127.0.0.1:53");
    CHECK(format_server_address(*parse_server_address("127.0.0.1:5353", 53, error)) == "127.0.0.1:5353");
    CHECK(format_server_address(*parse_server_address("::1", 53, error)) == "[::1]:53");
    CHECK(format_server_address(*parse_server_address("[::1]:5353", 53, error)) == "[::1]:5353");
    CHECK_FALSE(parse_server_address("127.0.0.1:0", 53, error));
    CHECK_FALSE(parse_server_address("dns.example", 53, error));
    CHECK_FALSE(parse_server_address("[::1", 53, error));
}

TEST_CASE("net: a UDP answer goes back to the asker with valid checksums", "[net][packet]") {
    for (const char* name : {"ipv4-udp", "ipv6-udp"}) {
        INFO(name);
        auto query = captured(name);
        auto info = *inspect_frame(query.data(), query.size());
        CHECK(udp_payload(query.data(), query.size(), info) == std::vector<std::uint8_t>{'h', 'e', 'l', 'l', 'o', '-', 'u', 'd', 'p'});
        std::vector<std::uint8_t> answer{'a', 'n', 's'};
        auto reply = udp_reply_for(query.data(), info, answer);
        auto back = *inspect_frame(reply.data(), reply.size());
        CHECK(back.protocol == Protocol::Udp);
        CHECK(back.source == info.destination);
        CHECK(back.destination == info.source);
        CHECK(back.source_port == info.destination_port);
        CHECK(back.destination_port == info.source_port);
        CHECK(udp_payload(reply.data(), reply.size(), back) == answer);
        bool v4 = info.family == IpFamily::V4;
        if (v4) CHECK(internet_checksum(reply.data() + 14, 20) == 0);
        CHECK(transport_checksum_ok(reply, v4, 17));
    }
}

TEST_CASE("net: the gateway is closed without host loopback", "[net][packet]") {
    for (auto [guest, gateway] : {std::pair{"10.0.2.100", "10.0.2.2"}, std::pair{"fd00::100", "fd00::2"}}) {
        INFO(guest);
        VirtualNetwork closed = virtual_network(false);
        CHECK(verdict_of(info_of(frame(guest, 40000, gateway, 17001, Protocol::Tcp)), EgressPolicy{}, EgressPolicy{},
                         closed) == Verdict::Reset);
        CHECK(verdict_of(info_of(frame(guest, 40000, gateway, 17001, Protocol::Udp)), EgressPolicy{}, EgressPolicy{},
                         closed) == Verdict::Unreachable);
        CHECK(verdict_of(info_of(frame(guest, 40000, gateway, 17001, Protocol::Tcp)), EgressPolicy{}, EgressPolicy{},
                         virtual_network(true)) == Verdict::Pass);
    }
}

// Issue 8 A.1: the payload chooses its source port, so a forward's guest port must not open the
// host's loopback. A TCP segment opening a connection is never an answer.
TEST_CASE("net: a SYN from a forward's guest port to the gateway is host-loopback traffic", "[net][packet]") {
    for (auto [guest, gateway] : {std::pair{"10.0.2.100", "10.0.2.2"}, std::pair{"fd00::100", "fd00::2"}}) {
        INFO(guest);
        VirtualNetwork closed = virtual_network(false);
        closed.forwarded_ports = {{Protocol::Tcp, 8080}};
        auto verdict = [&](std::uint8_t flags, const VirtualNetwork& network, const EgressPolicy& loopback = {}) {
            return verdict_of(info_of(frame(guest, 8080, gateway, 22, Protocol::Tcp, flags)), EgressPolicy{}, loopback,
                              network);
        };
        CHECK(verdict(kTcpSyn, closed) == Verdict::Reset);
        CHECK(verdict(kTcpSyn | kTcpFin, closed) == Verdict::Reset);
        CHECK(verdict(kTcpSyn | 0x40 /* ECE */ | 0x80 /* CWR */, closed) == Verdict::Reset);
        // The forward's own connections: libslirp opened them towards the sandbox, and it resets
        // segments of connections it does not have.
        CHECK(verdict(kTcpSyn | kTcpAck, closed) == Verdict::Pass);
        CHECK(verdict(kTcpAck, closed) == Verdict::Pass);
        CHECK(verdict(kTcpAck | 0x08 /* PSH */, closed) == Verdict::Pass);
        CHECK(verdict(kTcpFin | kTcpAck, closed) == Verdict::Pass);
        CHECK(verdict(kTcpRst, closed) == Verdict::Pass);
        // Another port, or UDP on the same port: not the forward.
        CHECK(verdict_of(info_of(frame(guest, 8081, gateway, 22, Protocol::Tcp, kTcpAck)), EgressPolicy{},
                         EgressPolicy{}, closed) == Verdict::Reset);
        CHECK(verdict_of(info_of(frame(guest, 8080, gateway, 22, Protocol::Udp)), EgressPolicy{}, EgressPolicy{},
                         closed) == Verdict::Unreachable);
        // With host loopback the SYN is judged by the loopback rules, like any other.
        VirtualNetwork open = closed;
        open.host_loopback = true;
        std::string error;
        EgressPolicy deny_ssh{{}, {*parse_egress_rule("127.0.0.1:22/tcp", error), *parse_egress_rule("[::1]:22/tcp", error)}};
        CHECK(verdict(kTcpSyn, open) == Verdict::Pass);
        CHECK(verdict(kTcpSyn, open, deny_ssh) == Verdict::Reset);
    }
}

TEST_CASE("net: fragments never carry a forward's answer past the filter", "[net][packet]") {
    VirtualNetwork closed = virtual_network(false);
    closed.forwarded_ports = {{Protocol::Tcp, 8080}, {Protocol::Udp, 5353}};
    // A fragmented TCP segment is never an answer: reassembly must not get to pick the flags.
    auto ack = frame("10.0.2.100", 8080, "10.0.2.2", 22, Protocol::Tcp, kTcpAck);
    auto fragmented = first_fragment(ack, 20);
    auto info = info_of(fragmented);
    CHECK(info.fragment);
    CHECK(info.transport_header);
    CHECK(verdict_of(info, EgressPolicy{}, EgressPolicy{}, closed) == Verdict::Reset);
    // A first fragment too short for its header is dropped wherever it goes: a later overlapping
    // first fragment would supply only the rest of the header to libslirp's reassembly.
    for (std::size_t keep : {0, 3, 4, 12}) {
        INFO(keep);
        auto tiny = info_of(first_fragment(ack, keep));
        CHECK(tiny.protocol == Protocol::Tcp);
        CHECK_FALSE(tiny.transport_header);
        CHECK(verdict_of(tiny, EgressPolicy{}, EgressPolicy{}, closed) == Verdict::Drop);
        CHECK(verdict_of(tiny, EgressPolicy{}, EgressPolicy{}, virtual_network(true)) == Verdict::Drop);
    }
    auto tiny_udp = info_of(first_fragment(frame("10.0.2.100", 5353, "192.0.2.1", 53, Protocol::Udp), 4));
    CHECK(verdict_of(tiny_udp, EgressPolicy{}, EgressPolicy{}, closed) == Verdict::Drop);
    // A whole UDP header in a first fragment is judged like the datagram (a large answer).
    auto udp_first = info_of(first_fragment(frame("10.0.2.100", 5353, "10.0.2.2", 40000, Protocol::Udp), 8));
    CHECK(udp_first.transport_header);
    CHECK(verdict_of(udp_first, EgressPolicy{}, EgressPolicy{}, closed) == Verdict::Unreachable);
    ForwardedUdpFlows flows;
    flows.delivered({ip("10.0.2.100"), 5353, ip("10.0.2.2"), 40000}, 0);
    CHECK(egress_verdict(udp_first, EgressPolicy{}, EgressPolicy{}, closed, flows, 1) == Verdict::Pass);
}

// UDP has no connections: an answer is a datagram back along a flow the forward delivered.
TEST_CASE("net: UDP answers pass only along flows a forward delivered", "[net][packet]") {
    for (auto [guest, gateway, other] : {std::tuple{"10.0.2.100", "10.0.2.2", "10.0.2.101"},
                                         std::tuple{"fd00::100", "fd00::2", "fd00::101"}}) {
        INFO(guest);
        VirtualNetwork closed = virtual_network(false);
        closed.forwarded_ports = {{Protocol::Udp, 5353}, {Protocol::Tcp, 8080}};
        ForwardedUdpFlows flows;
        // libslirp hands the sandbox a host client's datagram: from the gateway, port 40000.
        auto delivery = forward_delivery(info_of(frame(gateway, 40000, guest, 5353, Protocol::Udp)), closed);
        REQUIRE(delivery);
        CHECK(*delivery == UdpFlow{ip(guest), 5353, ip(gateway), 40000});
        flows.delivered(*delivery, 1000);
        auto verdict = [&](const char* from, std::uint16_t source_port, std::uint16_t destination_port,
                           std::int64_t now_ms) {
            return egress_verdict(info_of(frame(from, source_port, gateway, destination_port, Protocol::Udp)),
                                  EgressPolicy{}, EgressPolicy{}, closed, flows, now_ms);
        };
        CHECK(verdict(guest, 5353, 40000, 2000) == Verdict::Pass);         // the answer
        CHECK(verdict(guest, 5353, 53, 2000) == Verdict::Unreachable);     // any other host port
        CHECK(verdict(guest, 5353, 40001, 2000) == Verdict::Unreachable);
        CHECK(verdict(guest, 5354, 40000, 2000) == Verdict::Unreachable);  // another guest port
        CHECK(verdict(other, 5353, 40000, 2000) == Verdict::Unreachable);  // another source address
        CHECK(verdict(guest, 5353, 40000, 1000 + ForwardedUdpFlows::kLifetimeMs) == Verdict::Unreachable);
        // Nothing else is a delivery: TCP, another port, another sender, another family.
        CHECK_FALSE(forward_delivery(info_of(frame(gateway, 40000, guest, 8080, Protocol::Tcp)), closed));
        CHECK_FALSE(forward_delivery(info_of(frame(gateway, 40000, guest, 5354, Protocol::Udp)), closed));
        bool v4 = ip(guest).family == IpFamily::V4;
        CHECK_FALSE(forward_delivery(info_of(frame(v4 ? "10.0.2.3" : "fd00::3", 53, guest, 5353, Protocol::Udp)), closed));
        CHECK_FALSE(flows.answers({ip(v4 ? "fd00::100" : "10.0.2.100"), 5353, ip(v4 ? "fd00::2" : "10.0.2.2"), 40000}, 2000));
    }
}

TEST_CASE("net: the forwarded UDP flows are bounded", "[net][packet]") {
    auto flow = [](std::uint16_t peer_port) { return UdpFlow{ip("10.0.2.100"), 5353, ip("10.0.2.2"), peer_port}; };
    ForwardedUdpFlows flows(3, 100);
    flows.delivered(flow(1), 0);
    flows.delivered(flow(2), 10);
    flows.delivered(flow(3), 20);
    flows.delivered(flow(1), 30);  // again: refreshed, not added
    CHECK(flows.size() == 3);
    flows.delivered(flow(4), 40);  // full: the one delivered to longest ago (2) makes room
    CHECK(flows.size() == 3);
    CHECK_FALSE(flows.answers(flow(2), 40));
    CHECK(flows.answers(flow(1), 40));
    CHECK(flows.answers(flow(3), 40));
    CHECK(flows.answers(flow(4), 40));
    // Forgotten a lifetime after the last delivery; answering does not prolong a flow.
    CHECK(flows.answers(flow(3), 119));
    CHECK_FALSE(flows.answers(flow(3), 120));
    CHECK(flows.answers(flow(1), 129));
    // Once full, the expired go first.
    flows.delivered(flow(5), 135);  // 3 expired at 120, 1 at 130: both go, 4 stays
    CHECK(flows.size() == 2);
    CHECK(flows.answers(flow(4), 135));
    CHECK(flows.answers(flow(5), 135));
    ForwardedUdpFlows none(0, 100);
    none.delivered(flow(1), 0);
    CHECK_FALSE(none.answers(flow(1), 0));
}

TEST_CASE("net: neighbour discovery and ICMP to the gateway always pass", "[net][packet]") {
    std::string error;
    EgressPolicy public_only = public_only_policy();
    PacketInfo ndp;
    ndp.family = IpFamily::V6;
    ndp.ip_protocol = 58;
    ndp.destination = ip("fe80::2");  // the gateway's link-local address
    CHECK(verdict_of(ndp, public_only, EgressPolicy{}, virtual_network(false)) == Verdict::Pass);
    ndp.destination = ip("ff02::1:ff00:100");  // solicited-node multicast
    CHECK(verdict_of(ndp, public_only, EgressPolicy{}, virtual_network(false)) == Verdict::Pass);
    ndp.destination = ip("fd00::2");  // an NA to the gateway's own address
    CHECK(verdict_of(ndp, public_only, EgressPolicy{}, virtual_network(false)) == Verdict::Pass);
}

// libslirp sends TCP and UDP for 255.255.255.255 and ff02::1 to the host's loopback, like the
// gateway's; the virtual network's other addresses have nothing behind them.
TEST_CASE("net: broadcast and the virtual network's other addresses are no way to the host", "[net][packet]") {
    std::string error;
    EgressPolicy deny_all{{}, {*parse_egress_rule("0.0.0.0/0", error), *parse_egress_rule("[::]/0", error)}};
    for (auto [guest, target] : {std::pair{"10.0.2.100", "255.255.255.255"}, std::pair{"fd00::100", "ff02::1"}}) {
        INFO(target);
        CHECK(reaches_host_loopback(ip(target), virtual_network()));
        for (Protocol protocol : {Protocol::Tcp, Protocol::Udp}) {
            auto packet = info_of(frame(guest, 40000, target, 53, protocol));
            CHECK(verdict_of(packet, EgressPolicy{}, EgressPolicy{}, virtual_network(false)) ==
                  (protocol == Protocol::Tcp ? Verdict::Reset : Verdict::Unreachable));
            // With host loopback, judged by the loopback rules (not the outside ones).
            CHECK(verdict_of(packet, deny_all, EgressPolicy{}, virtual_network(true)) == Verdict::Pass);
            CHECK(verdict_of(packet, EgressPolicy{}, deny_all, virtual_network(true)) != Verdict::Pass);
        }
    }
    for (const char* other : {"10.0.2.255", "10.0.2.50", "fd00::50", "fd00::ffff"}) {
        INFO(other);
        CHECK_FALSE(reaches_host_loopback(ip(other), virtual_network()));
        const char* guest = ip(other).family == IpFamily::V4 ? "10.0.2.100" : "fd00::100";
        CHECK(verdict_of(info_of(frame(guest, 40000, other, 22, Protocol::Tcp)), EgressPolicy{}, EgressPolicy{},
                         virtual_network(true)) == Verdict::Reset);
        CHECK(verdict_of(info_of(frame(guest, 40000, other, 22, Protocol::Udp)), EgressPolicy{}, EgressPolicy{},
                         virtual_network(true)) == Verdict::Unreachable);
    }
    // The DNS forwarder stays reachable whatever the rules; TCP and UDP to other link-local and
    // multicast addresses leave the host and follow the outside rules.
    CHECK(verdict_of(info_of(frame("fd00::100", 40000, "fd00::3", 53, Protocol::Udp)), deny_all, deny_all,
                     virtual_network(false)) == Verdict::Pass);
    CHECK(verdict_of(info_of(frame("10.0.2.100", 40000, "10.0.2.3", 53, Protocol::Tcp)), deny_all, deny_all,
                     virtual_network(false)) == Verdict::Pass);
    CHECK(verdict_of(info_of(frame("10.0.2.100", 40000, "10.0.2.3", 22, Protocol::Tcp)), EgressPolicy{}, EgressPolicy{},
                     virtual_network(true)) == Verdict::Reset);
    CHECK(verdict_of(info_of(frame("fd00::100", 40000, "fd00::3", 5353, Protocol::Udp)), EgressPolicy{}, EgressPolicy{},
                     virtual_network(true)) == Verdict::Unreachable);
    auto mdns = info_of(frame("fd00::100", 5353, "ff02::fb", 5353, Protocol::Udp));
    CHECK(verdict_of(mdns, EgressPolicy{}, EgressPolicy{}, virtual_network(false)) == Verdict::Pass);
    CHECK(verdict_of(mdns, public_only_policy(), EgressPolicy{}, virtual_network(false)) == Verdict::Unreachable);
}

TEST_CASE("net: an ICMP error for a broadcast or multicast destination comes from the gateway", "[net][packet]") {
    for (auto [guest, target, gateway] : {std::tuple{"10.0.2.100", "255.255.255.255", "10.0.2.2"},
                                          std::tuple{"10.0.2.100", "10.0.2.255", "10.0.2.2"},
                                          std::tuple{"fd00::100", "ff02::1", "fd00::2"}}) {
        INFO(target);
        auto udp = frame(guest, 40000, target, 53, Protocol::Udp);
        std::fill(udp.begin(), udp.begin() + 6, std::uint8_t(0xff));  // to the broadcast MAC
        auto icmp = icmp_unreachable_for(udp.data(), udp.size(), info_of(udp), virtual_network());
        auto reply = info_of(icmp);
        CHECK(reply.source == ip(gateway));
        CHECK(reply.destination == ip(guest));
        CHECK(std::vector<std::uint8_t>(icmp.begin() + 6, icmp.begin() + 12) ==
              std::vector<std::uint8_t>{0x52, 0x55, 10, 0, 2, 2});
        bool v4 = reply.family == IpFamily::V4;
        if (v4) CHECK(internet_checksum(icmp.data() + 34, icmp.size() - 34) == 0);
        else CHECK(transport_checksum_ok(icmp, false, 58));
    }
    auto unicast = frame("10.0.2.100", 40000, "10.0.2.2", 53, Protocol::Udp);
    CHECK(info_of(icmp_unreachable_for(unicast.data(), unicast.size(), info_of(unicast), virtual_network())).source ==
          ip("10.0.2.2"));
}
