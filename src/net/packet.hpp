// The egress filter's view of the Ethernet frames the sandbox sends, and the replies that make
// a denied connection fail fast: a TCP reset, or an ICMP "administratively prohibited". Pure:
// bytes in, bytes out; the supervisor applies it before frames reach libslirp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "net/address.hpp"

namespace sb {

struct PacketInfo {
    IpFamily family = IpFamily::V4;
    std::uint8_t ip_protocol = 0;         // 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...
    Protocol protocol = Protocol::Any;    // Tcp/Udp, or Any for everything else
    IpAddress source, destination;
    std::uint16_t source_port = 0, destination_port = 0;
    std::size_t ip_offset = 14;           // where the IP header starts in the frame
};

// Reads an Ethernet II frame carrying IPv4 or IPv6; nullopt for anything else (ARP, NDP's
// neighbour messages go through as "not IP" only if not IPv6: NDP is IPv6 and is inspected).
std::optional<PacketInfo> inspect_frame(const std::uint8_t* frame, std::size_t length);

enum class Verdict { Pass, Reset, Unreachable, Drop };

// The sandbox's virtual network.
struct VirtualNetwork {
    Cidr subnet4, subnet6;          // 10.0.2.0/24, fd00::/64
    IpAddress gateway4, gateway6;   // 10.0.2.2, fd00::2: the host's loopback, when allowed
    bool host_loopback = false;     // allow_host_loopback
    // Guest ports of the port forwards: what they send to the gateway are answers to the host's
    // clients (which reach the sandbox from the gateway's address), allowed even without
    // host loopback.
    std::vector<std::pair<Protocol, std::uint16_t>> forwarded_ports;
};

// What to do with a frame from the sandbox. Traffic leaving the virtual network is checked
// against `outside`. Traffic to the gateway is traffic to the host's loopback: denied unless
// host loopback is allowed (or it answers a port forward), then checked against `loopback` (the
// profile's own rules, without a preset's) as if sent to 127.0.0.1 or ::1. Everything else inside
// the virtual network (DNS, neighbour discovery, multicast) passes.
Verdict egress_verdict(const PacketInfo& packet, const EgressPolicy& outside, const EgressPolicy& loopback,
                       const VirtualNetwork& network);

// The reply frame for a denied packet (sent back into the sandbox); empty if none is possible.
std::vector<std::uint8_t> tcp_reset_for(const std::uint8_t* frame, std::size_t length, const PacketInfo& packet);
std::vector<std::uint8_t> icmp_unreachable_for(const std::uint8_t* frame, std::size_t length,
                                               const PacketInfo& packet);

// The UDP payload of a frame (empty when it is not UDP or is malformed).
std::vector<std::uint8_t> udp_payload(const std::uint8_t* frame, std::size_t length, const PacketInfo& packet);
// A UDP answer to `packet` carrying `payload`: from its destination address and port back to its
// source (the DNS forwarder answering a query, say).
std::vector<std::uint8_t> udp_reply_for(const std::uint8_t* frame, const PacketInfo& packet,
                                        const std::vector<std::uint8_t>& payload);

// The Internet checksum (RFC 1071) of `data`, starting from `initial` (a partial sum).
std::uint16_t internet_checksum(const std::uint8_t* data, std::size_t length, std::uint32_t initial = 0);

}  // namespace sb
