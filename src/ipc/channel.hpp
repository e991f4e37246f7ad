// Sending and receiving Messages (with fds attached, SCM_RIGHTS) over SEQPACKET.
#pragma once
#include <initializer_list>
#include <optional>
#include <vector>

#include "ipc/message.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

// At most this many fds travel with one message.
constexpr std::size_t kMaxMessageFds = 4;

struct Received {
    Message message;
    std::vector<UniqueFd> fds;  // the attached fds, in order (received with MSG_CMSG_CLOEXEC)
    // The first attached fd (invalid when none), taken out of `fds`.
    UniqueFd take_fd();
};

// Throws SysError on failure. Negative entries of `fds` are skipped (an absent optional fd).
void send_message(int socket, const Message& message, std::initializer_list<int> fds = {});
// Best effort, for error paths in children: never throws.
void send_message_noexcept(int socket, const Message& message) noexcept;
// Blocks. nullopt on end of stream (peer closed). Throws SysError, or SetupError on garbage
// and on a message without its type's shape (shape_problem): texts, fds and values.
std::optional<Received> receive_message(int socket);

}  // namespace sb
