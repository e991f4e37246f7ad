// The effective profile as TOML, for `sandbox check`: what the sandbox will really use after
// extends, merging and variable expansion.
#include <iomanip>
#include <sstream>

#include "profile/profile.hpp"

namespace sb {
namespace {

// A TOML basic string. Values that the loader expands get '$' written as "$$" so that a
// rendered profile loads back to the same values; file contents are never expanded.
std::string quoted(const std::string& text, bool expandable = true) {
    std::ostringstream out;
    out << '"';
    for (char c : text) {
        switch (c) {
            case '$': out << (expandable ? "$$" : "$"); break;
            case 0x7f: out << "\\u007f"; break;
            case '"': out << "\\\""; break;
            case '\\': out << "\\\\"; break;
            case '\n': out << "\\n"; break;
            case '\t': out << "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    out << "\\u" << std::hex << std::setw(4) << std::setfill('0') << int(c) << std::dec;
                else
                    out << c;
        }
    }
    out << '"';
    return out.str();
}

std::string list(const std::vector<std::string>& items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quoted(items[i]);
    return out + "]";
}

std::string octal(unsigned mode) {
    std::ostringstream out;
    out << std::oct << std::setw(4) << std::setfill('0') << mode;
    return out.str();
}

std::string render_slirp(const SlirpSettings& net) {
    std::ostringstream out;
    std::vector<std::string> ports, allow, deny;
    for (const auto& forward : net.ports) ports.push_back(format_port_forward(forward));
    for (const auto& rule : net.egress.allow) allow.push_back(format_egress_rule(rule));
    for (const auto& rule : net.egress.deny) deny.push_back(format_egress_rule(rule));
    out << "allow_host_loopback = " << std::boolalpha << net.allow_host_loopback << "\n";
    out << "ports = " << list(ports) << "\n";
    if (net.dns) out << "dns = " << quoted(format_server_address(*net.dns)) << "\n";
    out << "mtu = " << net.mtu << "\n";
    out << "subnet = " << quoted(format_cidr(net.subnet4)) << "\nsubnet6 = " << quoted(format_cidr(net.subnet6)) << "\n";
    out << "egress = { preset = " << quoted(net.egress_preset.empty() ? "none" : net.egress_preset)
        << ", allow = " << list(allow) << ", deny = " << list(deny) << " }\n";
    if (!net.allow_domains.empty()) {
        std::vector<std::string> domains;
        for (const auto& rule : net.allow_domains) domains.push_back(format_domain_rule(rule));
        out << "allow_domains = " << list(domains) << "\n";
    }
    return out.str();
}

std::string size_or_max(std::uint64_t value) { return quoted(format_size(value)); }
std::string count_or_max(std::uint64_t value) { return value == kNoLimit ? "\"max\"" : std::to_string(value); }

// The [limits] table, with only the keys that are set (and always enforce and nested).
std::string render_limits(const Limits& l) {
    std::ostringstream out;
    out << "[limits]\n";
    for (const auto& kind : limit_kinds()) {
        if (kind.value == LimitValue::CpuList) {
            if (const auto& text = l.*kind.text) out << kind.key << " = " << quoted(*text) << "\n";
            continue;
        }
        const auto& value = l.*kind.number;
        if (!value) continue;
        out << kind.key << " = ";
        switch (kind.value) {
            case LimitValue::Size:
            case LimitValue::SizeOrZero: out << size_or_max(*value); break;
            case LimitValue::Count: out << count_or_max(*value); break;
            case LimitValue::Cpus:
                out << format_cpus(static_cast<std::uint32_t>(*value)) << (*value % 1000 ? "" : ".0");
                break;
            case LimitValue::Weight:
            case LimitValue::CpuList: out << *value; break;
        }
        out << "\n";
    }
    out << "enforce = " << quoted(to_string(l.enforce)) << "\nnested = " << std::boolalpha << l.nested << "\n";
    for (const auto& device : l.io) {
        out << "\n[[limits.io]]\ndevice = " << quoted(device.device) << "\n";
        if (device.read_bps) out << "read_bps = " << size_or_max(*device.read_bps) << "\n";
        if (device.write_bps) out << "write_bps = " << size_or_max(*device.write_bps) << "\n";
        if (device.read_iops) out << "read_iops = " << count_or_max(*device.read_iops) << "\n";
        if (device.write_iops) out << "write_iops = " << count_or_max(*device.write_iops) << "\n";
    }
    return out.str();
}

// [security] and [seccomp]: the switches, then the profile's own allow/deny lines (the built-in
// denials are listed by `check -v` and --dry-run).
std::string render_security(const SeccompSettings& s, LandlockMode landlock) {
    std::ostringstream out;
    out << "[security]\nseccomp = " << std::boolalpha << s.enabled << "\nnested_namespaces = " << s.nested_namespaces
        << "\nlandlock = " << quoted(to_string(landlock)) << "\n\n[seccomp]\n";
    std::vector<std::string> allow, deny;
    for (const auto& [name, choice] : s.syscalls) {
        if (choice.allow) allow.push_back(name);
        else deny.push_back(choice.error == 1 ? name : name + ":" + errno_name(choice.error));
    }
    out << "allow = " << list(allow) << "\ndeny = " << list(deny) << "\n";
    return out.str();
}

}  // namespace

std::string render_profile_toml(const Profile& p) {
    std::ostringstream out;
    out << "# effective profile, merged from: ";
    for (std::size_t i = 0; i < p.files.size(); ++i) out << (i ? ", " : "") << p.files[i];
    out << "\n";
    if (!p.name.empty()) out << "name = " << quoted(p.name) << "\n";
    if (!p.command.empty()) out << "command = " << list(p.command) << "\n";
    out << "cwd = " << quoted(p.cwd) << "\n";
    out << "hostname = " << quoted(p.hostname) << "\n";
    if (p.timeout_ms) out << "timeout = " << quoted(format_duration_ms(*p.timeout_ms)) << "\n";
    out << "\n";
    out << "[user]\nmode = " << quoted(to_string(p.user_mode)) << "\n";
    if (p.uid) out << "uid = " << *p.uid << "\n";
    if (p.gid) out << "gid = " << *p.gid << "\n";
    out << "capabilities = " << list(p.capabilities) << "\n";
    out << "subordinate_ids = " << std::boolalpha << p.subordinate_ids << "\n\n";
    out << "[namespaces]\nuts = " << std::boolalpha << p.ns_uts << "\nipc = " << p.ns_ipc
        << "\ncgroup = " << p.ns_cgroup << "\n\n";
    out << "[network]\nmode = " << quoted(to_string(p.network)) << "\n";
    if (p.network == NetworkMode::Slirp) out << render_slirp(p.slirp);
    out << "\n";
    out << "[env]\nkeep = " << list(p.env_keep) << "\nunset = " << list(p.env_unset) << "\n";
    out << "set = {";
    bool first = true;
    for (const auto& [name, value] : p.env_set) {
        out << (first ? " " : ", ") << name << " = " << quoted(value);
        first = false;
    }
    out << (first ? "}" : " }") << "\n\n";
    out << render_limits(p.limits);
    out << "\n" << render_security(p.seccomp, p.landlock);
    out << "\n[rlimits]\n";
    for (const auto& kind : rlimit_kinds())
        if (auto found = p.rlimits.values.find(kind.name); found != p.rlimits.values.end())
            out << kind.name << " = " << quoted(format_rlimit_value(kind, found->second)) << "\n";
    for (const auto& m : p.mounts) {
        out << "\n[[mount]]\ntype = " << quoted(m.type->name) << "\n";
        if (!m.source.empty()) out << "source = " << quoted(m.source) << "\n";
        out << "target = " << quoted(m.target) << "\n";
        if (m.size_bytes) out << "size = " << *m.size_bytes << "\n";
        if (m.mode) out << "mode = " << quoted(octal(*m.mode)) << "\n";
        if (m.type->keys & mount_keys::kContents) out << "contents = " << quoted(m.contents, false) << "\n";
        if (m.devices) out << "devices = true\n";
        if (m.follow_symlinks) out << "follow_symlinks = true\n";
        if (m.allow_sensitive) out << "allow_sensitive = true\n";
        if (m.propagation != Propagation::Private) out << "propagation = " << quoted(to_string(m.propagation)) << "\n";
        if (m.type->kind == MountKind::Overlay) {
            if (!m.lower.empty()) out << "lower = " << list(m.lower) << "\n";
            out << "upper = " << quoted(m.kept_upper ? "kept" : "tmpfs") << "\n";
        }
    }
    if (!p.protect.empty()) out << "\n[overlay]\nprotect = " << list(p.protect) << "\n";
    if (p.desktop.any()) {
        const DesktopSettings& d = p.desktop;
        out << "\n[desktop]\nwayland = " << (d.wayland ? "true" : "false") << "\nx11 = " << (d.x11 ? "true" : "false")
            << "\naudio = " << quoted(to_string(d.audio)) << "\ngpu = " << (d.gpu ? "true" : "false")
            << "\nfonts = " << (d.fonts ? "true" : "false") << "\nthemes = " << (d.themes ? "true" : "false") << "\n";
        if (d.home != HomeMode::Profile) out << "home = " << quoted(to_string(d.home)) << "\n";
    }
    return out.str();
}

}  // namespace sb
