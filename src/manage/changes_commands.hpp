// diff, commit and discard: the kept changes of a sandbox's overlays (changes/store.hpp). Each
// does its work in a helper inside a user namespace with the sandbox's ids, so that it can read
// and remove whatever the sandbox made as any of them. Each returns the exit code.
#pragma once
#include <string>
#include <vector>

#include "plan/plan.hpp"

namespace sb {

struct DiffOptions {
    bool stat = false, json = false;
    std::vector<std::string> paths;  // as given: relative to the current directory, or absolute
};
int diff_sandbox(const HostFacts& facts, const std::string& name, const DiffOptions& options);

struct CommitOptions {
    bool force = false;  // conflicts and protected paths too
    std::vector<std::string> paths;
    std::string violations;  // --violations FILE: a JSON line per protected path left out
};
// 0 when everything asked for was committed; 1 when conflicts or protected paths were left.
int commit_sandbox(const HostFacts& facts, const std::string& name, const CommitOptions& options);

int discard_changes(const HostFacts& facts, const std::vector<std::string>& names);

// The names with kept changes, for ps.
std::vector<std::string> names_with_kept_changes(const HostFacts& facts);

}  // namespace sb
