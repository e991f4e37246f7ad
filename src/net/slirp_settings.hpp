// The user-mode network's slice of the plan (and of the profile's [network] table): plain data
// the network executors take, and nothing else of the profile.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "net/address.hpp"
#include "net/domains.hpp"

namespace sb {

// [network] settings that only apply to mode = "slirp" (libslirp user-mode networking).
struct SlirpSettings {
    bool allow_host_loopback = false;      // reach the host's 127.0.0.1 / ::1 through the gateway
    std::vector<PortForward> ports;        // host -> sandbox
    std::optional<ServerAddress> dns;      // the resolver queries go to; default: the host's
    std::string egress_preset;             // "" or "public-only"
    EgressPolicy egress;                   // the profile's own allow/deny rules
    // What traffic leaving the virtual network is checked against: `egress` and the preset's
    // rules, resolved by the plan (so --dry-run shows every rule enforced).
    EgressPolicy outside;
    // allow_domains: when set, the sandbox's DNS is answered in process for these names only,
    // and traffic leaving goes only to addresses they resolved to (or `egress` allows).
    std::vector<DomainRule> allow_domains;
    bool learn = false;  // --learn: what allow_domains refuses is let through, and noted
    unsigned mtu = 65520;
    Cidr subnet4{*parse_ip("10.0.2.0"), 24};
    Cidr subnet6{*parse_ip("fd00::"), 64};
};

}  // namespace sb
