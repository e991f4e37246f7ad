// The user's terminal while the payload runs on a pty of the sandbox's own: raw mode (so
// Ctrl-C, Ctrl-Z and friends travel as bytes to the pty inside), window size, and the byte relay.
#pragma once
#include <termios.h>

#include <optional>

namespace sb {

// Raw mode on `fd` for the object's lifetime; the old settings come back on destruction.
class RawTerminal {
public:
    explicit RawTerminal(int fd);
    ~RawTerminal();
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

private:
    int fd_;
    std::optional<termios> saved_;
};

bool is_terminal(int fd);
// Copies the window size of `from` (a tty) to `to` (the pty master); the kernel then sends
// SIGWINCH to the foreground process group inside.
void copy_window_size(int from, int to);

// Moves what is readable on `from` to `to`. Returns false at end of input (EOF or EIO).
bool relay_bytes(int from, int to);

}  // namespace sb
