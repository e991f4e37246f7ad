#include "net/packet.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <tuple>

namespace sb {
namespace {

constexpr std::size_t kEthernet = 14;
constexpr std::uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd;
constexpr std::uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmpv6 = 58;

std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
std::uint32_t get32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3];
}
void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
    put16(p, static_cast<std::uint16_t>(v >> 16));
    put16(p + 2, static_cast<std::uint16_t>(v));
}

std::uint32_t partial_sum(const std::uint8_t* data, std::size_t length, std::uint32_t sum = 0) {
    for (std::size_t i = 0; i + 1 < length; i += 2) sum += get16(data + i);
    if (length % 2) sum += std::uint32_t(data[length - 1]) << 8;
    return sum;
}

// The pseudo-header sum for TCP/UDP/ICMPv6 checksums.
std::uint32_t pseudo_header(const IpAddress& source, const IpAddress& destination, std::uint8_t protocol,
                            std::size_t length) {
    std::size_t width = source.family == IpFamily::V4 ? 4 : 16;
    std::uint32_t sum = partial_sum(source.bytes.data(), width);
    sum = partial_sum(destination.bytes.data(), width, sum);
    return sum + protocol + static_cast<std::uint32_t>(length);
}

// Ethernet + IP header of a reply from `packet.destination` to `packet.source`, with room for
// `payload` bytes of the given protocol; returns the offset where the payload goes.
std::size_t start_reply(std::vector<std::uint8_t>& out, const std::uint8_t* frame, const PacketInfo& packet,
                        std::uint8_t protocol, std::size_t payload) {
    bool v4 = packet.family == IpFamily::V4;
    std::size_t ip_header = v4 ? 20 : 40;
    out.assign(kEthernet + ip_header + payload, 0);
    std::memcpy(out.data(), frame + 6, 6);  // to the sender
    std::memcpy(out.data() + 6, frame, 6);  // from whom it was sent to
    put16(out.data() + 12, v4 ? kEtherIpv4 : kEtherIpv6);
    std::uint8_t* ip = out.data() + kEthernet;
    if (v4) {
        ip[0] = 0x45;
        put16(ip + 2, static_cast<std::uint16_t>(ip_header + payload));
        ip[8] = 64;
        ip[9] = protocol;
        std::memcpy(ip + 12, packet.destination.bytes.data(), 4);
        std::memcpy(ip + 16, packet.source.bytes.data(), 4);
        put16(ip + 10, internet_checksum(ip, 20));
    } else {
        ip[0] = 0x60;
        put16(ip + 4, static_cast<std::uint16_t>(payload));
        ip[6] = protocol;
        ip[7] = 64;
        std::memcpy(ip + 8, packet.destination.bytes.data(), 16);
        std::memcpy(ip + 24, packet.source.bytes.data(), 16);
    }
    return kEthernet + ip_header;
}

// A denied packet fails fast: TCP is reset, UDP gets an ICMP error, the rest is dropped.
Verdict denied(const PacketInfo& packet) {
    if (packet.protocol == Protocol::Tcp) return Verdict::Reset;
    if (packet.protocol == Protocol::Udp) return Verdict::Unreachable;
    return Verdict::Drop;
}

}  // namespace

std::uint16_t internet_checksum(const std::uint8_t* data, std::size_t length, std::uint32_t initial) {
    std::uint32_t sum = partial_sum(data, length, initial);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
}

std::optional<PacketInfo> inspect_frame(const std::uint8_t* frame, std::size_t length) {
    if (length < kEthernet) return std::nullopt;
    PacketInfo info;
    std::uint16_t ethertype = get16(frame + 12);
    const std::uint8_t* ip = frame + kEthernet;
    std::size_t available = length - kEthernet;
    std::size_t header = 0;
    bool later_fragment = false;
    if (ethertype == kEtherIpv4) {
        if (available < 20 || (ip[0] >> 4) != 4) return std::nullopt;
        header = std::size_t(ip[0] & 0x0f) * 4;
        if (header < 20 || available < header) return std::nullopt;
        info.family = IpFamily::V4;
        info.ip_protocol = ip[9];
        std::memcpy(info.source.bytes.data(), ip + 12, 4);
        std::memcpy(info.destination.bytes.data(), ip + 16, 4);
        std::uint16_t fragment_field = get16(ip + 6);
        info.fragment = (fragment_field & 0x3fff) != 0;  // more fragments, or an offset
        later_fragment = (fragment_field & 0x1fff) != 0;  // no transport header in it
    } else if (ethertype == kEtherIpv6) {
        if (available < 40 || (ip[0] >> 4) != 6) return std::nullopt;
        header = 40;
        info.family = IpFamily::V6;
        info.ip_protocol = ip[6];
        std::memcpy(info.source.bytes.data(), ip + 8, 16);
        std::memcpy(info.destination.bytes.data(), ip + 24, 16);
    } else {
        return std::nullopt;
    }
    info.source.family = info.destination.family = info.family;
    if ((info.ip_protocol == kTcp || info.ip_protocol == kUdp) && !later_fragment) {
        bool tcp = info.ip_protocol == kTcp;
        info.protocol = tcp ? Protocol::Tcp : Protocol::Udp;
        // The header counts only if the IP length says it is there, not just the frame's padding.
        std::size_t ip_length = info.family == IpFamily::V4 ? get16(ip + 2) : 40 + std::size_t(get16(ip + 4));
        std::size_t present = std::min(available, ip_length);
        info.transport_header = present >= header + (tcp ? 20 : 8);
        if (info.transport_header) {
            info.source_port = get16(ip + header);
            info.destination_port = get16(ip + header + 2);
            if (tcp) info.tcp_flags = ip[header + 13];
        }
    }
    return info;
}

