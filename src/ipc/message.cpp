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

bool known_type(std::uint8_t type);  // one with a shape (below)

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

Message to_message(const SetupFailedFields& fields) {
    return Message{MessageType::SetupFailed, fields.error, 0, {to_string(fields.stage), fields.message, fields.hint}};
}

Message to_message(const ExecFailedFields& fields) {
    return Message{MessageType::ExecFailed, fields.error, 0, {fields.command}};
}

Message to_message(const PayloadExitedFields& fields) {
    return Message{MessageType::PayloadExited, fields.signaled ? 1 : 0, fields.value, {}};
}

Message to_message(const PayloadStartedFields& fields) {
    Message message{MessageType::PayloadStarted, 0, 0, {}};
    for (std::uint64_t id : fields.namespaces) message.text.push_back(std::to_string(id));
    return message;
}

namespace {

// A namespace's inode number written in decimal; nullopt for anything else.
std::optional<std::uint64_t> parse_id(const std::string& text) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

std::string text_at(const Message& message, std::size_t index) {
    return index < message.text.size() ? message.text[index] : std::string();
}
}  // namespace

SetupFailedFields setup_failed_fields(const Message& message) {
    return {parse_stage(text_at(message, 0)).value_or(Stage::Setup), text_at(message, 1), text_at(message, 2), message.int0};
}

ExecFailedFields exec_failed_fields(const Message& message) { return {message.int0, text_at(message, 0)}; }

PayloadExitedFields payload_exited_fields(const Message& message) { return {message.int0 != 0, message.int1}; }

PayloadStartedFields payload_started_fields(const Message& message) {
    PayloadStartedFields fields;
    for (std::size_t i = 0; i < PayloadStartedFields::kCount; ++i)
        fields.namespaces[i] = parse_id(text_at(message, i)).value_or(0);
    return fields;
}

namespace {

struct Shape {
    MessageType type;
    std::size_t texts, min_fds, max_fds;
};
// One row per type: what it carries.
constexpr Shape kShapes[] = {
    {MessageType::MapsWritten, 0, 0, 0},    {MessageType::SetupFailed, 3, 0, 0},
    {MessageType::PayloadStarted, PayloadStartedFields::kCount, 0, 1},  // a pty master, or none
    {MessageType::ExecFailed, 1, 0, 0},     {MessageType::PayloadExited, 0, 0, 0},
    {MessageType::NetworkReady, 0, 1, 1},   {MessageType::NetworkStarted, 0, 0, 0},
    {MessageType::SeccompListener, 0, 1, 1}, {MessageType::NetworkNamespace, 0, 1, 1},
    {MessageType::PayloadExecuted, 0, 0, 0}, {MessageType::SandboxNetwork, 0, 1, 1},
};

// The values the integers may take, for the types whose integers mean something.
std::optional<std::string> value_problem(const Message& message) {
    switch (message.type) {
        case MessageType::SetupFailed:
            if (!parse_stage(message.text[0])) return "no stage named \"" + message.text[0] + "\"";
            if (message.int0 < 0 || message.int0 > 4095) return "errno " + std::to_string(message.int0);
            break;
        case MessageType::ExecFailed:
            if (message.int0 < 0 || message.int0 > 4095) return "errno " + std::to_string(message.int0);
            break;
        case MessageType::PayloadStarted:
            for (const auto& id : message.text)
                if (!parse_id(id)) return "a namespace id \"" + id + "\"";
            break;
        case MessageType::PayloadExited:
            if (message.int0 != 0 && message.int0 != 1) return "neither exited nor killed";
            if (message.int1 < 0 || message.int1 > 255) return "a status of " + std::to_string(message.int1);
            break;
        default: break;
    }
    return std::nullopt;
}

bool known_type(std::uint8_t type) {
    for (const auto& shape : kShapes)
        if (static_cast<std::uint8_t>(shape.type) == type) return true;
    return false;
}

}  // namespace

std::optional<std::string> shape_problem(const Message& message, std::size_t fds) {
    for (const auto& shape : kShapes) {
        if (shape.type != message.type) continue;
        if (message.text.size() != shape.texts)
            return std::to_string(message.text.size()) + " texts (expects " + std::to_string(shape.texts) + ")";
        if (fds < shape.min_fds || fds > shape.max_fds)
            return std::to_string(fds) + " fds (expects " + std::to_string(shape.min_fds) +
                   (shape.max_fds != shape.min_fds ? " or " + std::to_string(shape.max_fds) : "") + ")";
        return value_problem(message);
    }
    return "an unknown type";
}

const char* to_string(MessageType type) {
    switch (type) {
        case MessageType::MapsWritten: return "maps-written";
        case MessageType::SetupFailed: return "setup-failed";
        case MessageType::PayloadStarted: return "payload-started";
        case MessageType::ExecFailed: return "exec-failed";
        case MessageType::PayloadExited: return "payload-exited";
        case MessageType::NetworkReady: return "network-ready";
        case MessageType::NetworkStarted: return "network-started";
        case MessageType::SeccompListener: return "seccomp-listener";
        case MessageType::NetworkNamespace: return "network-namespace";
        case MessageType::PayloadExecuted: return "payload-executed";
        case MessageType::SandboxNetwork: return "sandbox-network";
    }
    return "unknown";
}

}  // namespace sb
