// S, the supervisor: the `sandbox` process on the host side.
#pragma once
#include "plan/plan.hpp"

namespace sb {

struct RunOptions {
    bool verbose = false;
    std::string violations;  // --violations FILE ("" = none)
    int json_status_fd = -1;  // --json-status-fd FD: the caller's, open for writing (-1 = none)
    int detach_report = -1;   // run --detach: where to say the payload exec'd (payload-executed)
};

// Reads what the plan depends on: ids, user name, subordinate ranges, helpers, environment.
HostFacts prepare_host_facts();

// Starts the sandbox for `plan` and waits for it; returns the exit code (payload's, 128+N,
// 126/127 for exec failures). Throws SetupError when the sandbox could not be set up.
int run_sandbox(const Plan& plan, const RunOptions& options);

// run --detach: a supervisor of its own session runs the sandbox (its output in the sandbox's
// log); returns 0 once the payload exec'd, having printed the sandbox's name. Throws the
// SetupError of a sandbox that could not start (the exit code of one whose exec failed).
int run_sandbox_detached(const Plan& plan, const RunOptions& options);

}  // namespace sb
