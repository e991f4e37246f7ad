// The [limits] table of a profile: parsing one file's and merging it into the profile.
#pragma once
#include <optional>

#include "cgroup/limits.hpp"
#include "profile/file_parser.hpp"

namespace sb {

struct LimitsLayer {
    Limits values;  // only the keys this file sets are set (optionals); io entries add up
    std::optional<Enforce> enforce;
    std::optional<bool> nested;
};

LimitsLayer parse_limits(const FileParser& p, const toml::table& table);

// Later files win key by key; an io entry for a device replaces the earlier one's.
void merge_limits(Limits& into, const LimitsLayer& layer);

}  // namespace sb
