// ChildProcess (issue 9: one type for every process we start): whatever path leaves a scope,
// a started child is killed and reaped, never left running or as a zombie.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "sys/child_process.hpp"
#include "sys/syscalls.hpp"

namespace {

pid_t start_exiting(int code) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(code);
    REQUIRE(pid > 0);
    return pid;
}

pid_t start_sleeper() {
    pid_t pid = ::fork();
    if (pid == 0) {
        ::pause();
        ::_exit(0);
    }
    REQUIRE(pid > 0);
    return pid;
}

// True once `pid` is neither running nor a zombie of ours.
bool gone(pid_t pid) {
    errno = 0;
    return ::waitpid(pid, nullptr, WNOHANG) < 0 && errno == ECHILD;
}

}  // namespace

TEST_CASE("ChildProcess: leaving the scope kills and reaps a running child", "[process]") {
    pid_t pid = start_sleeper();
    {
        sb::ChildProcess child(pid);
        CHECK(child.running());
    }
    CHECK(gone(pid));
}

TEST_CASE("ChildProcess: an exception on the way out still reaps", "[process]") {
    pid_t pid = start_sleeper();
    try {
        sb::ChildProcess child(pid);
        throw std::runtime_error("the other helper failed to start");
    } catch (const std::runtime_error&) {
    }
    CHECK(gone(pid));
}

TEST_CASE("ChildProcess: wait gives the exit status once; a moved-from one owns nothing", "[process]") {
    pid_t pid = start_exiting(7);
    sb::ChildProcess first(pid);
    sb::ChildProcess second(std::move(first));
    CHECK_FALSE(first.started());
    int status = second.wait();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 7);
    CHECK_FALSE(second.running());
    CHECK(second.wait() == status);  // reaped once; the status is kept
    CHECK(gone(pid));
}

TEST_CASE("ChildProcess: a status reaped elsewhere is recorded, not waited for again", "[process]") {
    pid_t pid = start_exiting(3);
    sb::ChildProcess child(pid);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    child.reaped(status);
    CHECK_FALSE(child.running());
    CHECK(WEXITSTATUS(*child.status()) == 3);
}

// close_fds_except: a child keeps exactly the fds named (and stdio), whatever their order.
TEST_CASE("close_fds_except keeps only the fds named", "[process]") {
    int fds[6];
    for (int& fd : fds) {
        fd = ::dup(STDERR_FILENO);
        REQUIRE(fd > 2);
    }
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        sb::close_fds_except({fds[4], fds[1]});
        int bad = 0;
        for (int i = 0; i < 6; ++i) {
            bool open = ::fcntl(fds[i], F_GETFD) >= 0;
            if (open != (i == 1 || i == 4)) bad = 1;
        }
        if (::fcntl(STDERR_FILENO, F_GETFD) < 0) bad = 1;
        ::_exit(bad);
    }
    int status = sb::ChildProcess(pid).wait();
    for (int fd : fds) ::close(fd);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
