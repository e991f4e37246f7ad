#include "profile/security.hpp"

namespace sb {
namespace {

// "name" or "name:ERRNO", e.g. "ptrace:EACCES".
SyscallChoice parse_denial(const FileParser& p, const toml::node& item, std::string& name) {
    std::string text = p.string_value("deny", item);
    SyscallChoice choice;
    choice.where = p.at(item);
    auto colon = text.find(':');
    name = text.substr(0, colon);
    if (colon != std::string::npos) {
        std::string error = text.substr(colon + 1);
        auto number = errno_from_name(error);
        if (!number)
            throw ConfigError(p.at(item), "unknown errno '" + error + "' in \"" + text +
                                              "\" (expected a name such as EPERM, EACCES or ENOSYS)");
        choice.error = *number;
    }
    return choice;
}

void check_name(const FileParser& p, const toml::node& item, const std::string& key, const std::string& name) {
    if (!known_syscall(name))
        throw ConfigError(p.at(item), "unknown system call '" + name + "' in [seccomp] " + key +
                                          " (names as in syscalls(2), such as \"ptrace\")");
}

}  // namespace

void parse_security(const FileParser& p, const toml::table& table, SecurityLayer& layer) {
    p.only_keys(table, {"seccomp", "nested_namespaces", "landlock"}, "[security]");
    if (const auto* node = table.get("landlock")) {
        auto mode = parse_landlock_mode(p.string_value("landlock", *node));
        if (!mode) throw ConfigError(p.at(*node), "[security] landlock must be \"best-effort\", \"required\" or \"off\"");
        layer.landlock = mode;
    }
    if (const auto* node = table.get("seccomp")) layer.seccomp = p.bool_value("seccomp", *node);
    if (const auto* node = table.get("nested_namespaces"))
        layer.nested_namespaces = p.bool_value("nested_namespaces", *node);
}

void parse_seccomp(const FileParser& p, const toml::table& table, SecurityLayer& layer) {
    p.only_keys(table, {"allow", "deny"}, "[seccomp]");
    auto each = [&](const char* key, auto take) {
        const auto* node = table.get(key);
        if (!node) return;
        const auto* array = node->as_array();
        if (!array) p.wrong_type(key, *node, "an array of strings");
        for (const auto& item : *array) take(item);
    };
    each("allow", [&](const toml::node& item) {
        std::string name = p.string_value("allow", item);
        check_name(p, item, "allow", name);
        layer.syscalls[name] = SyscallChoice{true, 0, p.at(item)};
    });
    each("deny", [&](const toml::node& item) {
        std::string name;
        SyscallChoice choice = parse_denial(p, item, name);
        check_name(p, item, "deny", name);
        if (auto same = layer.syscalls.find(name); same != layer.syscalls.end() && same->second.allow)
            throw ConfigError(choice.where, "'" + name + "' is both allowed (at " + format_location(same->second.where) +
                                                ") and denied in [seccomp]");
        layer.syscalls[name] = choice;
    });
}

void merge_security(SeccompSettings& into, LandlockMode& landlock, const SecurityLayer& layer) {
    if (layer.landlock) landlock = *layer.landlock;
    if (layer.seccomp) into.enabled = *layer.seccomp;
    if (layer.nested_namespaces) into.nested_namespaces = *layer.nested_namespaces;
    for (const auto& [name, choice] : layer.syscalls) into.syscalls[name] = choice;
}

}  // namespace sb
