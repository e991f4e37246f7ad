// Loading a profile: parse each TOML file strictly (toml++), follow `extends` depth-first with
// cycle detection, and merge the layers in order (parents first, the file itself last).
#include "profile/toml.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <filesystem>
#include <set>

#include "profile/file_parser.hpp"
#include "profile/limits.hpp"
#include "profile/network.hpp"
#include "profile/security.hpp"
#include "changes/protect.hpp"
#include "state/record.hpp"
#include "profile/profile.hpp"
#include "changes/protect.hpp"

namespace sb {
namespace {

// What one file says; unset optionals mean "not mentioned", so merging knows what to override.
struct Layer {
    std::optional<std::vector<std::string>> command;
    std::optional<std::string> cwd, hostname;
    std::optional<UserMode> user_mode;
    std::optional<std::uint32_t> uid, gid;
    SourceLocation uid_where, gid_where;
    std::optional<std::vector<std::string>> capabilities;
    SourceLocation capabilities_where;
    std::optional<bool> subordinate_ids;
    std::optional<bool> uts, ipc, cgroup;
    NetworkLayer network;
    std::vector<std::string> env_keep, env_unset;
    std::map<std::string, std::string> env_set;
    std::vector<MountSpec> mounts;
    LimitsLayer limits;
    SecurityLayer security;
    Rlimits rlimits;
    std::optional<std::uint64_t> timeout_ms;
    std::optional<std::string> name;
    SourceLocation name_where;
    std::vector<std::string> protect;  // [overlay] protect
    SourceLocation protect_where;
    // [desktop]: each key overrides what the files below said.
    std::optional<bool> wayland, x11, gpu, fonts, themes;
    std::optional<AudioMode> audio;
    std::optional<HomeMode> home;
    SourceLocation desktop_where;
};

void parse_user(const FileParser& p, const toml::table& table, Layer& layer) {
    p.only_keys(table, {"mode", "uid", "gid", "capabilities", "subordinate_ids"}, "[user]");
    if (const auto* node = table.get("subordinate_ids"))
        layer.subordinate_ids = p.bool_value("subordinate_ids", *node);
    if (const auto* node = table.get("mode")) {
        auto mode = parse_user_mode(p.string_value("mode", *node));
        if (!mode) throw ConfigError(p.at(*node), "[user] mode must be " + quoted_choices(user_mode_names()));
        layer.user_mode = mode;
    }
    if (const auto* node = table.get("uid")) {
        layer.uid = p.id_value("uid", *node);
        layer.uid_where = p.at(*node);
    }
    if (const auto* node = table.get("gid")) {
        layer.gid = p.id_value("gid", *node);
        layer.gid_where = p.at(*node);
    }
    if (const auto* node = table.get("capabilities")) {
        const auto* array = node->as_array();
        if (!array) p.wrong_type("capabilities", *node, "an array of strings");
        std::vector<std::string> caps;
        for (const auto& item : *array) {
            std::string name = p.string_value("capabilities", item);
            std::transform(name.begin(), name.end(), name.begin(), ::toupper);
            if (name.rfind("CAP_", 0) != 0) name = "CAP_" + name;
            const auto& known = capability_names();
            if (std::find(known.begin(), known.end(), name) == known.end())
                throw ConfigError(p.at(item), "unknown capability '" + name + "'");
            caps.push_back(name);
        }
        layer.capabilities = caps;
        layer.capabilities_where = p.at(*node);
    }
}

void parse_namespaces(const FileParser& p, const toml::table& table, Layer& layer) {
    for (auto&& [key, node] : table) {
        std::string name(key.str());
        if (name == "user" || name == "mount" || name == "pid")
            throw ConfigError(p.at(key.source()), "the " + name +
                                                      " namespace is always new and cannot be configured");
        if (name == "net" || name == "network")
            throw ConfigError(p.at(key.source()), "the network namespace is set by [network] mode");
    }
    p.only_keys(table, {"uts", "ipc", "cgroup"}, "[namespaces]");
    if (const auto* node = table.get("uts")) layer.uts = p.bool_value("uts", *node);
    if (const auto* node = table.get("ipc")) layer.ipc = p.bool_value("ipc", *node);
    if (const auto* node = table.get("cgroup")) layer.cgroup = p.bool_value("cgroup", *node);
}


bool valid_env_name(const std::string& name, bool allow_glob) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                  (allow_glob && c == '*' && i + 1 == name.size());
        if (!ok || (i == 0 && std::isdigit(static_cast<unsigned char>(c)))) return false;
    }
    return true;
}

