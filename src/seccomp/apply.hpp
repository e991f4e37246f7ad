// Installing a compiled filter in the calling process (pid 1, the payload). Async-signal-safe
// apart from the error path: safe between vfork and exec.
#pragma once
#include "seccomp/compile.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

// Loads `program` (no-op when empty). no_new_privs must already be set. With program.notify and
// want_listener, returns the listener fd (CLOEXEC) the supervisor reads refusals from.
UniqueFd apply_seccomp(const SeccompProgram& program, bool want_listener);

// Whether this kernel runs x32 system calls (x86_64; false elsewhere): one getpid with the x32 bit.
// A host fact for the policy (see seccomp_architectures). Asked only outside any seccomp filter:
// under one (systemd's SystemCallArchitectures=native, a sandbox inside a sandbox) an x32 call may
// kill the caller, so the answer is then "it may", and the filter covers x32 in full.
bool kernel_runs_x32();

}  // namespace sb
