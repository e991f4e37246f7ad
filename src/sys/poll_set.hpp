// What the supervisor waits on, one turn of its loop at a time: fds watched with a handler
// each, and event sources that bring their own fds and timers (the user-mode network today; a
// control socket or a helper process next). Adding one is a `watch` or an `add`, not a new
// branch of index arithmetic in the loop.
#pragma once
#include <poll.h>

#include <cstddef>
#include <functional>
#include <vector>

namespace sb {

// Appends its fds (and may lower the timeout, -1 meaning none), then is told what poll said
// about them, every turn, ready or not (its timers run then too).
class EventSource {
public:
    virtual ~EventSource() = default;
    virtual void fill(std::vector<pollfd>& fds, int& timeout_ms) = 0;
    // `first` is where its fds start in `fds`.
    virtual void dispatch(std::vector<pollfd>& fds, std::size_t first, bool poll_failed) = 0;
};

class PollSet {
public:
    using Handler = std::function<void(short revents)>;

    // Forgets every watcher and source, keeping the memory: a loop refills one set each turn
    // without allocating (the network's turns are many).
    void clear();
    // `handler` runs when poll reports anything for `fd` (hang-ups and errors included).
    void watch(int fd, short events, Handler handler);
    void add(EventSource& source);

    // poll(2) over everything, for at most `timeout_ms` as the sources may lower it. Returns
    // poll's result; -1 only for EINTR (other errors throw SysError).
    int wait(int timeout_ms);
    // The timeout the last wait used.
    int timeout() const { return timeout_; }
    // The sources, always after a wait; then the watchers whose fds are ready, in the order
    // they were added.
    void dispatch_sources(bool poll_failed);
    void dispatch_watchers();

private:
    struct Watcher {
        int fd;
        short events;
        Handler handler;
    };
    std::vector<Watcher> watchers_;
    std::vector<EventSource*> sources_;
    std::vector<std::size_t> source_first_;
    std::vector<pollfd> fds_;
    int timeout_ = -1;
};

}  // namespace sb
