#include "net/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace sb {
namespace {

std::size_t width(IpFamily family) { return family == IpFamily::V4 ? 4 : 16; }
unsigned max_prefix(IpFamily family) { return family == IpFamily::V4 ? 32 : 128; }

bool parse_number(const std::string& text, unsigned long max, unsigned long& out) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::stoul(text);
    return out <= max;
}

bool parse_port(const std::string& text, std::uint16_t& out, bool allow_zero = false) {
    unsigned long value = 0;
    if (!parse_number(text, 65535, value) || (value == 0 && !allow_zero)) return false;
    out = static_cast<std::uint16_t>(value);
    return true;
}

// Splits a trailing "/tcp" or "/udp" off `text`; any other "/..." (a prefix length) stays.
void take_protocol(std::string& text, Protocol& protocol) {
    auto slash = text.rfind('/');
    if (slash == std::string::npos) return;
    std::string name = text.substr(slash + 1);
    if (name == "tcp") protocol = Protocol::Tcp;
    else if (name == "udp") protocol = Protocol::Udp;
    else return;
    text.erase(slash);
}

// Splits "[v6]rest" or "v4rest" into the address text and the rest after it.
bool split_address(const std::string& text, std::string& address, std::string& rest) {
    if (!text.empty() && text[0] == '[') {
        auto close = text.find(']');
        if (close == std::string::npos) return false;
        address = text.substr(1, close - 1);
        rest = text.substr(close + 1);
        return true;
    }
    auto slash = text.find('/');
    std::string head = text.substr(0, slash);
    // Two or more colons before any '/': an IPv6 address without brackets ("fd00::/8").
    auto colon = std::count(head.begin(), head.end(), ':') >= 2 ? std::string::npos : text.find(':');
    auto end = std::min(colon, slash);
    address = text.substr(0, end);
    rest = end == std::string::npos ? "" : text.substr(end);
    return true;
}

}  // namespace

std::optional<IpAddress> parse_ip(const std::string& text) {
    IpAddress address;
    if (::inet_pton(AF_INET, text.c_str(), address.bytes.data()) == 1) {
        address.family = IpFamily::V4;
        return address;
    }
    if (::inet_pton(AF_INET6, text.c_str(), address.bytes.data()) == 1) {
        address.family = IpFamily::V6;
        return address;
    }
    return std::nullopt;
}

std::string format_ip(const IpAddress& address) {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(address.family == IpFamily::V4 ? AF_INET : AF_INET6, address.bytes.data(), text, sizeof text);
    return text;
}

bool is_loopback(const IpAddress& address) {
    if (address.family == IpFamily::V4) return address.bytes[0] == 127;
    static const std::array<std::uint8_t, 16> one = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return address.bytes == one;
}

bool Cidr::contains(const IpAddress& address) const {
    if (address.family != base.family) return false;
    unsigned full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(address.bytes.data(), base.bytes.data(), full) != 0) return false;
    if (rest == 0) return true;
    std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (address.bytes[full] & mask) == (base.bytes[full] & mask);
}

std::optional<Cidr> parse_cidr(const std::string& text, std::string& error) {
    std::string address_text, rest;
    if (!split_address(text, address_text, rest)) {
        error = "missing ']' in \"" + text + "\"";
        return std::nullopt;
    }
    auto address = parse_ip(address_text);
    if (!address) {
        error = "\"" + address_text + "\" is not an IP address";
        return std::nullopt;
    }
    Cidr cidr{*address, max_prefix(address->family)};
    if (!rest.empty()) {
        unsigned long prefix = 0;
        if (rest[0] != '/' || !parse_number(rest.substr(1), max_prefix(address->family), prefix)) {
            error = "bad prefix length in \"" + text + "\"";
            return std::nullopt;
        }
        cidr.prefix = static_cast<unsigned>(prefix);
    }
    Cidr cleared = cidr;
    for (std::size_t i = 0; i < width(address->family); ++i) {
        int keep = static_cast<int>(cidr.prefix) - static_cast<int>(i * 8);
        std::uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : static_cast<std::uint8_t>(0xff << (8 - keep));
        cleared.base.bytes[i] &= mask;
    }
    if (!(cleared.base == cidr.base)) {
        error = "\"" + text + "\" has host bits set (did you mean " + format_cidr(cleared) + "?)";
        return std::nullopt;
    }
    return cidr;
}

std::string format_cidr(const Cidr& cidr) {
    std::string address = format_ip(cidr.base);
    if (cidr.base.family == IpFamily::V6) address = "[" + address + "]";
    return address + "/" + std::to_string(cidr.prefix);
}

std::optional<PortForward> parse_port_forward(const std::string& input, std::string& error) {
    PortForward forward;
    std::string text = input;
    take_protocol(text, forward.protocol);
    if (text.find('/') != std::string::npos) {
        error = "unknown protocol in \"" + input + "\" (expected /tcp or /udp)";
        return std::nullopt;
    }
    forward.host_address = *parse_ip("127.0.0.1");
    std::string ports = text;
    if (!text.empty() && text[0] == '[') {
        auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            error = "expected [ADDRESS]:HOSTPORT:PORT in \"" + input + "\"";
            return std::nullopt;
        }
        auto address = parse_ip(text.substr(1, close - 1));
        if (!address || address->family != IpFamily::V6) {
            error = "\"" + text.substr(1, close - 1) + "\" is not an IPv6 address";
            return std::nullopt;
        }
        forward.host_address = *address;
        ports = text.substr(close + 2);
    } else if (std::count(text.begin(), text.end(), ':') == 2) {
        auto colon = text.find(':');
        auto address = parse_ip(text.substr(0, colon));
        if (!address || address->family != IpFamily::V4) {
            error = "\"" + text.substr(0, colon) + "\" is not an IPv4 address (put IPv6 in brackets)";
            return std::nullopt;
        }
        forward.host_address = *address;
        ports = text.substr(colon + 1);
    }
    auto colon = ports.find(':');
    if (colon == std::string::npos || !parse_port(ports.substr(0, colon), forward.host_port) ||
        !parse_port(ports.substr(colon + 1), forward.guest_port)) {
        error = "expected [ADDRESS:]HOSTPORT:PORT[/tcp|/udp] with ports 1-65535, not \"" + input + "\"";
        return std::nullopt;
    }
    return forward;
}

