#include "sys/poll_set.hpp"

#include <cerrno>

#include "sys/error.hpp"

namespace sb {

void PollSet::clear() {
    watchers_.clear();
    sources_.clear();
}

void PollSet::watch(int fd, short events, Handler handler) { watchers_.push_back({fd, events, std::move(handler)}); }

void PollSet::add(EventSource& source) { sources_.push_back(&source); }

int PollSet::wait(int timeout_ms) {
    fds_.clear();
    for (const auto& watcher : watchers_) fds_.push_back({watcher.fd, watcher.events, 0});
    timeout_ = timeout_ms;
    source_first_.clear();
    for (EventSource* source : sources_) {
        source_first_.push_back(fds_.size());
        source->fill(fds_, timeout_);
    }
    int ready = ::poll(fds_.data(), fds_.size(), timeout_);
    if (ready < 0 && errno != EINTR) check(ready, "poll");
    return ready;
}

void PollSet::dispatch_sources(bool poll_failed) {
    for (std::size_t i = 0; i < sources_.size(); ++i) sources_[i]->dispatch(fds_, source_first_[i], poll_failed);
}

void PollSet::dispatch_watchers() {
    // Watchers sit first in fds_, in their order; a source's fds never move them.
    for (std::size_t i = 0; i < watchers_.size(); ++i)
        if (fds_[i].revents) watchers_[i].handler(fds_[i].revents);
}

}  // namespace sb
