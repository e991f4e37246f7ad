// The process slice of the plan: what the payload is and runs as. `sandbox run` fills it from
// the profile; `exec` into a running sandbox and an OCI runtime's config.json will fill the same
// type. Plain data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "profile/rlimits.hpp"

namespace sb {

struct ProcessSpec {
    std::vector<std::string> argv;
    std::vector<std::string> env;   // NAME=VALUE, sorted
    std::string cwd;
    std::uint32_t uid = 0, gid = 0;  // inside the sandbox
    bool set_groups = true;          // drop the supplementary groups (not possible with a single-id map)
    std::vector<int> capabilities;   // kept (root mode only); no_new_privs is always set
    std::vector<RlimitStep> rlimits; // setrlimit before exec
};

}  // namespace sb
