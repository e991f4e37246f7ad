// The process slice of the plan: what the payload is and runs as. `sandbox run` fills it from
// the profile; `exec` into a running sandbox and an OCI runtime's config.json will fill the same
// type. Plain data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "profile/rlimits.hpp"
#include "seccomp/policy.hpp"

namespace sb {

struct ProcessSpec {
    std::vector<std::string> argv;
    std::vector<std::string> env;   // NAME=VALUE, sorted
    std::string cwd;
    std::uint32_t uid = 0, gid = 0;  // inside the sandbox
    bool set_groups = true;          // drop the supplementary groups (not possible with a single-id map)
    std::vector<int> capabilities;   // kept (root mode only)
    bool no_new_privs = true;        // set before exec (`run` always sets it)
    std::vector<RlimitStep> rlimits; // setrlimit before exec
    // Bit N: the payload's fd N is the sandbox's own pty (the caller's fd N is a terminal).
    unsigned terminal_fds = 0;
    // The filter the payload runs under; see filter_loaded_before_fork for who loads it.
    SeccompPolicy seccomp;
};

}  // namespace sb
