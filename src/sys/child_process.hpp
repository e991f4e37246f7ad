// One type for every process we start (the sandbox's pid 1 as seen from the supervisor, the
// process that makes its network namespace, the id-map helpers, doctor's probe): its pid, a pidfd when there is one, its wait
// status once reaped. Destroying one that still runs kills it (through the pidfd when held:
// no pid reuse can redirect the signal) and reaps it, so no path, error or not, leaves a
// process or a zombie behind.
#pragma once
#include <sys/types.h>

#include <optional>

#include "sys/unique_fd.hpp"

namespace sb {

class ChildProcess {
public:
    ChildProcess() = default;
    explicit ChildProcess(pid_t pid, UniqueFd pidfd = UniqueFd()) : pid_(pid), pidfd_(std::move(pidfd)) {}
    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess() { kill_and_reap(); }

    pid_t pid() const { return pid_; }
    int pidfd() const { return pidfd_.get(); }
    bool started() const { return pid_ > 0; }
    bool running() const { return pid_ > 0 && !status_; }
    const std::optional<int>& status() const { return status_; }

    // Records a status reaped elsewhere (a loop on waitpid(-1)).
    void reaped(int status) { status_ = status; }
    // Waits for it (retrying on EINTR); returns its wait status.
    int wait();
    // Lets it run on, no longer ours to kill or reap (a detached supervisor).
    void release() noexcept {
        pid_ = -1;
        pidfd_.reset();
    }
    // SIGKILL (unless reaped already), then waits.
    void kill_and_reap() noexcept;

private:
    pid_t pid_ = -1;
    UniqueFd pidfd_;
    std::optional<int> status_;
};

}  // namespace sb
