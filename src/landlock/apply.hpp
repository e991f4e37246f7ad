// Applying a LandlockPlan to the calling process (the payload, after no_new_privs).
#pragma once
#include "landlock/plan.hpp"

namespace sb {

// The Landlock ABI version of this kernel; 0 when it has none (or it is disabled at boot).
int landlock_abi();

// Restricts the caller. Best-effort: where the kernel has no Landlock, returns false. Required:
// throws SetupError there. Rules whose path is missing are skipped (a -try bind that found
// nothing); any other failure throws.
bool apply_landlock(const LandlockPlan& plan);

}  // namespace sb