void parse_env(const FileParser& p, const toml::table& table, Layer& layer) {
    p.only_keys(table, {"keep", "set", "unset"}, "[env]");
    auto names = [&](const char* key, bool glob) {
        std::vector<std::string> out;
        if (const auto* node = table.get(key)) {
            const auto* array = node->as_array();
            if (!array) p.wrong_type(key, *node, "an array of strings");
            for (const auto& item : *array) {
                std::string name = p.string_value(key, item);
                if (!valid_env_name(name, glob))
                    throw ConfigError(p.at(item), "'" + name + "' is not a valid variable name");
                out.push_back(name);
            }
        }
        return out;
    };
    layer.env_keep = names("keep", true);
    layer.env_unset = names("unset", false);
    if (const auto* node = table.get("set")) {
        const auto* set = node->as_table();
        if (!set) p.wrong_type("set", *node, "a table of NAME = \"value\"");
        for (auto&& [key, value] : *set) {
            std::string name(key.str());
            if (!valid_env_name(name, false))
                throw ConfigError(p.at(key.source()), "'" + name + "' is not a valid variable name");
            if (std::find(layer.env_unset.begin(), layer.env_unset.end(), name) != layer.env_unset.end())
                throw ConfigError(p.at(key.source()), "'" + name + "' is both set and unset in [env]");
            layer.env_set[name] = p.string_value(name, value);
        }
    }
}

const MountType& mount_type_of(const FileParser& p, const toml::table& table, const toml::node& node) {
    const auto* type = table.get("type");
    if (!type) throw ConfigError(p.at(node), "[[mount]] needs a 'type'");
    std::string name = p.string_value("type", *type);
    const MountType* found = find_mount_type(name);
    if (!found)
        throw ConfigError(p.at(*type), "unknown mount type \"" + name + "\" (expected " + mount_type_names() + ")");
    return *found;
}

// Rejects keys that mean nothing for this type of mount (a size on a bind, say).
void check_keys_apply(const FileParser& p, const toml::table& table, const MountType& type) {
    auto forbid = [&](const char* key, bool allowed) {
        if (const auto* found = table.get(key); found && !allowed)
            throw ConfigError(p.at(*found), std::string("'") + key + "' does not apply to a " + type.name + " mount");
    };
    using namespace mount_keys;
    forbid("source", type.source != MountSource::None);
    forbid("size", type.keys & kSize);
    forbid("mode", type.keys & kMode);
    forbid("contents", type.keys & kContents);
    forbid("devices", type.keys & kDevices);
    forbid("follow_symlinks", type.keys & kFollowSymlinks);
    forbid("allow_sensitive", type.keys & kAllowSensitive);
    forbid("propagation", type.keys & kPropagation);
    forbid("lower", type.keys & kLower);
    forbid("upper", type.keys & kUpper);
}

// "private" or "slave"; podman's spellings get a word on why they are not ours.
Propagation propagation_value(const FileParser& p, const toml::node& node) {
    std::string text = p.string_value("propagation", node);
    if (auto propagation = parse_propagation(text)) return *propagation;
    std::string why;
    if (text == "shared" || text == "rshared") why = ": nothing mounted inside a sandbox ever reaches the host";
    if (text == "rslave" || text == "rprivate") why = ": binds are always recursive, so say \"" + text.substr(1) + "\"";
    throw ConfigError(p.at(node), "unknown propagation \"" + text + "\" (expected \"private\" or \"slave\")" + why);
}

