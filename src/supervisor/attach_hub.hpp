// A detached sandbox's output and the clients of `sandbox attach`. The hub reads the payload's
// output (the read end of its stdout/stderr pipe, or the master of the pty the supervisor keeps
// for `run --detach --tty`), writes it to the log and to every attached client, and keeps the
// last kReplayBytes to show a client that attaches later. With a pty, the clients' keystrokes
// go to the payload (through a bounded buffer) and the last resize sets the window's size.
// A client that does not keep up loses output (it never stalls the supervisor or the others).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ipc/control.hpp"
#include "supervisor/output_log.hpp"
#include "sys/poll_set.hpp"
#include "sys/unique_fd.hpp"

namespace sb {

class AttachHub {
public:
    // `source`: the pipe's read end, or the pty's master (`tty`). `log` outlives the hub.
    AttachHub(UniqueFd source, bool tty, OutputLog& log);
    void watch(PollSet& set);
    // Answers `attached`, replays the recent output, and adds the client.
    void add_client(UniqueFd connection);
    // The sandbox ended: every client gets the exit code as its last frame.
    void finish(int exit_code);
    // The payload's side is closed (every writer gone) and its output written.
    bool drained() const { return !source_; }
    // Gives up on the rest of the output (pid 1 is gone and something outside still holds it).
    void close_source() { source_.reset(); }
    bool tty() const { return tty_; }
    std::size_t clients() const { return clients_.size(); }

private:
    void read_source();
    void write_source();
    void read_client(int fd);
    void drop_client(int fd);
    void broadcast(const std::string& data);

    UniqueFd source_;
    bool tty_;
    OutputLog& log_;
    std::string recent_;    // the last kReplayBytes of output
    std::string to_source_; // keystrokes not yet taken by the pty
    std::vector<UniqueFd> clients_;
};

}  // namespace sb
