// ReleaseBehind (commit frees replaced files off its own thread): every fd handed over is closed
// by the time it is destroyed, however many were queued, and none before it was handed over.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "sys/release_behind.hpp"
#include "sys/syscalls.hpp"

namespace {

// 0: every write end of the pipe is closed; -1 (EAGAIN): one is still open.
ssize_t peek(int read_end) {
    char byte;
    return ::read(read_end, &byte, 1);
}

}  // namespace

TEST_CASE("ReleaseBehind closes every fd it was given by the time it is gone", "[release]") {
    for (std::size_t count : {1u, 7u, 8u, 9u, 1000u}) {
        std::vector<sb::UniqueFd> read_ends;
        {
            sb::ReleaseBehind behind;
            for (std::size_t i = 0; i < count; ++i) {
                sb::UniqueFd write_end;
                read_ends.push_back(sb::make_pipe_end_pair(write_end));
                REQUIRE(::fcntl(read_ends.back().get(), F_SETFL, O_NONBLOCK) == 0);
                REQUIRE(peek(read_ends.back().get()) == -1);  // open until released
                behind.release(std::move(write_end));
            }
        }
        for (const auto& read_end : read_ends) REQUIRE(peek(read_end.get()) == 0);
    }
}

TEST_CASE("ReleaseBehind with no thread to be had closes inline", "[release]") {
    sb::UniqueFd write_end;
    sb::UniqueFd read_end = sb::make_pipe_end_pair(write_end);
    REQUIRE(::fcntl(read_end.get(), F_SETFL, O_NONBLOCK) == 0);
    sb::ReleaseBehind behind(0);
    behind.release(std::move(write_end));
    REQUIRE(peek(read_end.get()) == 0);
}