void parse_mount_paths(const FileParser& p, const toml::table& table, const toml::node& node, MountSpec& mount) {
    bool is_bind = mount.type->source == MountSource::HostPath;
    mount.source_where = mount.target_where = mount.where;
    if (const auto* source = table.get("source")) {
        mount.source = is_bind ? p.path_value("source", *source) : p.string_value("source", *source);
        mount.source_where = mount.target_where = p.at(*source);
        if (mount.type->source == MountSource::LinkText && mount.source.empty())
            throw ConfigError(p.at(*source), std::string("a ") + mount.type->name + "'s 'source' must not be empty");
    } else if (mount.type->source != MountSource::None) {
        throw ConfigError(p.at(node), std::string("a ") + mount.type->name + " mount needs a 'source'");
    }
    if (const auto* target = table.get("target")) {
        mount.target = p.path_value("target", *target);
        mount.target_where = p.at(*target);
        if (mount.target == "/")
            throw ConfigError(p.at(*target), "'target' cannot be \"/\": the root is the sandbox's own tmpfs");
    } else if (is_bind) {
        mount.target = mount.source;
    } else {
        throw ConfigError(p.at(node), std::string("a ") + mount.type->name + " mount needs a 'target'");
    }
}

MountSpec parse_mount(const FileParser& p, const toml::node& node) {
    const auto* table = node.as_table();
    if (!table) p.wrong_type("mount", node, "a table ([[mount]])");
    p.only_keys(*table,
                {"type", "source", "target", "size", "mode", "contents", "devices", "follow_symlinks", "allow_sensitive",
                 "propagation", "lower", "upper"},
                "[[mount]]");
    MountSpec mount;
    mount.where = p.at(node);
    mount.type = &mount_type_of(p, *table, node);
    check_keys_apply(p, *table, *mount.type);
    parse_mount_paths(p, *table, node, mount);
    if (const auto* size = table->get("size")) mount.size_bytes = p.size_value(*size);
    if (const auto* mode = table->get("mode")) mount.mode = p.mode_value(*mode);
    if (const auto* devices = table->get("devices")) mount.devices = p.bool_value("devices", *devices);
    if (const auto* follow = table->get("follow_symlinks"))
        mount.follow_symlinks = p.bool_value("follow_symlinks", *follow);
    if (const auto* allow = table->get("allow_sensitive"))
        mount.allow_sensitive = p.bool_value("allow_sensitive", *allow);
    if (const auto* propagation = table->get("propagation")) {
        mount.propagation = propagation_value(p, *propagation);
        // Nothing keeps such a mount read-only: the kernel gives it the host's flags, and
        // Landlock does not cover chmod, utimes or xattrs (nor truncation before ABI 3).
        if (mount.propagation == Propagation::Slave && mount.type->read_only)
            throw ConfigError(p.at(*propagation),
                              std::string("propagation = \"slave\" needs a writable bind, not ") + mount.type->name +
                                  ": a mount the host makes there later arrives with the host's own flags, "
                                  "writable, and cannot be made read-only as it arrives\nhint: use type = \"" +
                                  (mount.type->skip_missing_source ? "bind-try" : "bind") +
                                  "\", or leave propagation \"private\"");
    }
    if (const auto* lower = table->get("lower")) {
        const auto* array = lower->as_array();
        if (!array) p.wrong_type("lower", *lower, "an array of absolute paths");
        for (const auto& item : *array) mount.lower.push_back(p.path_value("lower", item));
    }
    if (const auto* upper = table->get("upper")) {
        std::string text = p.string_value("upper", *upper);
        if (text != "tmpfs" && text != "kept")
            throw ConfigError(p.at(*upper), "'upper' must be \"tmpfs\" (changes vanish with the sandbox) or \"kept\" "
                                            "(changes stay until `sandbox commit` or `sandbox discard`), not \"" + text + "\"");
        mount.kept_upper = text == "kept";
        if (mount.kept_upper && mount.size_bytes)
            throw ConfigError(p.at(*upper), "'size' applies to a tmpfs upper, not a kept one");
    }
    if (const auto* contents = table->get("contents")) {
        const auto* text = contents->as_string();
        if (!text) p.wrong_type("contents", *contents, "a string");
        mount.contents = text->get();  // contents are literal: no variable expansion
    } else if (mount.type->contents_required) {
        throw ConfigError(p.at(node), std::string("a ") + mount.type->name + " mount needs 'contents'");
    }
    return mount;
}

