// PollSet (issue 9: an open supervisor): fds watched with handlers and event sources with their
// own fds and timers, dispatched without index arithmetic in the caller.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "sys/poll_set.hpp"

namespace {

struct Pipe {
    int read = -1, write = -1;
    Pipe() {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        read = fds[0];
        write = fds[1];
    }
    ~Pipe() {
        ::close(read);
        ::close(write);
    }
};

// A source with one fd that wants a short timeout, and that records what it was told.
struct Recorder : sb::EventSource {
    int fd;
    int lower_to;
    std::vector<std::string>* log;
    std::size_t seen_first = 0;
    short seen_revents = 0;
    Recorder(int fd, int lower_to, std::vector<std::string>* log) : fd(fd), lower_to(lower_to), log(log) {}
    void fill(std::vector<pollfd>& fds, int& timeout_ms) override {
        fds.push_back({fd, POLLIN, 0});
        if (timeout_ms < 0 || timeout_ms > lower_to) timeout_ms = lower_to;
    }
    void dispatch(std::vector<pollfd>& fds, std::size_t first, bool) override {
        seen_first = first;
        seen_revents = fds[first].revents;
        log->push_back("source");
    }
};

}  // namespace

TEST_CASE("PollSet: a ready fd runs its handler; sources come first, every turn", "[poll]") {
    Pipe ready, idle, source_pipe;
    REQUIRE(::write(ready.write, "x", 1) == 1);
    std::vector<std::string> log;
    Recorder source(source_pipe.read, 5000, &log);
    sb::PollSet set;
    set.watch(idle.read, POLLIN, [&](short) { log.push_back("idle"); });
    set.watch(ready.read, POLLIN, [&](short events) { log.push_back(events & POLLIN ? "ready" : "?"); });
    set.add(source);
    int got = set.wait(-1);
    CHECK(got == 1);
    CHECK(set.timeout() == 5000);  // the source lowered "forever"
    set.dispatch_sources(got < 0);
    set.dispatch_watchers();
    CHECK(log == std::vector<std::string>{"source", "ready"});
    CHECK(source.seen_first == 2);  // after the two watched fds
    CHECK(source.seen_revents == 0);
}

TEST_CASE("PollSet: nothing ready times out at the lowest timeout; the source still runs", "[poll]") {
    Pipe idle, source_pipe;
    std::vector<std::string> log;
    Recorder source(source_pipe.read, 1, &log);
    sb::PollSet set;
    set.watch(idle.read, POLLIN, [&](short) { log.push_back("idle"); });
    set.add(source);
    CHECK(set.wait(10000) == 0);
    CHECK(set.timeout() == 1);
    set.dispatch_sources(false);
    CHECK(log == std::vector<std::string>{"source"});
}

TEST_CASE("PollSet: a hang-up reaches the handler", "[poll]") {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    ::close(fds[1]);
    short seen = 0;
    sb::PollSet set;
    set.watch(fds[0], POLLIN, [&](short events) { seen = events; });
    REQUIRE(set.wait(1000) == 1);
    set.dispatch_watchers();
    CHECK((seen & POLLHUP) != 0);
    ::close(fds[0]);
}

TEST_CASE("PollSet: cleared, it waits only on what is added again", "[poll]") {
    Pipe ready;
    REQUIRE(::write(ready.write, "x", 1) == 1);
    int calls = 0;
    sb::PollSet set;
    set.watch(ready.read, POLLIN, [&](short) { ++calls; });
    REQUIRE(set.wait(1000) == 1);
    set.dispatch_watchers();
    set.clear();
    Pipe idle;
    set.watch(idle.read, POLLIN, [&](short) { calls += 100; });
    CHECK(set.wait(0) == 0);  // the ready pipe is no longer watched
    set.dispatch_watchers();
    CHECK(calls == 1);
}
