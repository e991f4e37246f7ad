#include "supervisor/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include "ipc/channel.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

constexpr std::size_t kMaxPending = 32;   // connections that have not sent their request yet
constexpr std::size_t kMaxWaiters = 256;  // wait and stop clients
constexpr long long kAcceptPauseMs = 1000;  // out of fds: how long the listener rests


bool same_user_namespace(pid_t pid) {
    struct stat ours, theirs;
    if (::stat("/proc/self/ns/user", &ours) < 0) return false;
    if (::stat(("/proc/" + std::to_string(pid) + "/ns/user").c_str(), &theirs) < 0) return false;
    return ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

// Our uid, and a process of our user namespace: a process inside a sandbox runs as our host
// uid too, and its pid (as we see it) shows it is in a namespace below ours. A peer whose pid
// we cannot see (0: outside our pid namespace) is refused. Reading /proc/PID after the peer
// exited and its pid was reused could only let in a process of ours that is not in a sandbox.
bool peer_allowed(int connection) {
    ucred peer{};
    socklen_t length = sizeof peer;
    if (::getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0) return false;
    return peer.uid == ::geteuid() && peer.pid > 0 && same_user_namespace(peer.pid);
}

}  // namespace

bool send_control_reply(int connection, const ControlReply& reply, std::initializer_list<int> fds) noexcept {
    try {
        send_packet(connection, encode_control_reply(reply), fds, "control socket");
        return true;
    } catch (...) {
        return false;
    }
}

ControlServer::ControlServer(int directory, Handler handler)
    : listener_(listen_seqpacket_at(directory, "control")), handler_(std::move(handler)) {}

void ControlServer::watch(PollSet& set) {
    if (listener_ && monotonic_ms() >= accept_paused_until_ms_)
        set.watch(listener_.get(), POLLIN, [this](short) { accept_one(); });
    for (std::size_t i = 0; i < pending_.size(); ++i)
        set.watch(pending_[i].get(), POLLIN, [this, fd = pending_[i].get()](short) {
            for (std::size_t j = 0; j < pending_.size(); ++j)
                if (pending_[j].get() == fd) return read_request(j);
        });
    // A waiter that hangs up is forgotten.
    for (const auto& waiter : waiters_)
        set.watch(waiter.get(), 0, [this, fd = waiter.get()](short events) {
            if (!(events & (POLLHUP | POLLERR))) return;
            for (std::size_t j = 0; j < waiters_.size(); ++j)
                if (waiters_[j].get() == fd) return void(waiters_.erase(waiters_.begin() + static_cast<long>(j)));
        });
}

void ControlServer::accept_one() {
    UniqueFd connection = accept_connection(listener_.get());
    if (!connection) {
        // Out of fds, the listener would stay readable and spin the loop: let it rest.
        if (errno == EMFILE || errno == ENFILE) accept_paused_until_ms_ = monotonic_ms() + kAcceptPauseMs;
        return;
    }
    if (!peer_allowed(connection.get())) return;  // closed unanswered
    // Connections that never send their request cannot hold the socket: the oldest goes.
    if (pending_.size() >= kMaxPending) pending_.erase(pending_.begin());
    pending_.push_back(std::move(connection));
}

void ControlServer::add_waiter(UniqueFd connection) {
    if (waiters_.size() >= kMaxWaiters) {
        send_control_reply(connection.get(), control_error(Stage::Control, "too many clients are waiting for this sandbox"));
        return;
    }
    waiters_.push_back(std::move(connection));
}

void ControlServer::read_request(std::size_t index) {
    UniqueFd connection = std::move(pending_[index]);
    pending_.erase(pending_.begin() + static_cast<long>(index));
    std::optional<Packet> packet;
    try {
        packet = receive_packet(connection.get(), kMaxControlPacket, "control socket");
    } catch (const SetupError& error) {
        send_control_reply(connection.get(), control_error(Stage::Protocol, error.message()));
        return;
    } catch (const std::exception& error) {
        send_control_reply(connection.get(), control_error(Stage::Protocol, error.what()));
        return;
    }
    if (!packet) {
        if (errno == EAGAIN) pending_.push_back(std::move(connection));
        return;
    }
    std::string problem;
    auto request = decode_control_request(packet->bytes, problem);
    if (!request) {
        send_control_reply(connection.get(), control_error(Stage::Protocol, "refused request: " + problem));
        return;
    }
    if (packet->fds.size() != control_request_fds(*request)) {
        send_control_reply(connection.get(), control_error(Stage::Protocol, std::string(to_string(request->type)) +
                                                           " with " + std::to_string(packet->fds.size()) + " fds"));
        return;
    }
    Call call{std::move(connection), std::move(*request), std::move(packet->fds)};
    // Nothing a client asks may end the sandbox: a failure to serve it (no process or fd left
    // for an exec, a document that cannot be written) is that client's error alone.
    int fd = call.connection.get();
    try {
        handler_(call);
    } catch (const SetupError& error) {
        if (call.connection.get() == fd) send_control_reply(fd, control_error(error.stage(), error.message(), error.hint()));
    } catch (const std::exception& error) {
        if (call.connection.get() == fd) send_control_reply(fd, control_error(Stage::Control, error.what()));
    }
}

void ControlServer::answer_waiters(const ControlReply& reply) {
    for (auto& waiter : waiters_) send_control_reply(waiter.get(), reply);
    waiters_.clear();
}

}  // namespace sb
