// The commands about sandboxes that already run (ps, pause, resume, stats) and about the host
// (doctor). Each returns the exit code.
#pragma once
#include <string>

#include "manage/diagnose.hpp"
#include "plan/plan.hpp"

namespace sb {

// ps: the running sandboxes; with `all`, the exited ones kept until `rm` too.
int list_sandboxes(const HostFacts& facts, bool json, bool all);
int freeze_sandbox(const HostFacts& facts, const std::string& name, bool frozen);
int show_stats(const HostFacts& facts, const std::string& name, bool json);
int run_doctor(const HostFacts& facts);

// The sysctls that decide whether this user may create user namespaces (for doctor, and for
// the hint when creating one fails in a run).
IsolationFacts read_user_namespace_sysctls();
// A child tries unshare(CLONE_NEWUSER): the only sure way to know, whatever restricts it.
// 0 when it worked, else its errno.
int probe_user_namespace();

}  // namespace sb
