#include "exitcode.hpp"

#include <cerrno>
#include <sys/wait.h>

namespace sb {

int exit_code_for_status(bool killed_by_signal, int value) {
    if (killed_by_signal) return 128 + value;
    return value & 0xff;
}

int exit_code_for_exec_error(int err) {
    return err == ENOENT || err == ENOTDIR ? kExitNotFound : kExitCannotExecute;
}

int exit_code_for_wait_status(int status) {
    if (WIFEXITED(status)) return exit_code_for_status(false, WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return exit_code_for_status(true, WTERMSIG(status));
    return kExitSetupFailed;
}

}  // namespace sb
