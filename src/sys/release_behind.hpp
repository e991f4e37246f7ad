// Closing files on a few background threads. Closing the last reference to a file that was
// unlinked or renamed over frees its blocks then and there, and a file system mounted with
// `discard` waits for the disk to trim them: done inline, that wait is paid once per file in
// a row. Handed to these threads, the waits overlap each other and the caller's own work.
#pragma once
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "sys/unique_fd.hpp"

namespace sb {

class ReleaseBehind {
public:
    explicit ReleaseBehind(unsigned threads = 4) : wanted_(threads) {}  // started at the first release
    ~ReleaseBehind();  // closes whatever is still queued, then joins
    ReleaseBehind(const ReleaseBehind&) = delete;
    ReleaseBehind& operator=(const ReleaseBehind&) = delete;

    void release(UniqueFd fd);  // from one thread

private:
    void start();
    void work();

    unsigned wanted_;
    bool started_ = false;

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<UniqueFd> queue_;
    bool closing_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace sb
