// Sending and receiving Messages (with fds attached, SCM_RIGHTS) over SEQPACKET.
#pragma once
#include <initializer_list>
#include <optional>
#include <string>
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

// One packet of a SEQPACKET socket with the fds that came with it.
struct Packet {
    std::string bytes;
    std::vector<UniqueFd> fds;  // received with MSG_CMSG_CLOEXEC
};
// Throws SysError (`what` names the socket). Negative entries of `fds` are skipped.
void send_packet(int socket, const std::string& bytes, std::initializer_list<int> fds, const char* what);
// Blocks (unless the socket is non-blocking: then nullopt with errno EAGAIN). nullopt on end of
// stream; throws SysError, or SetupError for a packet longer than `max` or with too many fds.
std::optional<Packet> receive_packet(int socket, std::size_t max, const char* what);

// Throws SysError on failure. Negative entries of `fds` are skipped (an absent optional fd).
void send_message(int socket, const Message& message, std::initializer_list<int> fds = {});
// Best effort, for error paths in children: never throws.
void send_message_noexcept(int socket, const Message& message) noexcept;
// Blocks. nullopt on end of stream (peer closed). Throws SysError, or SetupError on garbage
// and on a message without its type's shape (shape_problem): texts, fds and values.
std::optional<Received> receive_message(int socket);

}  // namespace sb
