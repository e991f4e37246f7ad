// Capabilities and privileges of the payload, applied just before exec.
#pragma once
#include <vector>

namespace sb {

// Leaves only `keep` (capability numbers) in the bounding set and clears the inheritable and
// ambient sets, so after exec the payload holds nothing else; then sets no_new_privs.
// Must run while the process still has CAP_SETPCAP (before dropping privileges).
void apply_capability_bounds(const std::vector<int>& keep);

// Sets permitted/effective to `keep` (empty: nothing) for the process itself.
void apply_capability_sets(const std::vector<int>& keep);

void apply_no_new_privs();

}  // namespace sb
