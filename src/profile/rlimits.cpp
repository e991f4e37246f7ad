#include "profile/rlimits.hpp"

#include "profile/security.hpp"

#include <sys/resource.h>

#include <cmath>
#include <cstdlib>

#include "cgroup/limits.hpp"

namespace sb {
namespace {

std::optional<std::uint64_t> parse_one(const RlimitKind& kind, const std::string& text) {
    if (text == "unlimited" || text == "infinity") return kRlimUnlimited;
    if (text.empty()) return std::nullopt;
    if (kind.size) {
        auto bytes = parse_size(text, false);
        return bytes;
    }
    if (text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19) return std::nullopt;
    return std::stoull(text);
}

std::string format_one(const RlimitKind& kind, std::uint64_t value) {
    if (value == kRlimUnlimited) return "unlimited";
    return kind.size ? format_size(value) : std::to_string(value);
}

RlimitValue value_of(const FileParser& p, const RlimitKind& kind, const toml::node& node) {
    std::string text;
    if (const auto* integer = node.as_integer()) {
        if (integer->get() < 0) throw ConfigError(p.at(node), std::string("'") + kind.name + "' must be 0 or more");
        text = std::to_string(integer->get());
    } else if (const auto* string = node.as_string()) {
        text = string->get();
    } else {
        p.wrong_type(kind.name, node, "a number, \"SOFT:HARD\" or \"unlimited\"");
    }
    auto value = parse_rlimit_value(kind, text);
    if (!value)
        throw ConfigError(p.at(node), std::string("'") + kind.name + "' must be " +
                                          (kind.size ? "a size such as \"64M\"" : "a number") +
                                          ", \"unlimited\", or SOFT:HARD with SOFT <= HARD, not \"" + text + "\"");
    return *value;
}

std::string upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

[[noreturn]] void above_hard(const RlimitKind& kind, const RlimitValue& asked, const RlimitValue& host) {
    throw SetupError(Stage::Rlimits,
                     std::string(kind.name) + " = " + format_rlimit_value(kind, asked) +
                         " is above the hard limit of this session (" + format_one(kind, host.hard) + ")",
                     "an unprivileged process cannot raise its hard limits: ask for less, or raise the limit "
                     "in limits.conf (or systemd's Limit" + upper(kind.name) + "=) and log in again");
}

}  // namespace

const std::vector<RlimitKind>& rlimit_kinds() {
    static const std::vector<RlimitKind> kinds = {
        {"nofile", RLIMIT_NOFILE, false, "open files"},
        {"nproc", RLIMIT_NPROC, false, "processes of the user"},
        {"core", RLIMIT_CORE, true, "core file size"},
        {"fsize", RLIMIT_FSIZE, true, "file size"},
        {"as", RLIMIT_AS, true, "address space"},
        {"cpu", RLIMIT_CPU, false, "CPU seconds"},
        {"stack", RLIMIT_STACK, true, "stack size"},
        {"memlock", RLIMIT_MEMLOCK, true, "locked memory"},
    };
    return kinds;
}

const RlimitKind* find_rlimit(const std::string& name) {
    for (const auto& kind : rlimit_kinds())
        if (name == kind.name) return &kind;
    return nullptr;
}

std::optional<RlimitValue> parse_rlimit_value(const RlimitKind& kind, const std::string& text) {
    auto colon = text.find(':');
    auto soft = parse_one(kind, text.substr(0, colon));
    auto hard = colon == std::string::npos ? soft : parse_one(kind, text.substr(colon + 1));
    if (!soft || !hard || *soft > *hard) return std::nullopt;
    return RlimitValue{*soft, *hard};
}

std::string format_rlimit_value(const RlimitKind& kind, const RlimitValue& value) {
    if (value.soft == value.hard) return format_one(kind, value.soft);
    return format_one(kind, value.soft) + ":" + format_one(kind, value.hard);
}

void parse_rlimits(const FileParser& p, const toml::table& table, Rlimits& into) {
    for (auto&& [key, node] : table) {
        std::string name(key.str());
        const RlimitKind* kind = find_rlimit(name);
        if (!kind) {
            std::string names;
            for (const auto& k : rlimit_kinds()) names += std::string(names.empty() ? "" : ", ") + k.name;
            throw ConfigError(p.at(key.source()), "unknown key '" + name + "' in [rlimits] (expected one of: " + names + ")");
        }
        into.values[name] = value_of(p, *kind, node);
        into.where[name] = p.at(node);
    }
}

std::optional<std::uint64_t> parse_duration(const std::string& text) {
    static const std::pair<const char*, double> units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    std::string number = text;
    double scale = 1000;
    for (const auto& [suffix, factor] : units) {
        std::string s(suffix);
        if (text.size() > s.size() && text.compare(text.size() - s.size(), s.size(), s) == 0 &&
            std::isdigit(static_cast<unsigned char>(text[text.size() - s.size() - 1]))) {
            number = text.substr(0, text.size() - s.size());
            scale = factor;
            break;
        }
    }
    if (number.empty() || number.find_first_not_of("0123456789.") != std::string::npos ||
        number.find('.') != number.rfind('.') || number.front() == '.' || number.back() == '.')
        return std::nullopt;
    double ms = std::strtod(number.c_str(), nullptr) * scale;
    if (!std::isfinite(ms) || ms < 1 || ms > 365.0 * 24 * 3600 * 1000) return std::nullopt;
    return round_non_negative(ms);
}

std::string format_duration_ms(std::uint64_t ms) {
    if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
    if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

std::vector<RlimitStep> plan_rlimits(const Rlimits& profile, const std::vector<std::string>& overrides,
                                     const HostRlimits& host) {
    std::map<std::string, RlimitValue> values = profile.values;
    for (const auto& spec : overrides) {
        auto eq = spec.find('=');
        const RlimitKind* kind = eq == std::string::npos ? nullptr : find_rlimit(spec.substr(0, eq));
        if (!kind) throw UsageError("--rlimit " + spec + ": expected NAME=VALUE with NAME one of nofile, nproc, core, "
                                    "fsize, as, cpu, stack, memlock");
        auto value = parse_rlimit_value(*kind, spec.substr(eq + 1));
        if (!value) throw UsageError("--rlimit " + spec + ": expected a " + (kind->size ? "size" : "number") +
                                     ", \"unlimited\", or SOFT:HARD with SOFT <= HARD");
        values[kind->name] = *value;
    }
    if (!values.count("core")) values["core"] = RlimitValue{0, 0};
    std::vector<RlimitStep> steps;
    for (const auto& kind : rlimit_kinds()) {
        auto found = values.find(kind.name);
        if (found == values.end()) continue;
        auto limit = host.find(kind.resource);
        if (limit != host.end() && found->second.hard > limit->second.hard) above_hard(kind, found->second, limit->second);
        steps.push_back({kind.name, kind.resource, found->second});
    }
    return steps;
}

}  // namespace sb
