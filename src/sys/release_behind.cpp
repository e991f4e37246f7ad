#include "sys/release_behind.hpp"

namespace sb {

constexpr std::size_t kBatch = 8;
constexpr std::size_t kMaxQueued = 256;

void ReleaseBehind::start() {
    started_ = true;
    try {
        for (unsigned i = 0; i < wanted_; ++i) threads_.emplace_back([this] { work(); });
    } catch (const std::system_error&) {
        // Fewer threads, or none: then release() closes inline.
    }
}

ReleaseBehind::~ReleaseBehind() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        closing_ = true;
    }
    ready_.notify_all();
    for (auto& thread : threads_) thread.join();
}

void ReleaseBehind::release(UniqueFd fd) {
    if (!started_) start();
    if (threads_.empty()) return;  // `fd` closes here
    std::size_t queued;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        // Bounded: each held fd counts against the fd limit and keeps its blocks in use.
        if (queue_.size() >= kMaxQueued) return;  // `fd` closes here, after the lock
        queue_.push_back(std::move(fd));
        queued = queue_.size();
    }
    // Woken a few at a time: a wake-up per file costs more than most closes.
    if (queued % kBatch == 0) ready_.notify_one();
}

void ReleaseBehind::work() {
    for (;;) {
        UniqueFd fd;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            ready_.wait(lock, [this] { return closing_ || !queue_.empty(); });
            if (queue_.empty()) return;  // closing, and nothing left
            fd = std::move(queue_.front());
            queue_.pop_front();
        }
        // `fd` closes here, outside the lock.
    }
}

}  // namespace sb
