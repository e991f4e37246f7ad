// The commands that talk to a running sandbox's supervisor over its control socket (kill,
// stop, wait, exec, enter), and those about its record and log (rm, logs). Each returns the
// exit code; errors are SetupErrors of stage lookup, control or logs.
#pragma once
#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace sb {

struct ExecOptions {
    std::vector<std::string> argv;  // empty: the sandbox's shell (enter)
    std::vector<std::string> env;   // -e NAME=VALUE
    std::string cwd;                // -w DIR
    bool tty = false;               // -t: a pty even when the caller has no terminal
};

int kill_sandbox(const HostFacts& facts, const std::string& name, const std::string& signal);
int stop_sandbox(const HostFacts& facts, const std::string& name, unsigned grace_seconds);
int wait_sandbox(const HostFacts& facts, const std::string& name);
int exec_in_sandbox(const HostFacts& facts, const std::string& name, const ExecOptions& options);
// Connects our terminal (or stdio) to a detached sandbox until it ends (its exit code) or the
// user types Ctrl-P Ctrl-Q (0: it runs on).
int attach_sandbox(const HostFacts& facts, const std::string& name, bool no_stdin);
// The running sandbox's plan and live state, as text or JSON.
int inspect_sandbox(const HostFacts& facts, const std::string& name, bool json);
int remove_sandboxes(const HostFacts& facts, const std::vector<std::string>& names);
int show_logs(const HostFacts& facts, const std::string& name, bool follow, long tail);

}  // namespace sb
