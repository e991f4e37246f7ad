// The commands about sandboxes that already run (ps, pause, resume, stats) and about the host
// (doctor). Each returns the exit code.
#pragma once
#include <string>

#include "plan/plan.hpp"

namespace sb {

int list_sandboxes(const HostFacts& facts, bool json);
int freeze_sandbox(const HostFacts& facts, const std::string& name, bool frozen);
int show_stats(const HostFacts& facts, const std::string& name, bool json);
int run_doctor(const HostFacts& facts);

}  // namespace sb
