#include "ipc/channel.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "sys/error.hpp"

namespace sb {

UniqueFd Received::take_fd() {
    if (fds.empty()) return UniqueFd();
    UniqueFd first = std::move(fds.front());
    fds.erase(fds.begin());
    return first;
}

void send_packet(int socket, const std::string& bytes, std::initializer_list<int> fds, const char* what) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    msghdr header{};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    std::vector<int> passed;
    for (int fd : fds)
        if (fd >= 0) passed.push_back(fd);
    if (passed.size() > kMaxMessageFds) throw SetupError(Stage::Protocol, std::string("too many fds for one message (") + what + ")");
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMessageFds)];
    if (!passed.empty()) {
        std::memset(control, 0, sizeof control);
        header.msg_control = control;
        header.msg_controllen = CMSG_SPACE(sizeof(int) * passed.size());
        cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * passed.size());
        std::memcpy(CMSG_DATA(cmsg), passed.data(), sizeof(int) * passed.size());
    }
    ssize_t sent;
    do sent = ::sendmsg(socket, &header, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    check(sent, "sendmsg", std::string("(") + what + ")");
}

void send_message(int socket, const Message& message, std::initializer_list<int> fds) {
    auto bytes = encode(message);
    send_packet(socket, std::string(bytes.begin(), bytes.end()), fds, to_string(message.type));
}

void send_message_noexcept(int socket, const Message& message) noexcept {
    try {
        send_message(socket, message);
    } catch (...) {
    }
}

std::optional<Packet> receive_packet(int socket, std::size_t max, const char* what) {
    std::string buffer(max, '\0');
    iovec iov{buffer.data(), buffer.size()};
    // Room for one more than we accept: a message with too many is then seen whole and refused.
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * (kMaxMessageFds + 1))];
    msghdr header{};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof control;
    ssize_t got;
    do got = ::recvmsg(socket, &header, MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    // A peer killed with a message unread resets the connection: for us it is gone, as at EOF
    // (the caller then says how it ended).
    if (got < 0 && errno == ECONNRESET) return std::nullopt;
    if (got < 0 && errno == EAGAIN) return std::nullopt;
    check(got, "recvmsg", what);
    Packet packet;
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&header); cmsg; cmsg = CMSG_NXTHDR(&header, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        std::size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
            packet.fds.emplace_back(fd);
        }
    }
    if (got == 0) {
        errno = 0;
        return std::nullopt;
    }
    if (header.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        throw SetupError(Stage::Protocol, std::string("truncated message on the ") + what);
    buffer.resize(static_cast<std::size_t>(got));
    packet.bytes = std::move(buffer);
    return packet;
}

std::optional<Received> receive_message(int socket) {
    auto packet = receive_packet(socket, kMaxMessageSize, "sync socket");
    if (!packet) return std::nullopt;
    auto message = decode(reinterpret_cast<const std::uint8_t*>(packet->bytes.data()), packet->bytes.size());
    if (!message) throw SetupError(Stage::Protocol, "malformed message on the sync socket");
    if (auto problem = shape_problem(*message, packet->fds.size()))
        throw SetupError(Stage::Protocol, std::string(to_string(message->type)) + " with " + *problem);
    Received received;
    received.message = std::move(*message);
    received.fds = std::move(packet->fds);
    return received;
}

}  // namespace sb
