// Network values from profiles, parsed and checked without touching the network: addresses,
// CIDR blocks, port forwards and egress rules, and the egress decision itself. Pure.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb {

enum class IpFamily { V4, V6 };
enum class Protocol { Tcp, Udp, Any };

struct IpAddress {
    IpFamily family = IpFamily::V4;
    std::array<std::uint8_t, 16> bytes{};  // v4 uses the first 4
    bool operator==(const IpAddress&) const = default;
};

std::optional<IpAddress> parse_ip(const std::string& text);
std::string format_ip(const IpAddress& address);
bool is_loopback(const IpAddress& address);

struct Cidr {
    IpAddress base;      // with the host bits cleared
    unsigned prefix = 0; // 0..32 or 0..128
    bool contains(const IpAddress& address) const;
    bool operator==(const Cidr&) const = default;
};

// "10.0.0.0/8", "192.168.1.7" (a /32), "fd00::/8", "[fd00::]/8", "::1".
// Returns nullopt with `error` set when malformed (host bits set is an error too).
std::optional<Cidr> parse_cidr(const std::string& text, std::string& error);
std::string format_cidr(const Cidr& cidr);

// A host -> sandbox forward: "[HOSTADDR:]HOSTPORT:GUESTPORT[/tcp|/udp]"; an IPv6 host address in
// brackets ("[::1]:8443:443"). Without an address the host side binds 127.0.0.1.
struct PortForward {
    IpAddress host_address;
    std::uint16_t host_port = 0;
    std::uint16_t guest_port = 0;
    Protocol protocol = Protocol::Tcp;
    bool operator==(const PortForward&) const = default;
};
std::optional<PortForward> parse_port_forward(const std::string& text, std::string& error);
std::string format_port_forward(const PortForward& forward);
// True when both listen on the same host address, port and protocol.
bool same_host_side(const PortForward& a, const PortForward& b);
// Adds `forward`, replacing one with the same host side (a later setting wins).
void add_port_forward(std::vector<PortForward>& forwards, const PortForward& forward);

// A server address with a port: "127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353".
struct ServerAddress {
    IpAddress address;
    std::uint16_t port = 0;
    bool operator==(const ServerAddress&) const = default;
};
std::optional<ServerAddress> parse_server_address(const std::string& text, std::uint16_t default_port,
                                                  std::string& error);
std::string format_server_address(const ServerAddress& server);

// An egress rule: "CIDR[:PORT[-PORT]][/tcp|/udp]", IPv6 blocks in brackets ("[fd00::]/8:443/tcp").
struct EgressRule {
    Cidr block;
    std::uint16_t port_low = 0, port_high = 65535;  // all ports unless given
    Protocol protocol = Protocol::Any;
    bool operator==(const EgressRule&) const = default;
};
std::optional<EgressRule> parse_egress_rule(const std::string& text, std::string& error);
std::string format_egress_rule(const EgressRule& rule);

// What the sandbox may send to. A destination matching an allow rule is allowed; otherwise one
// matching a deny rule is denied; otherwise it is allowed, unless the policy has allow rules
// and no deny rules (an allow-list: everything else is denied).
struct EgressPolicy {
    std::vector<EgressRule> allow, deny;
    bool allows(const IpAddress& destination, std::uint16_t port, Protocol protocol) const;
};

// The "public-only" preset: private, loopback, link-local, CGNAT, multicast and the
// unique-local/site ranges of IPv6 are denied.
EgressPolicy public_only_policy();

}  // namespace sb
