// Installing a compiled filter in the calling process (pid 1, the payload). Async-signal-safe
// apart from the error path: safe between vfork and exec.
#pragma once
#include "seccomp/compile.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

// Loads `program` (no-op when empty). no_new_privs must already be set. With program.notify and
// want_listener, returns the listener fd (CLOEXEC) the supervisor reads refusals from.
UniqueFd apply_seccomp(const SeccompProgram& program, bool want_listener);

}  // namespace sb
