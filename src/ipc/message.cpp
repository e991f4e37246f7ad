#include "ipc/message.hpp"

#include <cstring>

namespace sb {
namespace {

// Layout: magic u8, type u8, count u8 (strings), int0 i32, int1 i32, then each string as
// u32 length + bytes. Little-endian host order is fine: both ends are the same binary.
constexpr std::uint8_t kMagic = 0x5b;
constexpr std::size_t kHeader = 3 + 4 + 4;

void put32(std::vector<std::uint8_t>& out, std::uint32_t value) {
    std::uint8_t bytes[4];
    std::memcpy(bytes, &value, 4);
    out.insert(out.end(), bytes, bytes + 4);
}

std::uint32_t get32(const std::uint8_t* data) {
    std::uint32_t value;
    std::memcpy(&value, data, 4);
    return value;
}

bool known_type(std::uint8_t type) { return type >= 1 && type <= 9; }

}  // namespace

std::vector<std::uint8_t> encode(const Message& message) {
    std::vector<std::uint8_t> out{kMagic, static_cast<std::uint8_t>(message.type),
                                  static_cast<std::uint8_t>(message.text.size())};
    put32(out, static_cast<std::uint32_t>(message.int0));
    put32(out, static_cast<std::uint32_t>(message.int1));
    for (std::size_t i = 0; i < message.text.size(); ++i) {
        const std::string& text = message.text[i];
        // Messages must fit one datagram; long texts are cut, never the framing (the length
        // fields of this and every later text are reserved first).
        std::size_t framing = 4 * (message.text.size() - i);
        std::size_t room = kMaxMessageSize > out.size() + framing ? kMaxMessageSize - out.size() - framing : 0;
        std::size_t length = std::min(text.size(), room);
        put32(out, static_cast<std::uint32_t>(length));
        out.insert(out.end(), text.begin(), text.begin() + static_cast<std::ptrdiff_t>(length));
    }
    return out;
}

std::optional<Message> decode(const std::uint8_t* data, std::size_t size) {
    if (size < kHeader || data[0] != kMagic || !known_type(data[1])) return std::nullopt;
    Message message;
    message.type = static_cast<MessageType>(data[1]);
    std::size_t count = data[2];
    message.int0 = static_cast<std::int32_t>(get32(data + 3));
    message.int1 = static_cast<std::int32_t>(get32(data + 7));
    std::size_t offset = kHeader;
    for (std::size_t i = 0; i < count; ++i) {
        if (size - offset < 4) return std::nullopt;
        std::uint32_t length = get32(data + offset);
        offset += 4;
        if (length > size - offset) return std::nullopt;
        message.text.emplace_back(reinterpret_cast<const char*>(data + offset), length);
        offset += length;
    }
    if (offset != size) return std::nullopt;
    return message;
}

Message setup_failed(const std::string& stage, const std::string& message, int err,
                     const std::string& hint) {
    return Message{MessageType::SetupFailed, err, 0, {stage, message, hint}};
}

const char* to_string(MessageType type) {
    switch (type) {
        case MessageType::MapsWritten: return "maps-written";
        case MessageType::InitStarted: return "init-started";
        case MessageType::SetupFailed: return "setup-failed";
        case MessageType::PayloadStarted: return "payload-started";
        case MessageType::ExecFailed: return "exec-failed";
        case MessageType::PayloadExited: return "payload-exited";
        case MessageType::NetworkReady: return "network-ready";
        case MessageType::NetworkStarted: return "network-started";
        case MessageType::SeccompListener: return "seccomp-listener";
    }
    return "unknown";
}

}  // namespace sb
