// The egress filter's view of the Ethernet frames the sandbox sends, and the replies that make
// a denied connection fail fast: a TCP reset, or an ICMP "administratively prohibited". Pure:
// bytes in, bytes out; the supervisor applies it before frames reach libslirp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
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
    // TCP/UDP: the whole transport header (20 bytes TCP, 8 UDP) is in this frame; false when the
    // packet is too short to hold it, a tiny first IPv4 fragment say (its ports are then 0).
    bool transport_header = false;
    std::uint8_t tcp_flags = 0;           // with the whole TCP header
    bool fragment = false;                // IPv4: "more fragments" set, or a later fragment
};

constexpr std::uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

// Reads an Ethernet II frame carrying IPv4 or IPv6; nullopt for anything else (ARP, NDP's
// neighbour messages go through as "not IP" only if not IPv6: NDP is IPv6 and is inspected).
// A later IPv4 fragment carries no transport header: its protocol is Any.
std::optional<PacketInfo> inspect_frame(const std::uint8_t* frame, std::size_t length);

enum class Verdict { Pass, Reset, Unreachable, Drop };

// The sandbox's virtual network.
struct VirtualNetwork {
    Cidr subnet4, subnet6;          // 10.0.2.0/24, fd00::/64
    IpAddress gateway4, gateway6;   // 10.0.2.2, fd00::2: the host's loopback, when allowed
    bool host_loopback = false;     // allow_host_loopback
    IpAddress dns4, dns6;           // 10.0.2.3, fd00::3: libslirp's DNS forwarder
    // Guest ports of the port forwards. The host's clients reach the sandbox from the gateway's
    // address; what the sandbox answers them passes even without host loopback (see
    // answers_forward).
    std::vector<std::pair<Protocol, std::uint16_t>> forwarded_ports;
};

// A UDP exchange a port forward delivered into the sandbox: a host client's datagram reached
// `guest`:`guest_port` (the forward's guest port) from `peer`:`peer_port` (the gateway's address
// and the client's port, for a client on the host's loopback).
struct UdpFlow {
    IpAddress guest;
    std::uint16_t guest_port = 0;
    IpAddress peer;
    std::uint16_t peer_port = 0;
    bool operator==(const UdpFlow&) const = default;
};

// The UDP flows the forwards delivered lately: only to these may the sandbox answer through the
// gateway without host loopback. UDP has no connections, and the source port of a datagram is
// the sandbox's to choose: without this table a payload that binds a forward's guest port could
// send to any port on the host's loopback. Bounded: a flow is forgotten `lifetime_ms` after its
// last delivered datagram (answers do not prolong it), and when `capacity` flows are known the
// one delivered to longest ago makes room. Pure: the caller gives the time.
class ForwardedUdpFlows {
public:
    static constexpr std::size_t kCapacity = 1024;
    static constexpr std::int64_t kLifetimeMs = 240000;  // libslirp's own UDP socket lifetime

    explicit ForwardedUdpFlows(std::size_t capacity = kCapacity, std::int64_t lifetime_ms = kLifetimeMs)
        : capacity_(capacity), lifetime_ms_(lifetime_ms) {}

    // A datagram of `flow` reached the sandbox at `now_ms`.
    void delivered(const UdpFlow& flow, std::int64_t now_ms);
    // Whether a datagram from flow.guest:guest_port to flow.peer:peer_port answers a delivery.
    bool answers(const UdpFlow& flow, std::int64_t now_ms) const;
    std::size_t size() const { return last_delivery_.size(); }

private:
    struct Less {
        bool operator()(const UdpFlow& a, const UdpFlow& b) const;
    };
    void forget_expired(std::int64_t now_ms);

    std::size_t capacity_;
    std::int64_t lifetime_ms_;
    std::map<UdpFlow, std::int64_t, Less> last_delivery_;
};

// The flow to remember when libslirp hands the sandbox `packet`: a UDP datagram from the gateway
// to a UDP forward's guest port; nullopt for anything else.
std::optional<UdpFlow> forward_delivery(const PacketInfo& packet, const VirtualNetwork& network);

// Whether `packet`, sent by the sandbox to the gateway, answers a port forward's client rather
// than starting something on the host's loopback. TCP: a whole, unfragmented segment from a TCP
// forward's guest port that does not open a connection (a SYN without ACK never answers; other
// segments only reach libslirp's connections, and it resets those of none). UDP: a datagram of a
// flow the forward delivered (`udp_flows`), with its whole header.
bool answers_forward(const PacketInfo& packet, const VirtualNetwork& network, const ForwardedUdpFlows& udp_flows,
                     std::int64_t now_ms);

// Whether libslirp sends TCP and UDP to `destination` to the host's loopback: the gateway, and
// the broadcast 255.255.255.255 and all-nodes ff02::1 it translates like the gateway.
bool reaches_host_loopback(const IpAddress& destination, const VirtualNetwork& network);

// What to do with a frame from the sandbox. Traffic leaving the virtual network is checked
// against `outside`. TCP and UDP that reach the host's loopback (reaches_host_loopback) are
// denied unless host loopback is allowed (or they answer a port forward, see answers_forward),
// then checked against `loopback` (the profile's own rules, without a preset's) as if sent to
// 127.0.0.1 or ::1. TCP and UDP to the DNS forwarder's port 53 pass, to its other ports and to
// other addresses of the virtual network are denied. Everything else to the virtual network, its link-local and multicast
// addresses and the gateway (ICMP: echo, neighbour discovery) passes.
// A first IPv4 fragment of TCP or UDP too short to hold the whole transport header is dropped
// wherever it goes: libslirp's reassembly would let a later overlapping first fragment (the one
// judged) supply only the rest of the header, so the ports judged would not be the ports used.
Verdict egress_verdict(const PacketInfo& packet, const EgressPolicy& outside, const EgressPolicy& loopback,
                       const VirtualNetwork& network, const ForwardedUdpFlows& udp_flows, std::int64_t now_ms);

// Whether `packet` goes beyond the virtual network and the host's loopback: to the outside
// world, where allow_domains decides (not the virtual network's addresses, the gateway, the DNS
// address, nor ICMPv6 to link-local and multicast addresses).
bool leaves_virtual_network(const PacketInfo& packet, const VirtualNetwork& network);

// The reply frame for a denied packet (sent back into the sandbox); empty if none is possible.
std::vector<std::uint8_t> tcp_reset_for(const std::uint8_t* frame, std::size_t length, const PacketInfo& packet);
// The ICMP error comes from the denied destination, unless that is a broadcast or multicast
// address (no host takes an error from one): then from the gateway, as libslirp sends it.
std::vector<std::uint8_t> icmp_unreachable_for(const std::uint8_t* frame, std::size_t length,
                                               const PacketInfo& packet, const VirtualNetwork& network);

// The UDP payload of a frame (empty when it is not UDP or is malformed).
std::vector<std::uint8_t> udp_payload(const std::uint8_t* frame, std::size_t length, const PacketInfo& packet);
// A UDP answer to `packet` carrying `payload`: from its destination address and port back to its
// source (the DNS forwarder answering a query, say).
std::vector<std::uint8_t> udp_reply_for(const std::uint8_t* frame, const PacketInfo& packet,
                                        const std::vector<std::uint8_t>& payload);

// The Internet checksum (RFC 1071) of `data`, starting from `initial` (a partial sum).
std::uint16_t internet_checksum(const std::uint8_t* data, std::size_t length, std::uint32_t initial = 0);

}  // namespace sb
