// Capabilities and privileges of the payload, applied just before exec.
#pragma once
#include <vector>

namespace sb {

// Leaves only `keep` (capability numbers) in the bounding set and clears the ambient set, so an
// exec can grant nothing else. Must run while the process still has CAP_SETPCAP (before
// dropping privileges); apply_capability_sets then clears the inheritable set.
void apply_capability_bounds(const std::vector<int>& keep);

// Sets permitted and effective to `keep` (empty: nothing) and inheritable to nothing.
void apply_capability_sets(const std::vector<int>& keep);

void apply_no_new_privs();

}  // namespace sb
