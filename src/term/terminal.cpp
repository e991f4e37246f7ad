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

void discard_pending_input(int fd) {
    if (::tcgetpgrp(fd) != ::getpgrp()) return;
    ::tcflush(fd, TCIFLUSH);
}

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

PtyRelay::PtyRelay(UniqueFd master, int input, UniqueFd output)
    : master_(std::move(master)), input_(input), output_(std::move(output)) {
    set_nonblocking(master_.get());
}

namespace {

// Reads what is there into `buffer` (up to `room`). Returns false at EOF or on an error.
bool read_some(int fd, std::string& buffer, std::size_t room) {
    char chunk[16384];
    ssize_t got = ::read(fd, chunk, std::min(room, sizeof chunk));
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (got <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(got));
    return true;
}

// Writes what the fd takes from the front of `buffer`. Returns false on an error other than
// "try again" (the reader is gone).
bool write_some(int fd, std::string& buffer) {
    ssize_t wrote = ::write(fd, buffer.data(), buffer.size());
    if (wrote > 0) buffer.erase(0, static_cast<std::size_t>(wrote));
    return wrote >= 0 || errno == EINTR || errno == EAGAIN;
}

}  // namespace

void PtyRelay::read_input() {
    // EOF or a hung-up terminal: nothing more to type.
    if (!read_some(input_, to_master_, kMaxPending - to_master_.size())) input_ = -1;
}

void PtyRelay::write_master() {
    if (!write_some(master_.get(), to_master_)) to_master_.clear();  // the pty is gone
}

void PtyRelay::read_master() {
    // EIO once every peer of the pty is closed: the sandbox is over.
    if (!read_some(master_.get(), to_user_, kMaxPending - to_user_.size())) master_done_ = true;
}

void PtyRelay::write_output() {
    // The user's terminal is gone: drop the output, the sandbox runs on (it gets SIGHUP
    // through the supervisor when the terminal hangs up).
    if (!write_some(output_.get(), to_user_)) to_user_.clear();
}

}  // namespace sb
