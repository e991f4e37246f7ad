// Exit codes, as shells and container tools use them.
#pragma once

namespace sb {

constexpr int kExitTimeout = 124;  // --timeout expired (as timeout(1))
constexpr int kExitSetupFailed = 125;  // the sandbox could not be set up, or bad input
constexpr int kExitCannotExecute = 126;
constexpr int kExitNotFound = 127;

// The payload exited with `value`, or was killed by signal `value`.
int exit_code_for_status(bool killed_by_signal, int value);
// execve failed with errno `err`: 127 when nothing was found, 126 otherwise.
int exit_code_for_exec_error(int err);
// From a waitpid() status.
int exit_code_for_wait_status(int status);

}  // namespace sb
