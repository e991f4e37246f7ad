// Messages between the supervisor (S), the sandbox's init (I) and the payload (W), carried
// over one SOCK_SEQPACKET socket (S holds one end, I and W share the other; only I reads it).
// N, S's short-lived child that makes the network namespace, writes to I from S's end.
// Pure: encoding and decoding only. Every message is one envelope on the wire (a type, two
// integers, texts); what each type carries is fixed by its shape (texts, fds, values), checked
// on receipt, and read and written through its typed fields below, never by index.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/error.hpp"

namespace sb {

enum class MessageType : std::uint8_t {
    MapsWritten = 1,    // S -> I: the id maps are in place; carry on
    // 2 was InitStarted, from a setup process that no longer exists
    SetupFailed = 3,    // I/W -> S, N -> I: int0 = errno (0 if none); text = stage, message, hint
    PayloadStarted = 4, // I -> S: setup done, payload about to fork; text = the namespaces' inode
                        // numbers (PayloadStartedFields); a pty master may be attached
    ExecFailed = 5,     // W -> S: int0 = errno of execve; text = command
    PayloadExited = 6,  // I -> S: int0 = 0 exited / 1 killed by signal; int1 = code or signal
    NetworkReady = 7,   // I -> S: the sandbox's eth0 is up; the fd carrying its frames attached
    NetworkStarted = 8, // S -> I: libslirp runs and every port forward listens: start the payload
    SeccompListener = 9,  // I (or W) -> S: the filter's user-notification fd attached (--violations, --learn)
    NetworkNamespace = 10,  // N -> I: the sandbox's network namespace (lo up) attached
    PayloadExecuted = 11,   // I -> S: the payload's vfork returned: it exec'd, or it sent ExecFailed first
    SandboxNetwork = 12,    // I -> S: the network namespace I joined attached (for `sandbox exec`)
};

struct Message {
    MessageType type = MessageType::MapsWritten;
    std::int32_t int0 = 0, int1 = 0;
    std::vector<std::string> text;
    bool operator==(const Message&) const = default;
};

constexpr std::size_t kMaxMessageSize = 8192;

// At most 255 texts (the count is one byte); longer texts are cut to fit kMaxMessageSize.
std::vector<std::uint8_t> encode(const Message& message);
// nullopt when the bytes are not one well-formed message.
std::optional<Message> decode(const std::uint8_t* data, std::size_t size);

// The fields of the messages that carry any (the others carry at most fds).
struct SetupFailedFields {
    Stage stage = Stage::Setup;
    std::string message;  // complete: a system error's text already names its errno
    std::string hint;
    int error = 0;        // the errno behind it, 0 if none
};
struct ExecFailedFields {
    int error = 0;  // execve's errno
    std::string command;
};
// The sandbox's namespaces, by the inode numbers of /proc/PID/ns/* (as `ls -i` or readlink
// show them): what --json-status-fd reports, under these names.
struct PayloadStartedFields {
    static constexpr const char* kNames[] = {"user", "mnt", "pid", "uts", "ipc", "net", "cgroup"};
    static constexpr std::size_t kCount = sizeof kNames / sizeof kNames[0];
    std::uint64_t namespaces[kCount] = {};  // in kNames' order; 0 = not known
};
struct PayloadExitedFields {
    bool signaled = false;
    int value = 0;  // exit code, or signal number
};

Message to_message(const SetupFailedFields& fields);
Message to_message(const ExecFailedFields& fields);
Message to_message(const PayloadExitedFields& fields);
Message to_message(const PayloadStartedFields& fields);
// The fields of a message of that type (one whose shape was not checked reads as empty texts).
SetupFailedFields setup_failed_fields(const Message& message);
ExecFailedFields exec_failed_fields(const Message& message);
PayloadExitedFields payload_exited_fields(const Message& message);
PayloadStartedFields payload_started_fields(const Message& message);

// What is wrong with a message of its type carrying `fds` descriptors (texts, fds, values);
// nullopt when it has its type's shape.
std::optional<std::string> shape_problem(const Message& message, std::size_t fds);

const char* to_string(MessageType type);

}  // namespace sb
