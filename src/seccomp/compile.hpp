// The compile step: a SeccompPolicy becomes a classic BPF program (libseccomp), once, in the
// supervisor before the sandbox is cloned. The processes inside only hand the ready program to
// the kernel (seccomp/apply.hpp), so nothing is allocated or generated between fork and exec.
#pragma once
#include <linux/filter.h>

#include <vector>

#include "seccomp/policy.hpp"

namespace sb {

struct SeccompProgram {
    std::vector<sock_filter> code;  // empty: no filter
    bool notify = false;            // refusals go to a listener (log and learn modes)
};

// Every architecture of seccomp_architectures() gets the same rules; any other architecture is
// killed. Calls numbered above the highest this build's libseccomp knows get ENOSYS. Throws
// SetupError when libseccomp refuses a rule or the program is too large for the kernel.
SeccompProgram compile_seccomp(const SeccompPolicy& policy);

// The program for `policy`: the one generated at build time when the policy is a built-in one
// (libseccomp takes about a millisecond per compile, more than the rest of a start), else
// compile_seccomp. Defined in the runtime library, next to the generated programs.
SeccompProgram seccomp_program_for(const SeccompPolicy& policy);

}  // namespace sb
