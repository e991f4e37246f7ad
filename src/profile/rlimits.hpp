// [rlimits] and timeouts: resource limits of the payload's processes (setrlimit, inherited by
// every process inside) and the wall-clock limit of a run. Pure: parsing and planning.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sys/error.hpp"

namespace sb {

constexpr std::uint64_t kRlimUnlimited = ~std::uint64_t{0};

struct RlimitValue {
    std::uint64_t soft = 0, hard = 0;
    bool operator==(const RlimitValue&) const = default;
};

struct RlimitKind {
    const char* name;  // as in the profile: "nofile"
    int resource;      // RLIMIT_NOFILE
    bool size;         // takes sizes such as "512M" (bytes)
    const char* what;  // for messages and the man page
};

// The limits a profile may set, in a fixed order.
const std::vector<RlimitKind>& rlimit_kinds();
const RlimitKind* find_rlimit(const std::string& name);

// "1024", "1024:4096", "unlimited", "512M" (size limits). nullopt when malformed or soft > hard.
std::optional<RlimitValue> parse_rlimit_value(const RlimitKind& kind, const std::string& text);
std::string format_rlimit_value(const RlimitKind& kind, const RlimitValue& value);

struct Rlimits {
    std::map<std::string, RlimitValue> values;    // by name
    std::map<std::string, SourceLocation> where;  // where each was set
};

// "30s", "5m", "1h", "250ms", "1.5s" or a number of seconds -> milliseconds; nullopt when bad,
// zero or above a year.
std::optional<std::uint64_t> parse_duration(const std::string& text);
std::string format_duration_ms(std::uint64_t ms);

// One setrlimit the payload makes.
struct RlimitStep {
    std::string name;
    int resource = 0;
    RlimitValue value;
    bool operator==(const RlimitStep&) const = default;
};

// The caller's own limits (getrlimit), by resource: nothing may be raised above their hard limit.
using HostRlimits = std::map<int, RlimitValue>;

// Profile values, then NAME=VALUE overrides from the command line, then the defaults (core = 0:
// a crashing payload writes no core file into a writable directory). Throws UsageError for a bad
// override and SetupError when a value exceeds the caller's hard limit.
std::vector<RlimitStep> plan_rlimits(const Rlimits& profile, const std::vector<std::string>& overrides,
                                     const HostRlimits& host);

}  // namespace sb
