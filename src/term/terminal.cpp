#include "term/terminal.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "sys/syscalls.hpp"

namespace sb {

RawTerminal::RawTerminal(int fd) : fd_(fd) {
    termios settings;
    if (::tcgetattr(fd, &settings) < 0) return;
    saved_ = settings;
    ::cfmakeraw(&settings);
    ::tcsetattr(fd, TCSADRAIN, &settings);
}

RawTerminal::~RawTerminal() {
    if (saved_) ::tcsetattr(fd_, TCSADRAIN, &*saved_);
}

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

unsigned terminal_fd_mask() {
    unsigned mask = 0;
    for (int fd = 0; fd < 3; ++fd)
        if (is_terminal(fd)) mask |= 1u << fd;
    return mask;
}

void copy_window_size(int from, int to) {
    winsize size{};
    if (::ioctl(from, TIOCGWINSZ, &size) == 0) ::ioctl(to, TIOCSWINSZ, &size);
}

PtyRelay::PtyRelay(UniqueFd master, int input, int output)
    : master_(std::move(master)), input_(input), output_(output) {
    set_nonblocking(master_.get());
}

void PtyRelay::read_input() {
    char buffer[4096];
    std::size_t room = kMaxPending - pending_.size();
    ssize_t got = ::read(input_, buffer, std::min(room, sizeof buffer));
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (got <= 0) {
        input_ = -1;  // EOF or a hung-up terminal: nothing more to type
        return;
    }
    pending_.append(buffer, static_cast<std::size_t>(got));
}

void PtyRelay::write_pending() {
    ssize_t wrote = ::write(master_.get(), pending_.data(), pending_.size());
    if (wrote > 0) pending_.erase(0, static_cast<std::size_t>(wrote));
    else if (wrote < 0 && errno != EINTR && errno != EAGAIN) pending_.clear();  // the pty is gone
}

bool PtyRelay::forward_output() {
    char buffer[16384];
    ssize_t got = ::read(master_.get(), buffer, sizeof buffer);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (got <= 0) return false;  // EIO once every peer of the pty is closed
    try {
        write_all(output_, std::string(buffer, static_cast<std::size_t>(got)), "terminal");
    } catch (const std::exception&) {
        return false;  // the user's terminal is gone: stop relaying, the sandbox goes on
    }
    return true;
}

}  // namespace sb