bool ForwardedUdpFlows::Less::operator()(const UdpFlow& a, const UdpFlow& b) const {
    auto key = [](const UdpFlow& f) {
        return std::tie(f.guest.family, f.guest.bytes, f.guest_port, f.peer.family, f.peer.bytes, f.peer_port);
    };
    return key(a) < key(b);
}

void ForwardedUdpFlows::forget_expired(std::int64_t now_ms) {
    for (auto it = last_delivery_.begin(); it != last_delivery_.end();)
        it = now_ms - it->second >= lifetime_ms_ ? last_delivery_.erase(it) : std::next(it);
}

void ForwardedUdpFlows::delivered(const UdpFlow& flow, std::int64_t now_ms) {
    if (capacity_ == 0) return;
    auto known = last_delivery_.find(flow);
    if (known != last_delivery_.end()) {
        known->second = now_ms;
        return;
    }
    if (last_delivery_.size() >= capacity_) forget_expired(now_ms);
    if (last_delivery_.size() >= capacity_) {
        auto oldest = std::min_element(last_delivery_.begin(), last_delivery_.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
        last_delivery_.erase(oldest);
    }
    last_delivery_.emplace(flow, now_ms);
}

bool ForwardedUdpFlows::answers(const UdpFlow& flow, std::int64_t now_ms) const {
    auto known = last_delivery_.find(flow);
    return known != last_delivery_.end() && now_ms - known->second < lifetime_ms_;
}

namespace {

bool forwarded(const VirtualNetwork& network, Protocol protocol, std::uint16_t guest_port) {
    return std::find(network.forwarded_ports.begin(), network.forwarded_ports.end(),
                     std::make_pair(protocol, guest_port)) != network.forwarded_ports.end();
}

const IpAddress& gateway(const VirtualNetwork& network, IpFamily family) {
    return family == IpFamily::V4 ? network.gateway4 : network.gateway6;
}

const IpAddress& limited_broadcast() {
    static const IpAddress address = *parse_ip("255.255.255.255");
    return address;
}

const IpAddress& all_nodes() {
    static const IpAddress address = *parse_ip("ff02::1");
    return address;
}

// 255.255.255.255, or the subnet's broadcast address (all host bits set).
bool is_broadcast(const IpAddress& address, const Cidr& subnet) {
    if (address == limited_broadcast()) return true;
    if (!subnet.contains(address)) return false;
    for (unsigned bit = subnet.prefix; bit < 32; ++bit)
        if (!(address.bytes[bit / 8] & (0x80 >> (bit % 8)))) return false;
    return true;
}

// libslirp's Ethernet address: 52:55 and the gateway's IPv4 address.
void gateway_mac(std::uint8_t* mac, const VirtualNetwork& network) {
    mac[0] = 0x52;
    mac[1] = 0x55;
    std::memcpy(mac + 2, network.gateway4.bytes.data(), 4);
}

}  // namespace

std::optional<UdpFlow> forward_delivery(const PacketInfo& packet, const VirtualNetwork& network) {
    if (packet.protocol != Protocol::Udp || !packet.transport_header) return std::nullopt;
    if (packet.source != gateway(network, packet.family)) return std::nullopt;
    if (!forwarded(network, Protocol::Udp, packet.destination_port)) return std::nullopt;
    return UdpFlow{packet.destination, packet.destination_port, packet.source, packet.source_port};
}

bool answers_forward(const PacketInfo& packet, const VirtualNetwork& network, const ForwardedUdpFlows& udp_flows,
                     std::int64_t now_ms) {
    if (!packet.transport_header || !forwarded(network, packet.protocol, packet.source_port)) return false;
    if (packet.protocol == Protocol::Tcp) {
        // libslirp opens a connection to the host only for a SYN without ACK; every other
        // segment goes to a connection it already has (a forward's, from the host) or is reset.
        // Fragmented TCP never answers: the sandbox's stack does not fragment its segments, and
        // reassembly must not get to decide the flags.
        bool opens = (packet.tcp_flags & kTcpSyn) && !(packet.tcp_flags & kTcpAck);
        return !opens && !packet.fragment;
    }
    // libslirp sends a UDP datagram through whatever socket it has for the sandbox's address and
    // port, to wherever it is addressed: only the delivered flows are answers.
    return udp_flows.answers(UdpFlow{packet.source, packet.source_port, packet.destination, packet.destination_port},
                             now_ms);
}

bool reaches_host_loopback(const IpAddress& destination, const VirtualNetwork& network) {
    if (destination.family == IpFamily::V4) return destination == network.gateway4 || destination == limited_broadcast();
    return destination == network.gateway6 || destination == all_nodes();
}

Verdict egress_verdict(const PacketInfo& packet, const EgressPolicy& outside, const EgressPolicy& loopback,
                       const VirtualNetwork& network, const ForwardedUdpFlows& udp_flows, std::int64_t now_ms) {
    bool v4 = packet.family == IpFamily::V4;
    if (packet.protocol != Protocol::Any && !packet.transport_header) return Verdict::Drop;
    const EgressPolicy* policy = &outside;
    IpAddress destination = packet.destination;
    bool link_local = !v4 && (destination.bytes[0] == 0xff || (destination.bytes[0] == 0xfe && (destination.bytes[1] & 0xc0) == 0x80));
    bool inside = (v4 ? network.subnet4 : network.subnet6).contains(destination);
    // Everything but TCP and UDP (ICMP echo, neighbour discovery, router solicitations) to the
    // virtual link, its multicast and the gateway is answered by libslirp itself: it passes.
    if (packet.protocol == Protocol::Any && (link_local || inside || destination == gateway(network, packet.family)))
        return Verdict::Pass;
    // libslirp's DNS forwarder; another port there would reach the host's resolver's address.
    if (destination == (v4 ? network.dns4 : network.dns6))
        return packet.destination_port == 53 ? Verdict::Pass : denied(packet);
    if (reaches_host_loopback(destination, network)) {
        if (!network.host_loopback && !answers_forward(packet, network, udp_flows, now_ms)) return denied(packet);
        policy = &loopback;
        destination = *parse_ip(v4 ? "127.0.0.1" : "::1");
    } else if (inside) {
        // Nothing listens on the virtual network's other addresses (the sandbox's own never
        // leave it); libslirp would take them for the host's loopback or send them out.
        return denied(packet);
    }
    if (policy->allows(destination, packet.destination_port, packet.protocol)) return Verdict::Pass;
    return denied(packet);
}

bool leaves_virtual_network(const PacketInfo& packet, const VirtualNetwork& network) {
    bool v4 = packet.family == IpFamily::V4;
    const IpAddress& destination = packet.destination;
    if ((v4 ? network.subnet4 : network.subnet6).contains(destination)) return false;
    if (destination == (v4 ? network.dns4 : network.dns6) || destination == gateway(network, packet.family)) return false;
    if (reaches_host_loopback(destination, network)) return false;
    // IPv6's own link (neighbour discovery, router solicitation: ICMPv6 to link-local and
    // multicast addresses) is libslirp's to answer. Everything else, link-local, multicast and
    // reserved IPv4 addresses included (169.254.169.254 is a cloud's metadata service), leaves.
    bool link = !v4 && (destination.bytes[0] == 0xff || (destination.bytes[0] == 0xfe && (destination.bytes[1] & 0xc0) == 0x80));
    return !(link && packet.protocol == Protocol::Any);
}

std::vector<std::uint8_t> tcp_reset_for(const std::uint8_t* frame, std::size_t length, const PacketInfo& packet) {
    std::vector<std::uint8_t> out;
    const std::uint8_t* ip = frame + kEthernet;
    std::size_t header = packet.family == IpFamily::V4 ? std::size_t(ip[0] & 0x0f) * 4 : 40;
    if (packet.protocol != Protocol::Tcp || length < kEthernet + header + 20) return out;
    const std::uint8_t* tcp = ip + header;
    std::size_t tcp_header = std::size_t(tcp[12] >> 4) * 4;
    std::size_t ip_length = packet.family == IpFamily::V4 ? get16(ip + 2) : 40 + std::size_t(get16(ip + 4));
    std::size_t data = ip_length > header + tcp_header ? ip_length - header - tcp_header : 0;
    std::uint8_t flags = tcp[13];
    if (flags & 0x04) return out;  // never answer a reset
    std::size_t at = start_reply(out, frame, packet, kTcp, 20);
    std::uint8_t* reply = out.data() + at;
    put16(reply, packet.destination_port);
    put16(reply + 2, packet.source_port);
    if (flags & 0x10) {  // ACK set: the reset takes its sequence number from it
        put32(reply + 4, get32(tcp + 8));
        reply[13] = 0x04;
    } else {
        std::uint32_t consumed = static_cast<std::uint32_t>(data) + ((flags & 0x02) ? 1 : 0) + ((flags & 0x01) ? 1 : 0);
        put32(reply + 8, get32(tcp + 4) + consumed);
        reply[13] = 0x14;  // RST | ACK
    }
    reply[12] = 5 << 4;
    std::uint32_t pseudo = pseudo_header(packet.destination, packet.source, kTcp, 20);
    put16(reply + 16, internet_checksum(reply, 20, pseudo));
    return out;
}

std::vector<std::uint8_t> udp_payload(const std::uint8_t* frame, std::size_t length, const PacketInfo& packet) {
    if (packet.protocol != Protocol::Udp) return {};
    const std::uint8_t* ip = frame + kEthernet;
    std::size_t header = packet.family == IpFamily::V4 ? std::size_t(ip[0] & 0x0f) * 4 : 40;
    if (length < kEthernet + header + 8) return {};
    const std::uint8_t* udp = ip + header;
    std::size_t udp_length = get16(udp + 4);
    if (udp_length < 8 || kEthernet + header + udp_length > length) return {};
    return {udp + 8, udp + udp_length};
}

std::vector<std::uint8_t> udp_reply_for(const std::uint8_t* frame, const PacketInfo& packet,
                                        const std::vector<std::uint8_t>& payload) {
    std::vector<std::uint8_t> out;
    std::size_t at = start_reply(out, frame, packet, kUdp, 8 + payload.size());
    std::uint8_t* udp = out.data() + at;
    put16(udp, packet.destination_port);
    put16(udp + 2, packet.source_port);
    put16(udp + 4, static_cast<std::uint16_t>(8 + payload.size()));
    std::copy(payload.begin(), payload.end(), udp + 8);
    std::uint32_t pseudo = pseudo_header(packet.destination, packet.source, kUdp, 8 + payload.size());
    std::uint16_t checksum = internet_checksum(udp, 8 + payload.size(), pseudo);
    put16(udp + 6, checksum == 0 ? 0xffff : checksum);  // 0 means "no checksum" in UDP
    return out;
}

std::vector<std::uint8_t> icmp_unreachable_for(const std::uint8_t* frame, std::size_t length,
                                               const PacketInfo& denied_packet, const VirtualNetwork& network) {
    std::vector<std::uint8_t> out;
    if (length <= kEthernet) return out;
    PacketInfo packet = denied_packet;
    const IpAddress& to = packet.destination;
    bool group = to.family == IpFamily::V4 ? (to.bytes[0] >= 224 || is_broadcast(to, network.subnet4))
                                           : to.bytes[0] == 0xff;
    if (group) packet.destination = gateway(network, packet.family);
    const std::uint8_t* original = frame + kEthernet;
    std::size_t original_length = length - kEthernet;
    bool v4 = packet.family == IpFamily::V4;
    if (v4) {
        // RFC 792: the original IP header and the first 8 bytes of its data.
        std::size_t quoted = std::min(original_length, std::size_t(original[0] & 0x0f) * 4 + 8);
        std::size_t at = start_reply(out, frame, packet, kIcmp, 8 + quoted);
        if (group) gateway_mac(out.data() + 6, network);
        std::uint8_t* icmp = out.data() + at;
        icmp[0] = 3;   // destination unreachable
        icmp[1] = 13;  // communication administratively prohibited
        std::memcpy(icmp + 8, original, quoted);
        put16(icmp + 2, internet_checksum(icmp, 8 + quoted));
    } else {
        // RFC 4443: as much of the original as fits in the minimum MTU.
        std::size_t quoted = std::min(original_length, std::size_t(1280 - 40 - 8));
        std::size_t at = start_reply(out, frame, packet, kIcmpv6, 8 + quoted);
        if (group) gateway_mac(out.data() + 6, network);
        std::uint8_t* icmp = out.data() + at;
        icmp[0] = 1;  // destination unreachable
        icmp[1] = 1;  // communication with destination administratively prohibited
        std::memcpy(icmp + 8, original, quoted);
        std::uint32_t pseudo = pseudo_header(packet.destination, packet.source, kIcmpv6, 8 + quoted);
        put16(icmp + 2, internet_checksum(icmp, 8 + quoted, pseudo));
    }
    return out;
}

}  // namespace sb