// [overlay] protect: paths `sandbox commit` leaves alone without --force, beyond the built-in ones.
void parse_overlay(const FileParser& p, const toml::table& table, Layer& layer) {
    p.only_keys(table, {"protect"}, "[overlay]");
    if (const auto* node = table.get("protect")) {
        const auto* array = node->as_array();
        if (!array) p.wrong_type("protect", *node, "an array of path patterns");
        for (const auto& item : *array) {
            std::string pattern = p.string_value("protect", item);
            if (auto problem = protect_pattern_problem(pattern))
                throw ConfigError(p.at(item), "[overlay] protect \"" + pattern + "\" " + *problem);
            layer.protect.push_back(pattern);
        }
        layer.protect_where = p.at(*node);
    }
}

void parse_desktop(const FileParser& p, const toml::table& table, Layer& layer) {
    p.only_keys(table, {"wayland", "x11", "audio", "gpu", "fonts", "themes", "home"}, "[desktop]");
    if (const auto* node = table.get("home")) {
        auto mode = parse_home_mode(p.string_value("home", *node));
        if (!mode) throw ConfigError(p.at(*node), "[desktop] home must be " + quoted_choices(home_mode_names()));
        layer.home = mode;
    }
    layer.desktop_where = p.at(table);
    for (auto [key, into] : {std::pair{"wayland", &layer.wayland}, std::pair{"x11", &layer.x11}, std::pair{"gpu", &layer.gpu},
                             std::pair{"fonts", &layer.fonts}, std::pair{"themes", &layer.themes}})
        if (const auto* node = table.get(key)) *into = p.bool_value(key, *node);
    if (const auto* node = table.get("audio")) {
        auto mode = parse_audio_mode(p.string_value("audio", *node));
        if (!mode) throw ConfigError(p.at(*node), "[desktop] audio must be " + quoted_choices(audio_mode_names()));
        layer.audio = mode;
    }
}

void parse_mounts(const FileParser& p, const toml::node& node, Layer& layer) {
    const auto* array = node.as_array();
    if (!array) p.wrong_type("mount", node, "an array of tables ([[mount]])");
    std::map<std::string, SourceLocation> seen;
    for (const auto& item : *array) {
        MountSpec mount = parse_mount(p, item);
        auto [it, fresh] = seen.emplace(mount.target, mount.where);
        if (!fresh)
            throw ConfigError(mount.target_where, "conflict: " + mount.target + " is already a mount target at line " +
                                               std::to_string(it->second.line));
        layer.mounts.push_back(std::move(mount));
    }
}

Layer parse_layer(const FileParser& p, const toml::table& root) {
    p.only_keys(root, {"extends", "name", "command", "cwd", "hostname", "user", "namespaces", "network", "env",
                       "mount", "overlay", "desktop", "limits", "security", "seccomp", "rlimits", "timeout"},
                "the profile");
    Layer layer;
    if (const auto* node = root.get("command")) {
        layer.command = p.string_list("command", *node);
        if (layer.command->empty()) throw ConfigError(p.at(*node), "'command' must not be empty");
    }
    if (const auto* node = root.get("name")) {
        std::string name = p.string_value("name", *node);
        if (!valid_sandbox_name(name))
            throw ConfigError(p.at(*node), "'name' must be 1 to 64 letters, digits, '.', '_' or '-', starting "
                                           "with a letter or digit, not \"" + name + "\"");
        layer.name = name;
        layer.name_where = p.at(*node);
    }
    if (const auto* node = root.get("cwd")) layer.cwd = p.path_value("cwd", *node);
    if (const auto* node = root.get("hostname")) {
        std::string name = p.string_value("hostname", *node);
        if (auto problem = hostname_problem(name)) throw ConfigError(p.at(*node), "'hostname' " + *problem);
        layer.hostname = name;
    }
    auto table_of = [&](const char* key) -> const toml::table* {
        const auto* node = root.get(key);
        if (!node) return nullptr;
        if (!node->is_table()) p.wrong_type(key, *node, "a table");
        return node->as_table();
    };
    if (const auto* t = table_of("user")) parse_user(p, *t, layer);
    if (const auto* t = table_of("namespaces")) parse_namespaces(p, *t, layer);
    if (const auto* t = table_of("network")) layer.network = parse_network(p, *t);
    if (const auto* t = table_of("env")) parse_env(p, *t, layer);
    if (const auto* node = root.get("mount")) parse_mounts(p, *node, layer);
    if (const auto* t = table_of("overlay")) parse_overlay(p, *t, layer);
    if (const auto* t = table_of("desktop")) parse_desktop(p, *t, layer);
    if (const auto* t = table_of("limits")) layer.limits = parse_limits(p, *t);
    if (const auto* t = table_of("security")) parse_security(p, *t, layer.security);
    if (const auto* t = table_of("seccomp")) parse_seccomp(p, *t, layer.security);
    if (const auto* t = table_of("rlimits")) parse_rlimits(p, *t, layer.rlimits);
    if (const auto* node = root.get("timeout")) {
        std::string text = node->is_integer() ? std::to_string(node->as_integer()->get()) : p.string_value("timeout", *node);
        layer.timeout_ms = parse_duration(text);
        if (!layer.timeout_ms)
            throw ConfigError(p.at(*node), "'timeout' must be a duration such as \"30s\", \"5m\" or \"1h\", not \"" + text + "\"");
    }
    return layer;
}

