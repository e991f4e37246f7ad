#include "ipc/channel.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "sys/error.hpp"

namespace sb {

void send_message(int socket, const Message& message, int fd_to_pass) {
    auto bytes = encode(message);
    iovec iov{bytes.data(), bytes.size()};
    msghdr header{};
    header.msg_iov = &iov;
    header.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (fd_to_pass >= 0) {
        std::memset(control, 0, sizeof control);
        header.msg_control = control;
        header.msg_controllen = sizeof control;
        cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(cmsg), &fd_to_pass, sizeof(int));
    }
    ssize_t sent;
    do sent = ::sendmsg(socket, &header, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    check(sent, "sendmsg", std::string("(") + to_string(message.type) + ")");
}

void send_message_noexcept(int socket, const Message& message) noexcept {
    try {
        send_message(socket, message);
    } catch (...) {
    }
}

std::optional<Received> receive_message(int socket) {
    std::uint8_t buffer[kMaxMessageSize];
    iovec iov{buffer, sizeof buffer};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
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
    check(got, "recvmsg", "sync socket");
    Received received;
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&header); cmsg; cmsg = CMSG_NXTHDR(&header, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
        std::size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
            if (!received.fd) received.fd.reset(fd);
            else UniqueFd extra(fd);  // more than one fd is a protocol error: close the rest
        }
    }
    if (got == 0) return std::nullopt;
    if (header.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        throw SetupError(Stage::Protocol, "truncated message on the sync socket");
    auto message = decode(buffer, static_cast<std::size_t>(got));
    if (!message) throw SetupError(Stage::Protocol, "malformed message on the sync socket");
    received.message = std::move(*message);
    return received;
}

}  // namespace sb
