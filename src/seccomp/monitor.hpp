// The supervisor's end of seccomp user notification (log and learn modes): receives each
// refused call, answers it at once (a payload never waits on anything but this loop, and if the
// supervisor dies the kernel answers ENOSYS), records it, and remembers what learn mode let
// through.
#pragma once
#include <set>
#include <string>

#include "seccomp/policy.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

class SeccompMonitor {
public:
    // `log` is the --violations file (or -1).
    SeccompMonitor(const SeccompPolicy& policy, UniqueFd listener, int log);
    int fd() const { return listener_.get(); }
    // One notification is ready (POLLIN): answer and record it.
    void handle();
    // The listener reports POLLHUP once every filtered process has exited.
    const std::set<std::string>& let_through() const { return let_through_; }
    unsigned count() const { return count_; }          // refusals seen
    unsigned recorded() const { return recorded_; }    // lines written to the log
    unsigned lost() const { return lost_; }            // lines a write error lost

    // A payload can refuse itself millions of calls: the log keeps the first this many lines
    // (about 1 MB) and then one line saying it stopped, so it cannot fill the host's disk.
    static constexpr unsigned kMaxRecords = 10000;

private:
    void record(const std::string& line);

    const SeccompPolicy& policy_;
    UniqueFd listener_;
    int log_;
    std::set<std::string> let_through_;
    unsigned count_ = 0, recorded_ = 0, lost_ = 0;
};

}  // namespace sb
