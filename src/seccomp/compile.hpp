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

// How the program is laid out. Both make the same decision for every call; they differ in how
// many instructions there are and how many a call runs through, which the kernel pays at every
// filter load: it compiles the program and runs it once per syscall number and architecture to
// cache the calls always allowed.
enum class SeccompLayout {
    Tree,    // one search per architecture over the runs of numbers treated alike, with the
             // returns at its leaves; libseccomp's program only for its 64-bit argument
             // comparisons and i386's multiplexed calls: about 10 instructions per number
    Linear,  // our rules one after another, then libseccomp's program of all its rules: kept
             // as the reference the tests hold the tree to, never loaded by sandbox
};

// Every architecture of the policy gets the same rules; any other architecture is killed, except
// x32 on x86_64, whose calls get ENOSYS when the policy leaves it out (the kernel does not run
// them). Calls numbered above the highest this build's libseccomp knows get ENOSYS. Throws
// SetupError when libseccomp refuses a rule or the program is too large for the kernel.
SeccompProgram compile_seccomp(const SeccompPolicy& policy, SeccompLayout layout = SeccompLayout::Tree);

// The program for `policy`: the one generated at build time when the policy is a built-in one
// (libseccomp takes about a millisecond per compile, more than the rest of a start), else
// compile_seccomp. Defined in the runtime library, next to the generated programs.
SeccompProgram seccomp_program_for(const SeccompPolicy& policy);

}  // namespace sb