std::string format_port_forward(const PortForward& forward) {
    std::string address = format_ip(forward.host_address);
    if (forward.host_address.family == IpFamily::V6) address = "[" + address + "]";
    return address + ":" + std::to_string(forward.host_port) + ":" + std::to_string(forward.guest_port) +
           (forward.protocol == Protocol::Udp ? "/udp" : "/tcp");
}

bool same_host_side(const PortForward& a, const PortForward& b) {
    return a.host_address == b.host_address && a.host_port == b.host_port && a.protocol == b.protocol;
}

void add_port_forward(std::vector<PortForward>& forwards, const PortForward& forward) {
    auto same = std::find_if(forwards.begin(), forwards.end(),
                             [&](const PortForward& other) { return same_host_side(other, forward); });
    if (same != forwards.end()) *same = forward;
    else forwards.push_back(forward);
}

std::optional<ServerAddress> parse_server_address(const std::string& text, std::uint16_t default_port,
                                                  std::string& error) {
    ServerAddress server{{}, default_port};
    std::string address, rest;
    if (!split_address(text, address, rest)) {
        error = "missing ']' in \"" + text + "\"";
        return std::nullopt;
    }
    auto parsed = parse_ip(address);
    if (!parsed) {
        error = "\"" + address + "\" is not an IP address";
        return std::nullopt;
    }
    server.address = *parsed;
    if (!rest.empty() && (rest[0] != ':' || !parse_port(rest.substr(1), server.port))) {
        error = "bad port in \"" + text + "\"";
        return std::nullopt;
    }
    return server;
}

std::string format_server_address(const ServerAddress& server) {
    std::string address = format_ip(server.address);
    if (server.address.family == IpFamily::V6) address = "[" + address + "]";
    return address + ":" + std::to_string(server.port);
}

std::optional<EgressRule> parse_egress_rule(const std::string& input, std::string& error) {
    EgressRule rule;
    std::string text = input;
    take_protocol(text, rule.protocol);
    std::string address_text, rest;
    if (!split_address(text, address_text, rest)) {
        error = "missing ']' in \"" + input + "\"";
        return std::nullopt;
    }
    std::string cidr_text = text[0] == '[' ? "[" + address_text + "]" : address_text;
    if (!rest.empty() && rest[0] == '/') {
        auto colon = rest.find(':');
        cidr_text += rest.substr(0, colon);
        rest = colon == std::string::npos ? "" : rest.substr(colon);
    }
    auto block = parse_cidr(cidr_text, error);
    if (!block) return std::nullopt;
    rule.block = *block;
    if (!rest.empty()) {
        if (rest[0] != ':') {
            error = "expected CIDR[:PORT[-PORT]][/tcp|/udp], not \"" + input + "\"";
            return std::nullopt;
        }
        std::string ports = rest.substr(1);
        auto dash = ports.find('-');
        bool ok = dash == std::string::npos
                      ? parse_port(ports, rule.port_low) && (rule.port_high = rule.port_low, true)
                      : parse_port(ports.substr(0, dash), rule.port_low) &&
                            parse_port(ports.substr(dash + 1), rule.port_high) && rule.port_low <= rule.port_high;
        if (!ok) {
            error = "bad port or port range in \"" + input + "\"";
            return std::nullopt;
        }
    }
    return rule;  // a protocol without ports ("10.0.0.0/8/tcp") is fine
}

std::string format_egress_rule(const EgressRule& rule) {
    std::string text = format_cidr(rule.block);
    if (rule.port_low != 0 || rule.port_high != 65535) {
        text += ":" + std::to_string(rule.port_low);
        if (rule.port_high != rule.port_low) text += "-" + std::to_string(rule.port_high);
    }
    if (rule.protocol == Protocol::Tcp) text += "/tcp";
    if (rule.protocol == Protocol::Udp) text += "/udp";
    return text;
}

static bool matches(const EgressRule& rule, const IpAddress& destination, std::uint16_t port, Protocol protocol) {
    if (!rule.block.contains(destination)) return false;
    if (rule.protocol != Protocol::Any && rule.protocol != protocol) return false;
    return port >= rule.port_low && port <= rule.port_high;
}

bool EgressPolicy::allows(const IpAddress& destination, std::uint16_t port, Protocol protocol) const {
    for (const auto& rule : allow)
        if (matches(rule, destination, port, protocol)) return true;
    for (const auto& rule : deny)
        if (matches(rule, destination, port, protocol)) return false;
    return allow.empty() || !deny.empty();
}

EgressPolicy public_only_policy() {
    EgressPolicy policy;
    std::string error;
    for (const char* block : {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                              "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "[::1]/128",
                              "[::]/128", "[fc00::]/7", "[fe80::]/10", "[fec0::]/10", "[ff00::]/8"})
        policy.deny.push_back(*parse_egress_rule(block, error));
    return policy;
}

}  // namespace sb
