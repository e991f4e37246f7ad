#include "profile/network.hpp"

#include <algorithm>

namespace sb {
namespace {

template <typename T, typename Parse>
T parsed_value(const FileParser& p, const std::string& key, const toml::node& node, Parse parse) {
    std::string text = p.string_value(key, node);
    std::string error;
    auto value = parse(text, error);
    if (!value) throw ConfigError(p.at(node), "'" + key + "': " + error);
    return *value;
}

void note_slirp_only(NetworkLayer& layer, const FileParser& p, const toml::key& key) {
    if (layer.slirp_only_where.line == 0) layer.slirp_only_where = p.at(key.source());
}

void parse_ports(const FileParser& p, const toml::node& node, NetworkLayer& layer) {
    const auto* array = node.as_array();
    if (!array) p.wrong_type("ports", node, "an array of strings such as \"8080:80\"");
    for (const auto& item : *array) {
        PortForward forward = parsed_value<PortForward>(p, "ports", item, parse_port_forward);
        for (std::size_t i = 0; i < layer.ports.size(); ++i) {
            const PortForward& other = layer.ports[i];
            if (same_host_side(other, forward))
                throw ConfigError(p.at(item), "conflict: host port " + format_port_forward(forward) +
                                                  " is already forwarded at line " +
                                                  std::to_string(layer.port_where[i].line));
        }
        layer.ports.push_back(forward);
        layer.port_where.push_back(p.at(item));
    }
}

std::vector<EgressRule> egress_rules(const FileParser& p, const toml::table& table, const char* key) {
    std::vector<EgressRule> rules;
    if (const auto* node = table.get(key)) {
        const auto* array = node->as_array();
        if (!array) p.wrong_type(key, *node, "an array of strings such as \"10.0.0.0/8:443/tcp\"");
        for (const auto& item : *array) rules.push_back(parsed_value<EgressRule>(p, key, item, parse_egress_rule));
    }
    return rules;
}

std::string egress_preset(const FileParser& p, const toml::node& node) {
    std::string preset = p.string_value("egress", node);
    if (preset != "public-only" && preset != "none")
        throw ConfigError(p.at(node), "unknown egress preset \"" + preset + "\" (expected \"public-only\" or \"none\")");
    return preset == "none" ? "" : preset;
}

void parse_egress(const FileParser& p, const toml::node& node, NetworkLayer& layer) {
    if (node.is_string()) {
        layer.egress_preset = egress_preset(p, node);
        return;
    }
    const auto* table = node.as_table();
    if (!table) p.wrong_type("egress", node, "a preset name or a table with allow/deny");
    p.only_keys(*table, {"preset", "allow", "deny"}, "[network.egress]");
    if (const auto* preset = table->get("preset")) layer.egress_preset = egress_preset(p, *preset);
    layer.egress_allow = egress_rules(p, *table, "allow");
    layer.egress_deny = egress_rules(p, *table, "deny");
}


Cidr subnet_value(const FileParser& p, const std::string& key, const toml::node& node, IpFamily family,
                  unsigned max_prefix) {
    Cidr block = parsed_value<Cidr>(p, key, node, parse_cidr);
    if (block.base.family != family || block.prefix > max_prefix)
        throw ConfigError(p.at(node), "'" + key + "' must be an " + (family == IpFamily::V4 ? "IPv4" : "IPv6") +
                                          " block of /" + std::to_string(max_prefix) + " or larger");
    return block;
}

}  // namespace

NetworkLayer parse_network(const FileParser& p, const toml::table& table) {
    p.only_keys(table, {"mode", "allow_host_loopback", "ports", "dns", "egress", "allow_domains", "mtu", "subnet", "subnet6"},
                "[network]");
    NetworkLayer layer;
    for (auto&& [key, node] : table)
        if (key.str() != "mode") note_slirp_only(layer, p, key);
    if (const auto* node = table.get("mode")) {
        auto mode = parse_network_mode(p.string_value("mode", *node));
        if (!mode) throw ConfigError(p.at(*node), "[network] mode must be " + quoted_choices(network_mode_names()));
        layer.mode = *mode;
    }
    if (const auto* node = table.get("allow_host_loopback"))
        layer.allow_host_loopback = p.bool_value("allow_host_loopback", *node);
    if (const auto* node = table.get("ports")) parse_ports(p, *node, layer);
    if (const auto* node = table.get("dns"))
        layer.dns = parsed_value<ServerAddress>(p, "dns", *node, [](const std::string& text, std::string& error) {
            return parse_server_address(text, 53, error);
        });
    if (const auto* node = table.get("egress")) parse_egress(p, *node, layer);
    if (const auto* node = table.get("allow_domains")) {
        const auto* array = node->as_array();
        if (!array) p.wrong_type("allow_domains", *node, "an array of domain names");
        for (const auto& item : *array)
            layer.allow_domains.push_back(parsed_value<DomainRule>(p, "allow_domains", item, parse_domain_rule));
    }
    if (const auto* node = table.get("mtu")) {
        const auto* value = node->as_integer();
        if (!value) p.wrong_type("mtu", *node, "an integer");
        if (value->get() < 1280 || value->get() > 65520)
            throw ConfigError(p.at(*node), "'mtu' must be between 1280 and 65520");
        layer.mtu = static_cast<unsigned>(value->get());
    }
    if (const auto* node = table.get("subnet")) layer.subnet4 = subnet_value(p, "subnet", *node, IpFamily::V4, 29);
    if (const auto* node = table.get("subnet6")) layer.subnet6 = subnet_value(p, "subnet6", *node, IpFamily::V6, 64);
    return layer;
}

void merge_network(Profile& into, const NetworkLayer& layer, SourceLocation& slirp_only_where) {
    SlirpSettings& slirp = into.slirp;
    if (layer.mode) into.network = *layer.mode;
    if (layer.allow_host_loopback) slirp.allow_host_loopback = *layer.allow_host_loopback;
    if (layer.dns) slirp.dns = layer.dns;
    if (layer.mtu) slirp.mtu = *layer.mtu;
    if (layer.subnet4) slirp.subnet4 = *layer.subnet4;
    if (layer.subnet6) slirp.subnet6 = *layer.subnet6;
    if (layer.egress_preset) slirp.egress_preset = *layer.egress_preset;
    for (const auto& forward : layer.ports) add_port_forward(slirp.ports, forward);
    slirp.egress.allow.insert(slirp.egress.allow.end(), layer.egress_allow.begin(), layer.egress_allow.end());
    slirp.egress.deny.insert(slirp.egress.deny.end(), layer.egress_deny.begin(), layer.egress_deny.end());
    for (const auto& rule : layer.allow_domains)
        if (std::find(slirp.allow_domains.begin(), slirp.allow_domains.end(), rule) == slirp.allow_domains.end())
            slirp.allow_domains.push_back(rule);
    if (layer.slirp_only_where.line > 0) slirp_only_where = layer.slirp_only_where;
}

void validate_network(const Profile& profile, const SourceLocation& slirp_only_where) {
    if (profile.network != NetworkMode::Slirp && slirp_only_where.line > 0)
        throw ConfigError(slirp_only_where, std::string("this [network] setting needs mode = \"slirp\" (the mode is \"") +
                                                to_string(profile.network) + "\")");
}

}  // namespace sb
