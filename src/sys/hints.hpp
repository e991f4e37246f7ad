// The fix we name for a cause that more than one place meets: one wording each, so the user
// reads the same advice whichever step ran into it.
#pragma once
#include <string>

namespace sb {

enum class Cause {
    Bug,                  // a state the code should never reach
    TooManyProcesses,     // EAGAIN from fork or clone
    IdHelpersMissing,     // no newuidmap/newgidmap
    NoSubordinateRanges,  // the user has no /etc/subuid, /etc/subgid lines
    BadSubordinateRanges, // newuidmap/newgidmap refused the ranges
};

// The hint for `cause`; `user` fills in the user's name where the fix names it.
std::string hint(Cause cause, const std::string& user = "USER");

}  // namespace sb
