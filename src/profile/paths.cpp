// Pure helpers for profile values: variable expansion, path normalization, names of enums,
// the hostname rule.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "profile/profile.hpp"

namespace sb {

namespace {

// The one spelling of each mode: profiles, the command line, --dry-run and messages.
template <typename Mode>
struct ModeName {
    Mode mode;
    const char* name;
};
constexpr ModeName<UserMode> kUserModes[] = {{UserMode::Root, "root"}, {UserMode::KeepId, "keep-id"}};
constexpr ModeName<NetworkMode> kNetworkModes[] = {
    {NetworkMode::None, "none"}, {NetworkMode::Slirp, "slirp"}, {NetworkMode::Host, "host"}};

template <typename Mode, std::size_t N>
const char* name_of(const ModeName<Mode> (&table)[N], Mode mode) {
    for (const auto& entry : table)
        if (entry.mode == mode) return entry.name;
    return "?";
}

template <typename Mode, std::size_t N>
std::optional<Mode> mode_named(const ModeName<Mode> (&table)[N], const std::string& text) {
    for (const auto& entry : table)
        if (text == entry.name) return entry.mode;
    return std::nullopt;
}

template <typename Mode, std::size_t N>
std::vector<std::string> names_of(const ModeName<Mode> (&table)[N]) {
    std::vector<std::string> names;
    for (const auto& entry : table) names.push_back(entry.name);
    return names;
}

}  // namespace

const char* to_string(UserMode mode) { return name_of(kUserModes, mode); }
const char* to_string(NetworkMode mode) { return name_of(kNetworkModes, mode); }
std::optional<UserMode> parse_user_mode(const std::string& text) { return mode_named(kUserModes, text); }
std::optional<NetworkMode> parse_network_mode(const std::string& text) { return mode_named(kNetworkModes, text); }
std::vector<std::string> user_mode_names() { return names_of(kUserModes); }
std::vector<std::string> network_mode_names() { return names_of(kNetworkModes); }

std::string quoted_choices(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
        out += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + "\"" + names[i] + "\"";
    return out;
}

std::string directory_of(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return "";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string expand_variables(const std::string& text, const Variables& vars,
                             const SourceLocation& where) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '$') {
            out += text[i];
            continue;
        }
        if (i + 1 < text.size() && text[i + 1] == '$') {
            out += '$';
            ++i;
            continue;
        }
        if (i + 1 >= text.size() || text[i + 1] != '{') {
            out += '$';  // a '$' that starts no ${NAME} is itself (shell prompts use them)
            continue;
        }
        std::size_t close = text.find('}', i);
        if (close == std::string::npos)
            throw ConfigError(where, "unterminated ${ in \"" + text + "\" (write $$ for a literal $)");
        std::string name = text.substr(i + 2, close - i - 2);
        auto found = vars.find(name);
        if (found == vars.end())
            throw ConfigError(where, "unknown variable ${" + name + "}");
        if (found->second.empty())
            throw ConfigError(where, "variable ${" + name + "} is not set in this environment");
        out += found->second;
        i = close;
    }
    return out;
}

std::string ProfileFileText::reason() const { return refusal.empty() ? std::strerror(error) : refusal; }

bool ProfileFileText::missing() const {
    return !text && refusal.empty() && (error == ENOENT || error == ENOTDIR);
}

namespace {
bool is_hostname_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

// A character for a message: itself when printable ASCII, else an escape (a newline must not
// reach the terminal as one).
std::string shown(char c) {
    if (c == '\n') return "\\n";
    if (c == '\t') return "\\t";
    if (c >= 0x20 && c < 0x7f) return std::string(1, c);
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
    return hex;
}
}  // namespace

std::optional<std::string> hostname_problem(const std::string& name) {
    if (name.empty()) return std::string("must not be empty");
    if (name.size() > 64) return "must be at most 64 characters, not " + std::to_string(name.size());
    for (std::size_t i = 0; i < name.size(); ++i)
        if (!is_hostname_char(name[i]))
            return "may contain only letters, digits, '-' and '.', not '" + shown(name[i]) + "' at byte " +
                   std::to_string(i + 1);
    return std::nullopt;
}

std::optional<std::string> normalize_absolute_path(const std::string& path) {
    if (path.empty() || path[0] != '/') return std::nullopt;
    std::string out;
    std::stringstream parts(path);
    std::string part;
    while (std::getline(parts, part, '/')) {
        if (part.empty() || part == ".") continue;
        if (part == "..") return std::nullopt;
        out += "/" + part;
    }
    return out.empty() ? "/" : out;
}

const std::vector<std::string>& capability_names() {
    static const std::vector<std::string> names = {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
        "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    };
    return names;
}

}  // namespace sb
