// The supervisor's end of the control protocol (ipc/control.hpp): the socket `control` in the
// sandbox's directory, its connections, and who may use them. A connection is accepted only
// from a process of our own uid in our own user namespace (so never from inside a sandbox, where
// a process of the same host uid may run: the state directory is hidden there, and this is the
// second fence). Each connection sends one request; the supervisor decides what to do with it
// (ControlServer::Handler) and may keep it to answer later (wait, stop) or hand it to a helper
// (exec).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ipc/control.hpp"
#include "sys/poll_set.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

class ControlServer {
public:
    // A request with its connection, which the handler may keep (to answer later), hand away
    // (take()), or leave (it is then closed).
    struct Call {
        UniqueFd connection;
        ControlRequest request;
        std::vector<UniqueFd> fds;
    };
    using Handler = std::function<void(Call& call)>;

    // Listens on `control` in the sandbox's directory `directory`. Throws SysError.
    ControlServer(int directory, Handler handler);
    // Adds the listening socket and the connections waiting for their request.
    void watch(PollSet& set);
    // Keeps a connection to answer when the sandbox ends (wait, stop).
    void add_waiter(UniqueFd connection);
    // Answers every waiter and closes its connection.
    void answer_waiters(const ControlReply& reply);
    // Stops listening (connections already made stay). The socket's name goes with the directory.
    void close_listener() { listener_.reset(); }

private:
    void accept_one();
    void read_request(std::size_t index);

    UniqueFd listener_;
    Handler handler_;
    std::vector<UniqueFd> pending_;  // accepted, request not read yet
    std::vector<UniqueFd> waiters_;
    long long accept_paused_until_ms_ = 0;
};

// Sends one reply; false when the peer is gone or does not take it.
bool send_control_reply(int connection, const ControlReply& reply, std::initializer_list<int> fds = {}) noexcept;

}  // namespace sb
