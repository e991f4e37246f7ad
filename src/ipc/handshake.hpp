// The supervisor's side of the start-up handshake as a small state machine, so the order of
// messages is checked in one place (and unit-tested) rather than spread over the code.
//
// Messages come from two processes over one socket: I, pid 1 (NetworkReady, SeccompListener,
// PayloadStarted, PayloadExecuted, SandboxNetwork, SetupFailed, PayloadExited; a failure of N, which makes the network
// namespace, comes through I) and W, the payload (SeccompListener when it loads the filter
// itself, ExecFailed, SetupFailed). S knows I's pid from its own clone. Each process's
// messages arrive in the order it sent them; W's come after I's PayloadStarted, as I sends it
// before the fork, but I's PayloadExited may come before or after W's.
#pragma once
#include <string>

#include "ipc/message.hpp"

namespace sb {

enum class HandshakeState {
    WaitingForMaps,  // S still has to write the maps and send MapsWritten
    SettingUp,       // I is building the sandbox
    Running,         // the payload was forked (exec may still fail)
    Finished,        // the payload exited (PayloadExited)
    Failed,          // setup or exec failed; `failure` says why
};

// The user-mode network (mode slirp) on the way to the payload's start: I sends the frames fd
// (NetworkReady), S starts libslirp and opens the port forwards, then tells I to go on
// (NetworkStarted). The payload must not start before: a forward that cannot listen must stop
// the run before the payload's first instruction.
enum class NetworkState {
    None,      // no user-mode network
    Awaited,   // I has not sent its frames fd yet
    Ready,     // S has the frames fd and starts the network
    Started,   // S started it and told I to go on
};

const char* to_string(HandshakeState state);
const char* to_string(NetworkState state);

// What S does with a message from the sandbox.
struct MessageVerdict {
    enum Kind {
        Act,     // apply it
        Ignore,  // harmless, but the outcome is already known (e.g. PayloadExited after ExecFailed)
        Reject,  // a protocol error: `error` says which message came in which state
    } kind = Act;
    std::string error;
};

class Handshake {
public:
    explicit Handshake(bool with_network = false)
        : network_(with_network ? NetworkState::Awaited : NetworkState::None) {}

    HandshakeState state() const { return state_; }
    NetworkState network() const { return network_; }
    // S wrote the maps and told the child.
    void maps_written();
    // S started the network and sent NetworkStarted to I. Only after NetworkReady.
    void network_started();
    // Applies a message from the sandbox.
    MessageVerdict receive(const Message& message);
    // The payload's exec succeeded (PayloadExecuted came while Running: an ExecFailed would
    // have come first and ended in Failed).
    bool executed() const { return executed_; }
    // The exit code this run ends with, once Finished or Failed.
    int exit_code() const { return exit_code_; }
    // For Failed: the SetupFailed or ExecFailed message.
    const Message& failure() const { return failure_; }
    // A short description for timeouts and logs: "setting-up, network ready".
    std::string describe() const;

private:
    MessageVerdict reject(const Message& message) const;
    bool outcome_known() const { return state_ == HandshakeState::Finished || state_ == HandshakeState::Failed; }

    HandshakeState state_ = HandshakeState::WaitingForMaps;
    NetworkState network_;
    bool listener_known_ = false;
    bool executed_ = false;
    bool network_shared_ = false;  // SandboxNetwork came  // SeccompListener arrived (from I or W: one of them loads the filter)
    int exit_code_ = 125;
    Message failure_;
};

}  // namespace sb