template <typename T>
void append_unique(std::vector<T>& to, const std::vector<T>& from) {
    for (const auto& item : from)
        if (std::find(to.begin(), to.end(), item) == to.end()) to.push_back(item);
}

void merge(Profile& into, const Layer& layer, SourceLocation& capabilities_where,
           SourceLocation& user_mode_where, SourceLocation& slirp_only_where, const SourceLocation& file_start) {
    if (layer.name) {
        into.name = *layer.name;
        into.name_where = layer.name_where;
    }
    if (layer.command) into.command = *layer.command;
    if (layer.cwd) into.cwd = *layer.cwd;
    if (layer.hostname) into.hostname = *layer.hostname;
    if (layer.user_mode) {
        into.user_mode = *layer.user_mode;
        user_mode_where = file_start;
    }
    if (layer.uid) {
        into.uid = layer.uid;
        into.uid_where = layer.uid_where;
    }
    if (layer.gid) {
        into.gid = layer.gid;
        into.gid_where = layer.gid_where;
    }
    if (layer.subordinate_ids) into.subordinate_ids = *layer.subordinate_ids;
    if (layer.capabilities) {
        into.capabilities = *layer.capabilities;
        capabilities_where = layer.capabilities_where;
    }
    if (layer.uts) into.ns_uts = *layer.uts;
    if (layer.ipc) into.ns_ipc = *layer.ipc;
    if (layer.cgroup) into.ns_cgroup = *layer.cgroup;
    merge_network(into, layer.network, slirp_only_where);
    merge_limits(into.limits, layer.limits);
    merge_security(into.seccomp, into.landlock, layer.security);
    for (const auto& [name, value] : layer.rlimits.values) {
        into.rlimits.values[name] = value;
        into.rlimits.where[name] = layer.rlimits.where.at(name);
    }
    if (layer.timeout_ms) into.timeout_ms = layer.timeout_ms;
    append_unique(into.env_keep, layer.env_keep);
    append_unique(into.protect, layer.protect);
    if (!layer.protect.empty()) into.protect_where = layer.protect_where;
    DesktopSettings& desktop = into.desktop;
    for (auto [from, to] : {std::pair{&layer.wayland, &desktop.wayland}, std::pair{&layer.x11, &desktop.x11},
                            std::pair{&layer.gpu, &desktop.gpu}, std::pair{&layer.fonts, &desktop.fonts},
                            std::pair{&layer.themes, &desktop.themes}})
        if (*from) *to = **from;
    if (layer.audio) desktop.audio = *layer.audio;
    if (layer.home) desktop.home = *layer.home;
    if (!layer.desktop_where.file.empty()) desktop.where = layer.desktop_where;
    for (const auto& name : layer.env_unset) {
        into.env_set.erase(name);
        append_unique(into.env_unset, {name});
    }
    for (const auto& [name, value] : layer.env_set) {
        into.env_set[name] = value;
        into.env_unset.erase(std::remove(into.env_unset.begin(), into.env_unset.end(), name),
                             into.env_unset.end());
    }
    for (const auto& mount : layer.mounts) {
        // A later mount of the same target takes the earlier one's place in the list.
        auto& list = into.mounts;
        auto same = std::find_if(list.begin(), list.end(),
                                 [&](const MountSpec& m) { return m.target == mount.target; });
        if (same != list.end()) *same = mount;
        else list.push_back(mount);
    }
}

