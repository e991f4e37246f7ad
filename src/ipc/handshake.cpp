#include "ipc/handshake.hpp"

#include "exitcode.hpp"

namespace sb {

const char* to_string(HandshakeState state) {
    switch (state) {
        case HandshakeState::WaitingForMaps: return "waiting-for-maps";
        case HandshakeState::SettingUp: return "setting-up";
        case HandshakeState::Running: return "running";
        case HandshakeState::Finished: return "finished";
        case HandshakeState::Failed: return "failed";
    }
    return "?";
}

const char* to_string(NetworkState state) {
    switch (state) {
        case NetworkState::None: return "none";
        case NetworkState::Awaited: return "awaited";
        case NetworkState::Ready: return "ready";
        case NetworkState::Started: return "started";
    }
    return "?";
}

std::string Handshake::describe() const {
    std::string text = to_string(state_);
    if (network_ != NetworkState::None) text += std::string(", network ") + to_string(network_);
    return text;
}

void Handshake::maps_written() {
    if (state_ == HandshakeState::WaitingForMaps) state_ = HandshakeState::SettingUp;
}

void Handshake::network_started() {
    if (network_ == NetworkState::Ready) network_ = NetworkState::Started;
}

MessageVerdict Handshake::reject(const Message& message) const {
    return MessageVerdict{MessageVerdict::Reject,
                   std::string("unexpected message ") + to_string(message.type) + " while " + describe()};
}

MessageVerdict Handshake::receive(const Message& message) {
    // Nothing comes from the sandbox before it was told the maps are in place.
    if (state_ == HandshakeState::WaitingForMaps) return reject(message);
    // Once the outcome is known, the rest is the sandbox winding down (I reports the exit of a
    // payload whose exec failed): nothing changes it.
    if (outcome_known()) return MessageVerdict{MessageVerdict::Ignore, {}};
    switch (message.type) {
        case MessageType::SetupFailed:
            failure_ = message;
            exit_code_ = kExitSetupFailed;
            state_ = HandshakeState::Failed;
            return MessageVerdict{};
        case MessageType::NetworkReady:
            if (state_ != HandshakeState::SettingUp || network_ != NetworkState::Awaited) return reject(message);
            network_ = NetworkState::Ready;
            return MessageVerdict{};
        case MessageType::PayloadStarted:
            if (state_ != HandshakeState::SettingUp) return reject(message);
            // I waits for NetworkStarted before it announces the payload.
            if (network_ != NetworkState::None && network_ != NetworkState::Started) return reject(message);
            state_ = HandshakeState::Running;
            return MessageVerdict{};
        case MessageType::ExecFailed:
            if (state_ != HandshakeState::Running) return reject(message);
            failure_ = message;
            exit_code_ = exit_code_for_exec_error(exec_failed_fields(message).error);
            state_ = HandshakeState::Failed;
            return MessageVerdict{};
        case MessageType::SeccompListener:
            // Once: from I before it announces the payload (past the network's start, as I loads
            // the filter right before), or, when the payload loads the filter itself, from W
            // after that announcement, before its exec.
            if (listener_known_) return reject(message);
            if (state_ == HandshakeState::SettingUp && network_ != NetworkState::None &&
                network_ != NetworkState::Started)
                return reject(message);
            if (state_ != HandshakeState::SettingUp && state_ != HandshakeState::Running) return reject(message);
            listener_known_ = true;
            return MessageVerdict{};
        case MessageType::SandboxNetwork:
            // Once, while I sets up (it joins the network namespace before announcing the payload).
            if (state_ != HandshakeState::SettingUp || network_shared_) return reject(message);
            network_shared_ = true;
            return MessageVerdict{};
        case MessageType::PayloadExecuted:
            if (state_ != HandshakeState::Running || executed_) return reject(message);
            executed_ = true;
            return MessageVerdict{};
        case MessageType::PayloadExited: {
            if (state_ != HandshakeState::Running) return reject(message);
            PayloadExitedFields exited = payload_exited_fields(message);
            exit_code_ = exit_code_for_status(exited.signaled, exited.value);
            state_ = HandshakeState::Finished;
            return MessageVerdict{};
        }
        case MessageType::MapsWritten:
        case MessageType::NetworkStarted:
        case MessageType::NetworkNamespace:  // N's to I, never to S
            return reject(message);
    }
    return reject(message);
}

}  // namespace sb
