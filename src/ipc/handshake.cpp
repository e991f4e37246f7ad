#include "ipc/handshake.hpp"

#include "exitcode.hpp"

namespace sb {

const char* to_string(HandshakeState state) {
    switch (state) {
        case HandshakeState::WaitingForMaps: return "waiting-for-maps";
        case HandshakeState::WaitingForInit: return "waiting-for-init";
        case HandshakeState::SettingUp: return "setting-up";
        case HandshakeState::Running: return "running";
        case HandshakeState::Finished: return "finished";
        case HandshakeState::Failed: return "failed";
    }
    return "?";
}

void Handshake::maps_written() {
    if (state_ == HandshakeState::WaitingForMaps) state_ = HandshakeState::WaitingForInit;
}

std::optional<std::string> Handshake::receive(const Message& message) {
    auto reject = [&] {
        return std::string("unexpected message ") + to_string(message.type) + " while " + to_string(state_);
    };
    if (state_ == HandshakeState::Finished || state_ == HandshakeState::Failed) return reject();
    switch (message.type) {
        case MessageType::SetupFailed:
            if (state_ == HandshakeState::WaitingForMaps) return reject();
            failure_ = message;
            exit_code_ = kExitSetupFailed;
            state_ = HandshakeState::Failed;
            return std::nullopt;
        case MessageType::InitStarted:
            if (state_ != HandshakeState::WaitingForInit) return reject();
            state_ = HandshakeState::SettingUp;
            return std::nullopt;
        case MessageType::NetworkReady:
            if (state_ != HandshakeState::SettingUp) return reject();
            return std::nullopt;
        case MessageType::PayloadStarted:
            if (state_ != HandshakeState::SettingUp) return reject();
            state_ = HandshakeState::Running;
            return std::nullopt;
        case MessageType::ExecFailed:
            if (state_ != HandshakeState::Running) return reject();
            failure_ = message;
            exit_code_ = exit_code_for_exec_error(message.int0);
            state_ = HandshakeState::Failed;
            return std::nullopt;
        case MessageType::PayloadExited:
            if (state_ != HandshakeState::Running) return reject();
            exit_code_ = exit_code_for_status(message.int0 != 0, message.int1);
            state_ = HandshakeState::Finished;
            return std::nullopt;
        case MessageType::MapsWritten: return reject();
    }
    return reject();
}

}  // namespace sb
