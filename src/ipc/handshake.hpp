// The supervisor's side of the start-up handshake as a small state machine, so the order of
// messages is checked in one place (and unit-tested) rather than spread over the code.
#pragma once
#include <optional>
#include <string>

#include "ipc/message.hpp"

namespace sb {

enum class HandshakeState {
    WaitingForMaps,    // S still has to write the maps and send MapsWritten
    WaitingForInit,    // MapsWritten sent; C will report I's pid
    SettingUp,         // I is building the sandbox
    Running,           // the payload was forked (exec may still fail)
    Finished,          // the payload exited (PayloadExited)
    Failed,            // setup or exec failed; `failure` says why
};

const char* to_string(HandshakeState state);

class Handshake {
public:
    HandshakeState state() const { return state_; }
    // S wrote the maps and told the child.
    void maps_written();
    // Applies a message from the sandbox. Returns an error text for a message that is not
    // allowed in the current state (a protocol error), nullopt when accepted.
    std::optional<std::string> receive(const Message& message);
    // The exit code this run ends with, once Finished or Failed.
    int exit_code() const { return exit_code_; }
    // For Failed: the SetupFailed or ExecFailed message.
    const Message& failure() const { return failure_; }

private:
    HandshakeState state_ = HandshakeState::WaitingForMaps;
    int exit_code_ = 125;
    Message failure_;
};

}  // namespace sb
