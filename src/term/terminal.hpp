// The user's terminal while the payload runs on a pty of the sandbox's own: raw mode (so
// Ctrl-C, Ctrl-Z and friends travel as bytes to the pty inside), window size, and the relay.
#pragma once
#include <termios.h>

#include <optional>
#include <string>

#include "sys/unique_fd.hpp"

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
// Bit N set when fd N (0, 1, 2) is a terminal.
unsigned terminal_fd_mask();
// Copies the window size of `from` (a tty) to `to` (the pty master); the kernel then sends
// SIGWINCH to the foreground process group inside.
void copy_window_size(int from, int to);

// Moves bytes between the user's terminal and the pty master. The master is non-blocking and
// input waits in a bounded buffer, so a payload that never reads its terminal cannot stall the
// supervisor's loop (its output, its signals).
class PtyRelay {
public:
    // `input`: the user's terminal to read keystrokes from, or -1; `output`: where the pty's
    // output goes (a terminal of the user's).
    PtyRelay(UniqueFd master, int input, int output);
    int master() const { return master_.get(); }
    int input() const { return input_; }
    bool wants_input() const { return input_ >= 0 && pending_.size() < kMaxPending; }
    bool has_pending_input() const { return !pending_.empty(); }
    void read_input();        // input readable: into the buffer (stops reading at EOF)
    void write_pending();     // master writable: from the buffer
    bool forward_output();    // master readable: to output; false once the pty is finished

private:
    static constexpr std::size_t kMaxPending = 1 << 16;
    UniqueFd master_;
    int input_, output_;
    std::string pending_;
};

}  // namespace sb
