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
// Discards what the terminal `fd` received but nobody read (tcflush TCIFLUSH): the late answers
// of the terminal to queries of the payload. Only while we are in the terminal's foreground
// process group: a background job must not eat the input of the foreground one (and would be
// stopped by SIGTTOU).
void discard_pending_input(int fd);
// Bit N set when fd N (0, 1, 2) is a terminal.
unsigned terminal_fd_mask();
// Copies the window size of `from` (a tty) to `to` (the pty master); the kernel then sends
// SIGWINCH to the foreground process group inside.
void copy_window_size(int from, int to);

// Moves bytes between the user's terminal and the pty master, both ways through bounded
// buffers on non-blocking fds, so neither a payload that never reads its terminal nor a user's
// terminal that does not take output (Ctrl-S, a stalled ssh) can stall the supervisor's loop.
class PtyRelay {
public:
    // `input`: the user's terminal to read keystrokes from, or -1; `output`: where the pty's
    // output goes (a non-blocking description of a terminal of the user's).
    PtyRelay(UniqueFd master, int input, UniqueFd output);
    int master() const { return master_.get(); }
    int input() const { return input_; }
    int output() const { return output_.get(); }
    bool wants_input() const { return input_ >= 0 && to_master_.size() < kMaxPending; }
    bool wants_master_read() const { return !master_done_ && to_user_.size() < kMaxPending; }
    bool wants_master_write() const { return !master_done_ && !to_master_.empty(); }
    bool wants_output() const { return !to_user_.empty(); }
    // Every peer of the pty is closed and its last output has been written (or dropped).
    bool finished() const { return master_done_ && to_user_.empty(); }
    void read_input();
    void write_master();
    void read_master();
    void write_output();

private:
    static constexpr std::size_t kMaxPending = 1 << 16;
    UniqueFd master_;
    int input_;
    UniqueFd output_;
    std::string to_master_, to_user_;
    bool master_done_ = false;
};

}  // namespace sb
