// Exit codes: the payload's status, exec errors and raw waitpid() statuses.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cerrno>
#include <csignal>

#include "exitcode.hpp"

TEST_CASE("exit codes: constants", "[exitcode]") {
    CHECK(sb::kExitSetupFailed == 125);
    CHECK(sb::kExitCannotExecute == 126);
    CHECK(sb::kExitNotFound == 127);
}

TEST_CASE("exit_code_for_status", "[exitcode]") {
    CHECK(sb::exit_code_for_status(false, 0) == 0);
    CHECK(sb::exit_code_for_status(false, 1) == 1);
    CHECK(sb::exit_code_for_status(false, 42) == 42);
    CHECK(sb::exit_code_for_status(false, 255) == 255);
    CHECK(sb::exit_code_for_status(false, 256) == 0);  // as exit(256) is seen by a shell
    CHECK(sb::exit_code_for_status(false, 257) == 1);
    CHECK(sb::exit_code_for_status(false, -1) == 255);
    CHECK(sb::exit_code_for_status(true, SIGHUP) == 129);
    CHECK(sb::exit_code_for_status(true, SIGINT) == 130);
    CHECK(sb::exit_code_for_status(true, SIGKILL) == 137);
    CHECK(sb::exit_code_for_status(true, SIGSEGV) == 139);
    CHECK(sb::exit_code_for_status(true, SIGTERM) == 143);
}

TEST_CASE("exit_code_for_exec_error", "[exitcode]") {
    CHECK(sb::exit_code_for_exec_error(ENOENT) == 127);
    CHECK(sb::exit_code_for_exec_error(ENOTDIR) == 127);
    CHECK(sb::exit_code_for_exec_error(EACCES) == 126);
    CHECK(sb::exit_code_for_exec_error(EPERM) == 126);
    CHECK(sb::exit_code_for_exec_error(ENOEXEC) == 126);
    CHECK(sb::exit_code_for_exec_error(ETXTBSY) == 126);
    CHECK(sb::exit_code_for_exec_error(E2BIG) == 126);
    CHECK(sb::exit_code_for_exec_error(0) == 126);
}

TEST_CASE("exit_code_for_wait_status", "[exitcode]") {
    CHECK(sb::exit_code_for_wait_status(W_EXITCODE(0, 0)) == 0);
    CHECK(sb::exit_code_for_wait_status(W_EXITCODE(3, 0)) == 3);
    CHECK(sb::exit_code_for_wait_status(W_EXITCODE(42, 0)) == 42);
    CHECK(sb::exit_code_for_wait_status(W_EXITCODE(255, 0)) == 255);
    CHECK(sb::exit_code_for_wait_status(W_EXITCODE(0, SIGTERM)) == 143);
    CHECK(sb::exit_code_for_wait_status(W_EXITCODE(0, SIGKILL)) == 137);
    CHECK(sb::exit_code_for_wait_status(W_EXITCODE(0, SIGINT)) == 130);
    CHECK(sb::exit_code_for_wait_status(W_EXITCODE(0, SIGSEGV) | WCOREFLAG) == 139);  // core dumped
    CHECK(sb::exit_code_for_wait_status(W_STOPCODE(SIGSTOP)) == 125);  // stopped: not an end
    CHECK(sb::exit_code_for_wait_status(0xffff) == 125);               // continued
}
