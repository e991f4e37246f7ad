#include "supervisor/attach_hub.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "ipc/channel.hpp"
#include "supervisor/control_server.hpp"
#include "sys/syscalls.hpp"

namespace sb {
namespace {

constexpr std::size_t kMaxInput = 1 << 16;  // keystrokes waiting for the pty
constexpr std::size_t kChunk = 16384;       // one frame of output
constexpr std::size_t kMaxClients = 64;
constexpr long long kFinishWaitMs = 10000;

// One frame, or nothing if the client's socket is full (it loses this output) or gone.
bool send_frame(int connection, const AttachFrame& frame) {
    std::string packet = encode_frame(frame);
    ssize_t sent;
    do sent = ::send(connection, packet.data(), packet.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    return sent >= 0 || errno == EAGAIN;
}

}  // namespace

AttachHub::AttachHub(UniqueFd source, bool tty, OutputLog& log) : source_(std::move(source)), tty_(tty), log_(log) {
    set_nonblocking(source_.get());
}

void AttachHub::watch(PollSet& set) {
    if (source_) {
        short events = static_cast<short>(POLLIN | (!to_source_.empty() ? POLLOUT : 0));
        set.watch(source_.get(), events, [this](short revents) {
            if (source_ && (revents & POLLOUT)) write_source();
            if (source_ && (revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) read_source();
        });
    }
    for (const auto& client : clients_)
        set.watch(client.get(), POLLIN, [this, fd = client.get()](short) { read_client(fd); });
}

void AttachHub::read_source() {
    char buffer[kChunk];
    ssize_t got = ::read(source_.get(), buffer, sizeof buffer);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (got <= 0) {  // EOF of the pipe; EIO of a pty whose every peer closed
        source_.reset();
        to_source_.clear();
        return;
    }
    std::string data(buffer, static_cast<std::size_t>(got));
    log_.write(data.data(), data.size());
    recent_ += data;
    if (recent_.size() > kReplayBytes) recent_.erase(0, recent_.size() - kReplayBytes);
    broadcast(data);
}

void AttachHub::write_source() {
    ssize_t wrote = ::write(source_.get(), to_source_.data(), to_source_.size());
    if (wrote > 0) to_source_.erase(0, static_cast<std::size_t>(wrote));
    else if (wrote < 0 && errno != EAGAIN && errno != EINTR) to_source_.clear();
}

void AttachHub::broadcast(const std::string& data) {
    std::vector<int> gone;
    for (const auto& client : clients_)
        if (!send_frame(client.get(), AttachFrame{FrameKind::Data, data, 0, 0, 0})) gone.push_back(client.get());
    for (int fd : gone) drop_client(fd);
}

void AttachHub::add_client(UniqueFd connection) {
    if (clients_.size() >= kMaxClients) {
        send_control_reply(connection.get(), control_error(Stage::Control, "too many clients are attached to this sandbox"));
        return;
    }
    ControlReply attached;
    attached.type = ControlReplyType::Attached;
    attached.tty = tty_;
    if (!send_control_reply(connection.get(), attached)) return;
    if (!recent_.empty() && !send_frame(connection.get(), AttachFrame{FrameKind::Data, recent_, 0, 0, 0})) return;
    clients_.push_back(std::move(connection));
}

void AttachHub::read_client(int fd) {
    std::optional<Packet> packet;
    try {
        packet = receive_packet(fd, kMaxControlPacket, "attach");
    } catch (const std::exception&) {
        return drop_client(fd);
    }
    if (!packet) {
        if (errno != EAGAIN) drop_client(fd);  // detached (Ctrl-P Ctrl-Q) or gone
        return;
    }
    auto frame = decode_frame(packet->bytes);
    if (!frame) return drop_client(fd);  // not a client of ours
    if (!tty_ || !source_) return;       // without a pty the payload has no input to give it
    if (frame->kind == FrameKind::Data) {
        std::size_t room = kMaxInput - std::min(kMaxInput, to_source_.size());
        to_source_ += frame->data.substr(0, room);  // a payload that never reads loses keystrokes
    } else if (frame->kind == FrameKind::Resize) {
        winsize size{};
        size.ws_row = static_cast<unsigned short>(frame->rows);
        size.ws_col = static_cast<unsigned short>(frame->columns);
        ::ioctl(source_.get(), TIOCSWINSZ, &size);  // the kernel tells the foreground group (SIGWINCH)
    }
}

void AttachHub::drop_client(int fd) {
    clients_.erase(std::remove_if(clients_.begin(), clients_.end(), [fd](const UniqueFd& c) { return c.get() == fd; }),
                   clients_.end());
}

// The exit code is the one frame a client must not lose: slow ones get up to kFinishWaitMs (in
// all) to make room for it; the sandbox is over by then, only its supervisor waits.
void AttachHub::finish(int exit_code) {
    long long until = monotonic_ms() + kFinishWaitMs;
    for (const auto& client : clients_) {
        long long left = until - monotonic_ms();
        pollfd room{client.get(), POLLOUT, 0};
        if (left > 0) ::poll(&room, 1, static_cast<int>(left));
        send_frame(client.get(), AttachFrame{FrameKind::Exited, "", 0, 0, exit_code});
    }
    clients_.clear();
}

}  // namespace sb
