// The control protocol: what `sandbox kill|stop|wait|exec|enter` ask a running sandbox's
// supervisor over its control socket ($XDG_RUNTIME_DIR/sandbox/NAME/control, SOCK_SEQPACKET),
// and what it answers. Pure: encoding and decoding only, unit-tested like the handshake.
//
// Every packet is one JSON object with "version" (kControlVersion; a supervisor of another
// version answers with an error naming both) and "type". A client sends one request per
// connection; the supervisor answers with replies until the connection closes:
//   kill  {signal}         -> accepted | error
//   stop  {grace_ms}       -> accepted, then exited {exit_code} once the sandbox ended
//   wait  {}               -> exited {exit_code}
//   exec  {argv, env, cwd, terminal_fds}, the caller's stdin, stdout and stderr attached
//                          -> started (with terminal_fds: the pty's master attached), then
//                             exited {exit_code} of the command | error {stage, exit_code}
//         (an empty argv: the sandbox's shell, as `sandbox enter`)
//   attach {}              -> attached {tty}, then frames both ways (AttachFrame): the
//                             payload's output to the client (the last kReplayBytes first),
//                             the client's keystrokes and window size to the payload (tty only),
//                             and exited {exit_code} as the last frame | error
//   inspect {}             -> inspected {document}: the plan and the live state
// Anything unknown, a field of the wrong type or a value out of range is refused whole.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/error.hpp"

namespace sb {

constexpr int kControlVersion = 1;
constexpr std::size_t kMaxControlPacket = 65536;   // a request, a frame
constexpr std::size_t kMaxReplyPacket = 196608;    // a reply (inspect's document is the largest)

enum class ControlRequestType { Kill, Stop, Wait, Exec, Attach, Inspect };

struct ControlRequest {
    ControlRequestType type = ControlRequestType::Wait;
    int signal = 0;                 // kill
    std::uint32_t grace_ms = 0;     // stop: from TERM to KILL
    std::vector<std::string> argv;  // exec: the command; empty: the sandbox's shell
    std::vector<std::string> env;   // exec: NAME=VALUE set on top of the sandbox's environment
    std::string cwd;                // exec: absolute, or "" for the payload's
    unsigned terminal_fds = 0;      // exec: bit N: fd N gets a pty of the sandbox's own instead
    bool operator==(const ControlRequest&) const = default;
};

enum class ControlReplyType { Accepted, Started, Exited, Error, Attached, Inspected };

struct ControlReply {
    ControlReplyType type = ControlReplyType::Accepted;
    int exit_code = 0;   // exited; error: what the caller exits with (125, 126, 127)
    Stage stage = Stage::Control;  // error: where it failed
    std::string error;   // error: the message
    std::string hint;    // error: how to fix it ("" if none)
    bool tty = false;    // attached: the payload is on a pty (keystrokes and window size go through)
    std::string document;  // inspected: a JSON object (state/inspect.hpp)
    bool operator==(const ControlReply&) const = default;
};

// After `attached`, every packet on the connection is one frame; its first byte says which.
constexpr std::size_t kReplayBytes = 16384;  // what a new client sees of the output so far
enum class FrameKind : char {
    Data = 'd',    // output (supervisor -> client) or keystrokes (client -> supervisor)
    Resize = 'r',  // client -> supervisor: the window's size
    Exited = 'x',  // supervisor -> client: the sandbox ended; the last frame
};
struct AttachFrame {
    FrameKind kind = FrameKind::Data;
    std::string data;                    // Data
    unsigned rows = 0, columns = 0;      // Resize: 1..65535 each
    int exit_code = 0;                   // Exited: 0..255
    bool operator==(const AttachFrame&) const = default;
};
std::string encode_frame(const AttachFrame& frame);
// nullopt for anything but one well-formed frame.
std::optional<AttachFrame> decode_frame(const std::string& packet);

ControlReply control_error(Stage stage, const std::string& error, const std::string& hint = "", int exit_code = 125);

// How many fds travel with a request of this kind (exec: stdio).
std::size_t control_request_fds(const ControlRequest& request);

std::string encode_control_request(const ControlRequest& request);
std::string encode_control_reply(const ControlReply& reply);
// The request or reply, or the reason the packet is refused (in `problem`).
std::optional<ControlRequest> decode_control_request(const std::string& packet, std::string& problem);
std::optional<ControlReply> decode_control_reply(const std::string& packet, std::string& problem);

const char* to_string(ControlRequestType type);

// A signal for `sandbox kill --signal`: "TERM", "SIGTERM", "term" or "15"; nullopt otherwise.
std::optional<int> parse_signal(const std::string& text);

}  // namespace sb
