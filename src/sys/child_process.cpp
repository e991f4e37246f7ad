#include "sys/child_process.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <utility>

#include "sys/syscalls.hpp"

namespace sb {

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)), status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        kill_and_reap();
        pid_ = std::exchange(other.pid_, -1);
        pidfd_ = std::move(other.pidfd_);
        status_ = std::exchange(other.status_, std::nullopt);
    }
    return *this;
}

int ChildProcess::wait() {
    if (status_ || pid_ <= 0) return status_.value_or(0);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
        if (errno != EINTR) return status_.emplace(0);  // not ours to reap (already reaped elsewhere)
    }
    return status_.emplace(status);
}

void ChildProcess::kill_and_reap() noexcept {
    if (!running()) return;
    if (pidfd_) send_signal_to_pidfd(pidfd_.get(), SIGKILL);
    else ::kill(pid_, SIGKILL);
    wait();
}

}  // namespace sb
