// Sending and receiving Messages (with at most one fd attached, SCM_RIGHTS) over SEQPACKET.
#pragma once
#include <optional>

#include "ipc/message.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

struct Received {
    Message message;
    UniqueFd fd;  // the attached fd, if any (received with MSG_CMSG_CLOEXEC)
};

// Throws SysError on failure. `fd_to_pass` < 0 sends no fd.
void send_message(int socket, const Message& message, int fd_to_pass = -1);
// Best effort, for error paths in children: never throws.
void send_message_noexcept(int socket, const Message& message) noexcept;
// Blocks. nullopt on end of stream (peer closed). Throws SysError, or SetupError on garbage.
std::optional<Received> receive_message(int socket);

}  // namespace sb