bool is_path_reference(const std::string& ref) {
    return ref.find('/') != std::string::npos ||
           (ref.size() > 5 && ref.compare(ref.size() - 5, 5, ".toml") == 0);
}

// resolve_profile, with `exists` telling whether a file is there (the loader asks its own cache).
// A file that is there but cannot be read is found: reading it then says why.
template <typename Exists>
std::optional<std::string> find_profile(const std::string& ref, const std::string& base_dir,
                                        const std::vector<std::string>& search_dirs, Exists&& exists) {
    if (ref.empty()) return std::nullopt;
    if (is_path_reference(ref)) {
        std::string path = ref[0] == '/' || base_dir.empty() ? ref : base_dir + "/" + ref;
        // Lexically normal, so one file always has one name (cycle detection compares names).
        // A missing file is reported when it is read.
        return std::filesystem::path(path).lexically_normal().string();
    }
    std::vector<std::string> dirs;
    if (!base_dir.empty()) dirs.push_back(base_dir);
    dirs.insert(dirs.end(), search_dirs.begin(), search_dirs.end());
    for (const auto& dir : dirs) {
        std::string path = std::filesystem::path(dir + "/" + ref + ".toml").lexically_normal().string();
        if (exists(path)) return path;
    }
    return std::nullopt;
}

