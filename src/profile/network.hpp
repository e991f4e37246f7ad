// The [network] table of a profile: parsing one file's and merging it into the profile.
#pragma once
#include <optional>

#include "profile/file_parser.hpp"
#include "profile/profile.hpp"

namespace sb {

struct NetworkLayer {
    std::optional<NetworkMode> mode;
    std::optional<bool> allow_host_loopback;
    std::optional<ServerAddress> dns;
    std::optional<unsigned> mtu;
    std::optional<Cidr> subnet4, subnet6;
    std::vector<PortForward> ports;
    std::vector<SourceLocation> port_where;
    std::optional<std::string> egress_preset;
    std::vector<EgressRule> egress_allow, egress_deny;
    std::vector<DomainRule> allow_domains;
    SourceLocation slirp_only_where;  // the first key that means anything only with slirp
};

NetworkLayer parse_network(const FileParser& p, const toml::table& table);

// Later files win for single values; ports and egress rules add up (a port forward with the
// same host address, port and protocol replaces the earlier one). Throws ConfigError for a
// forward that repeats one of the same file.
void merge_network(Profile& into, const NetworkLayer& layer, SourceLocation& slirp_only_where);

// After merging: slirp-only settings need mode = "slirp".
void validate_network(const Profile& profile, const SourceLocation& slirp_only_where);

}  // namespace sb
