// The processes inside the sandbox. Each function runs in a freshly cloned/forked process and
// never returns: errors are sent to the supervisor over the sync socket, then the process exits.
#pragma once
#include "plan/plan.hpp"

namespace sb {

struct SandboxChild {
    const Plan& plan;
    int sync;          // our end of the sync socket (CLOEXEC)
    bool use_terminal; // give the payload a pty of the sandbox's own devpts
};

// C: in the new user namespace; waits for the maps, creates the nested namespaces and clones
// I (pid 1) as a sibling (CLONE_PARENT, so the supervisor is its parent), reports it, exits.
[[noreturn]] void run_setup_child(const SandboxChild& child);

// I: pid 1. Builds the filesystem, hostname and loopback, forks the payload, then reaps every
// zombie and forwards signals until the payload exits.
[[noreturn]] void run_init(const SandboxChild& child);

// W: drops privileges and execs the payload's argv. `terminal` is the pty peer or -1.
[[noreturn]] void run_payload(const SandboxChild& child, int terminal);

// In a child: sends the error and exits 125.
[[noreturn]] void fail_child(int sync, const std::exception& error) noexcept;

}  // namespace sb
