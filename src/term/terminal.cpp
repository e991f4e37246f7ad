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

void copy_window_size(int from, int to) {
    winsize size{};
    if (::ioctl(from, TIOCGWINSZ, &size) == 0) ::ioctl(to, TIOCSWINSZ, &size);
}

bool relay_bytes(int from, int to) {
    char buffer[16384];
    ssize_t got;
    do got = ::read(from, buffer, sizeof buffer);
    while (got < 0 && errno == EINTR);
    if (got < 0 && errno == EAGAIN) return true;
    if (got <= 0) return false;  // EOF, or EIO once every pty peer is closed
    try {
        write_all(to, std::string(buffer, static_cast<std::size_t>(got)), "terminal");
    } catch (...) {
        return false;
    }
    return true;
}

}  // namespace sb