// Refuses text that is not UTF-8 or holds a NUL byte, at its line and column (in characters,
// as toml++ counts). toml++ gets only text that passed (with its asserts on, "[[\0" aborted it).
void check_profile_text(const std::string& path, const std::string& text) {
    int line = 1, column = 1;
    auto bad = [&](const std::string& what) { return ConfigError({path, line, column}, what); };
    const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t size = text.size();
    for (std::size_t i = 0; i < size;) {
        unsigned char lead = bytes[i];
        if (lead == 0) throw bad("a NUL byte: a profile is UTF-8 text");
        std::size_t length = lead < 0x80 ? 1 : (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3
                                                : (lead & 0xf8) == 0xf0 ? 4 : 0;
        // The second byte's range excludes overlong forms, UTF-16 surrogates and > U+10FFFF.
        unsigned char low = 0x80, high = 0xbf;
        if (lead == 0xe0) low = 0xa0;
        if (lead == 0xed) high = 0x9f;
        if (lead == 0xf0) low = 0x90;
        if (lead == 0xf4) high = 0x8f;
        bool valid = length != 0 && !(length == 2 && lead < 0xc2) && lead <= 0xf4 && i + length <= size;
        for (std::size_t k = 1; valid && k < length; ++k) {
            unsigned char next = bytes[i + k];
            valid = k == 1 ? next >= low && next <= high : (next & 0xc0) == 0x80;
        }
        if (!valid) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02x", lead);
            throw bad(std::string("invalid UTF-8 (byte ") + hex + "): a profile is UTF-8 text");
        }
        if (lead == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
        i += length;
    }
}

struct Loader {
    const Variables& vars;
    const ProfileSource& source;
    Profile profile;
    SourceLocation capabilities_where, user_mode_where, slirp_only_where;
    std::map<std::string, ProfileFileText> read_files;  // each file is read once
    std::set<std::string> merged;                        // a file extended twice is merged once

    ProfileFileText& read(const std::string& path) {
        auto found = read_files.find(path);
        if (found == read_files.end()) found = read_files.emplace(path, source.read_file(path)).first;
        return found->second;
    }

    static std::string chain_of(const std::vector<std::string>& stack, const std::string& last) {
        std::string chain;
        for (const auto& file : stack) chain += file + " -> ";
        return chain + last;
    }

    // Refuses to start one more file when that would pass a limit; `from` is its extends entry.
    void check_limits(const std::string& path, const std::vector<std::string>& stack,
                      const SourceLocation& from) const {
        if (stack.size() >= kMaxExtendsDepth)
            throw ConfigError(from, "extends chain longer than " + std::to_string(kMaxExtendsDepth) +
                                        " files (the limit): " + chain_of(stack, path));
        if (merged.size() + stack.size() >= kMaxProfileFiles)
            throw ConfigError(from, "more than " + std::to_string(kMaxProfileFiles) +
                                        " files in one profile (the limit) with " + path);
    }

    toml::table parse_file(const std::string& path, const SourceLocation& from) {
        ProfileFileText& file = read(path);
        if (!file.text) throw ConfigError(from, "cannot read profile " + path + ": " + file.reason());
        if (file.text->size() > kMaxProfileFileBytes)
            throw ConfigError(from, "cannot read profile " + path + ": larger than " +
                                        std::to_string(kMaxProfileFileBytes >> 20) +
                                        " MiB (the limit for a profile file)");
        std::string text = std::move(*file.text);  // read once, needed no more
        check_profile_text(path, text);
        try {
            return toml::parse(text, path);
        } catch (const toml::parse_error& error) {
            const auto& begin = error.source().begin;
            throw ConfigError({path, static_cast<int>(begin.line), static_cast<int>(begin.column)},
                              "TOML syntax error: " + std::string(error.description()));
        }
    }

    void load(const std::string& path, std::vector<std::string>& stack, const SourceLocation& from) {
        check_limits(path, stack, from);
        toml::table root = parse_file(path, from);
        Variables file_vars = vars;
        file_vars["PROFILE_DIR"] = directory_of(std::filesystem::absolute(path).string());
        FileParser parser(path, file_vars);
        stack.push_back(path);
        if (const auto* node = root.get("extends")) {
            const auto* array = node->as_array();
            if (!array) parser.wrong_type("extends", *node, "an array of profile names or paths");
            for (const auto& item : *array) {
                std::string ref = parser.string_value("extends", item);
                std::string dir = directory_of(path);
                auto resolved = find_profile(ref, dir.empty() ? "." : dir, source.search_dirs,
                                             [&](const std::string& p) { return !read(p).missing(); });
                if (!resolved) throw ConfigError(parser.at(item), "cannot find profile \"" + ref + "\"");
                if (std::find(stack.begin(), stack.end(), *resolved) != stack.end())
                    throw ConfigError(parser.at(item), "extends cycle: " + chain_of(stack, *resolved));
                // A diamond (two parents extend one file): that file counts, and is merged, once,
                // where it first appears.
                if (merged.count(*resolved)) continue;
                load(*resolved, stack, parser.at(item));
            }
        }
        Layer layer = parse_layer(parser, root);
        merge(profile, layer, capabilities_where, user_mode_where, slirp_only_where, {path, 1, 1});
        profile.files.push_back(path);
        merged.insert(path);
        stack.pop_back();
    }
};

}  // namespace

std::optional<std::string> resolve_profile(const std::string& ref, const std::string& base_dir,
                                           const ProfileSource& source) {
    return find_profile(ref, base_dir, source.search_dirs,
                        [&](const std::string& path) { return !source.read_file(path).missing(); });
}

Profile load_profile(const std::string& path, const Variables& vars, const ProfileSource& source) {
    Loader loader{vars, source, {}, {}, {}, {}, {}, {}};
    std::vector<std::string> stack;
    loader.load(path, stack, {path, 0, 0});
    Profile& profile = loader.profile;
    validate_network(profile, loader.slirp_only_where);
    if (profile.user_mode == UserMode::KeepId && !profile.capabilities.empty())
        throw ConfigError(loader.capabilities_where,
                          "capabilities need [user] mode = \"root\"; keep-id runs as your own uid without any");
    return std::move(profile);
}

}  // namespace sb
