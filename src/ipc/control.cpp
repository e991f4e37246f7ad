#include "ipc/control.hpp"

#include <signal.h>

#include <cctype>

#include <nlohmann/json.hpp>

namespace sb {
namespace {

using Json = nlohmann::ordered_json;

const char* const kRequestNames[] = {"kill", "stop", "wait", "exec", "attach", "inspect"};
const char* const kReplyNames[] = {"accepted", "started", "exited", "error", "attached", "inspected"};

constexpr std::size_t kMaxArgs = 4096;
constexpr std::uint32_t kMaxGraceMs = 24u * 3600u * 1000u;

// JSON strings are UTF-8, the command's words are bytes (a file name need not be UTF-8): each
// byte travels as the code point of the same value (U+0000..U+00FF), and comes back as that byte.
std::string bytes_to_wire(const std::string& bytes) {
    std::string out;
    for (unsigned char c : bytes) {
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else {
            out += static_cast<char>(0xC0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    return out;
}

std::optional<std::string> wire_to_bytes(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else if ((c == 0xC2 || c == 0xC3) && i + 1 < text.size() && (text[i + 1] & 0xC0) == 0x80) {
            out += static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(text[++i]) & 0x3F));
        } else {
            return std::nullopt;
        }
    }
    return out;
}

std::vector<std::string> words_to_wire(const std::vector<std::string>& words) {
    std::vector<std::string> out;
    for (const auto& word : words) out.push_back(bytes_to_wire(word));
    return out;
}

// Reads a JSON object with exactly the keys allowed for its type; `problem` says what is wrong.
struct Reader {
    const Json& object;
    std::string& problem;

    bool only(std::initializer_list<const char*> keys) {
        for (const auto& [key, value] : object.items()) {
            bool known = false;
            for (const char* allowed : keys) known = known || key == allowed;
            if (!known) return fail("unknown field \"" + key + "\"");
        }
        return true;
    }
    bool fail(const std::string& why) {
        if (problem.empty()) problem = why;
        return false;
    }
    template <typename T>
    bool integer(const char* key, T& out, long long low, long long high, bool required = true) {
        auto it = object.find(key);
        if (it == object.end()) return !required || fail(std::string("no \"") + key + "\"");
        if (!it->is_number_integer()) return fail(std::string("\"") + key + "\" is not an integer");
        long long value = it->get<long long>();
        if (it->is_number_unsigned() && it->get<unsigned long long>() > static_cast<unsigned long long>(high))
            return fail(std::string("\"") + key + "\" is out of range");
        if (value < low || value > high) return fail(std::string("\"") + key + "\" is out of range");
        out = static_cast<T>(value);
        return true;
    }
    bool text(const char* key, std::string& out, bool required, bool bytes = false) {
        auto it = object.find(key);
        if (it == object.end()) return !required || fail(std::string("no \"") + key + "\"");
        if (!it->is_string()) return fail(std::string("\"") + key + "\" is not a string");
        out = it->get<std::string>();
        if (bytes) {
            auto decoded = wire_to_bytes(out);
            if (!decoded) return fail(std::string("\"") + key + "\" holds a character above U+00FF");
            out = *decoded;
        }
        if (out.find('\0') != std::string::npos) return fail(std::string("\"") + key + "\" holds a NUL byte");
        return true;
    }
    bool boolean(const char* key, bool& out) {
        auto it = object.find(key);
        if (it == object.end() || !it->is_boolean()) return fail(std::string("\"") + key + "\" is not a boolean");
        out = it->get<bool>();
        return true;
    }
    // A JSON object, kept as its text.
    bool object_text(const char* key, std::string& out) {
        auto it = object.find(key);
        if (it == object.end() || !it->is_object()) return fail(std::string("\"") + key + "\" is not an object");
        out = it->dump();
        return true;
    }
    bool texts(const char* key, std::vector<std::string>& out, bool required) {
        auto it = object.find(key);
        if (it == object.end()) return !required || fail(std::string("no \"") + key + "\"");
        if (!it->is_array() || it->size() > kMaxArgs) return fail(std::string("\"") + key + "\" is not a list of strings");
        for (const auto& item : *it) {
            if (!item.is_string()) return fail(std::string("\"") + key + "\" is not a list of strings");
            auto decoded = wire_to_bytes(item.get<std::string>());
            if (!decoded) return fail(std::string("\"") + key + "\" holds a character above U+00FF");
            out.push_back(*decoded);
            if (out.back().find('\0') != std::string::npos) return fail(std::string("\"") + key + "\" holds a NUL byte");
        }
        return true;
    }
};

// The envelope: an object of our version with a known type; returns the type's index.
std::optional<std::size_t> open_envelope(const std::string& packet, const char* const* names, std::size_t count,
                                         Json& object, std::string& problem) {
    if (packet.size() > kMaxReplyPacket) {
        problem = "packet too large";
        return std::nullopt;
    }
    object = Json::parse(packet, nullptr, false);
    if (object.is_discarded() || !object.is_object()) {
        problem = "not a JSON object";
        return std::nullopt;
    }
    auto version = object.find("version");
    if (version == object.end() || !version->is_number_integer()) {
        problem = "no protocol version";
        return std::nullopt;
    }
    if (version->get<long long>() != kControlVersion) {
        problem = "protocol version " + version->dump() + " (this sandbox speaks version " +
                  std::to_string(kControlVersion) + "; the running sandbox was started by another version)";
        return std::nullopt;
    }
    auto type = object.find("type");
    if (type == object.end() || !type->is_string()) {
        problem = "no type";
        return std::nullopt;
    }
    for (std::size_t i = 0; i < count; ++i)
        if (*type == names[i]) return i;
    problem = "unknown type " + type->dump();
    return std::nullopt;
}

Json envelope(const char* type) {
    Json object;
    object["version"] = kControlVersion;
    object["type"] = type;
    return object;
}

}  // namespace

std::string encode_frame(const AttachFrame& frame) {
    std::string packet(1, static_cast<char>(frame.kind));
    switch (frame.kind) {
        case FrameKind::Data: packet += frame.data; break;
        case FrameKind::Resize: packet += std::to_string(frame.rows) + " " + std::to_string(frame.columns); break;
        case FrameKind::Exited: packet += std::to_string(frame.exit_code); break;
    }
    return packet;
}

namespace {

std::optional<unsigned> number_in(const std::string& text, unsigned low, unsigned high) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    unsigned value = static_cast<unsigned>(std::stoul(text));
    if (value < low || value > high) return std::nullopt;
    return value;
}

}  // namespace

std::optional<AttachFrame> decode_frame(const std::string& packet) {
    if (packet.empty() || packet.size() > kMaxControlPacket) return std::nullopt;
    AttachFrame frame;
    std::string body = packet.substr(1);
    switch (packet[0]) {
        case 'd':
            frame.kind = FrameKind::Data;
            frame.data = body;
            return frame;
        case 'r': {
            frame.kind = FrameKind::Resize;
            auto space = body.find(' ');
            if (space == std::string::npos) return std::nullopt;
            auto rows = number_in(body.substr(0, space), 1, 65535), columns = number_in(body.substr(space + 1), 1, 65535);
            if (!rows || !columns) return std::nullopt;
            frame.rows = *rows;
            frame.columns = *columns;
            return frame;
        }
        case 'x': {
            frame.kind = FrameKind::Exited;
            auto code = number_in(body, 0, 255);
            if (!code) return std::nullopt;
            frame.exit_code = static_cast<int>(*code);
            return frame;
        }
        default: return std::nullopt;
    }
}

ControlReply control_error(Stage stage, const std::string& error, const std::string& hint, int exit_code) {
    ControlReply reply;
    reply.type = ControlReplyType::Error;
    reply.stage = stage;
    reply.error = error;
    reply.hint = hint;
    reply.exit_code = exit_code;
    return reply;
}

std::optional<int> parse_signal(const std::string& text) {
    static const std::pair<const char*, int> kNames[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
        {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"WINCH", SIGWINCH}, {"ALRM", SIGALRM}, {"CONT", SIGCONT},
        {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"PIPE", SIGPIPE},
    };
    if (!text.empty() && text.size() <= 2 && text.find_first_not_of("0123456789") == std::string::npos) {
        int number = std::stoi(text);
        if (number >= 1 && number <= 64) return number;
        return std::nullopt;
    }
    std::string name;
    for (char c : text) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
    for (const auto& [known, number] : kNames)
        if (name == known) return number;
    return std::nullopt;
}

const char* to_string(ControlRequestType type) { return kRequestNames[static_cast<std::size_t>(type)]; }

std::size_t control_request_fds(const ControlRequest& request) {
    return request.type == ControlRequestType::Exec ? 3 : 0;
}

std::string encode_control_request(const ControlRequest& request) {
    Json object = envelope(to_string(request.type));
    switch (request.type) {
        case ControlRequestType::Kill: object["signal"] = request.signal; break;
        case ControlRequestType::Stop: object["grace_ms"] = request.grace_ms; break;
        case ControlRequestType::Wait:
        case ControlRequestType::Attach:
        case ControlRequestType::Inspect: break;
        case ControlRequestType::Exec:
            object["argv"] = words_to_wire(request.argv);
            object["env"] = words_to_wire(request.env);
            object["cwd"] = bytes_to_wire(request.cwd);
            object["terminal_fds"] = request.terminal_fds;
            break;
    }
    return object.dump();
}

std::string encode_control_reply(const ControlReply& reply) {
    Json object = envelope(kReplyNames[static_cast<std::size_t>(reply.type)]);
    if (reply.type == ControlReplyType::Exited) object["exit_code"] = reply.exit_code;
    if (reply.type == ControlReplyType::Attached) object["tty"] = reply.tty;
    if (reply.type == ControlReplyType::Inspected) object["document"] = Json::parse(reply.document, nullptr, false);
    if (reply.type == ControlReplyType::Error) {
        // Messages name paths, which need not be UTF-8: shown, not kept byte for byte.
        object["stage"] = to_string(reply.stage);
        object["error"] = reply.error;
        object["hint"] = reply.hint;
        object["exit_code"] = reply.exit_code;
    }
    return object.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::optional<ControlRequest> decode_control_request(const std::string& packet, std::string& problem) {
    Json object;
    auto index = open_envelope(packet, kRequestNames, std::size(kRequestNames), object, problem);
    if (!index) return std::nullopt;
    ControlRequest request;
    request.type = static_cast<ControlRequestType>(*index);
    Reader read{object, problem};
    bool ok = true;
    switch (request.type) {
        case ControlRequestType::Kill:
            ok = read.only({"version", "type", "signal"}) && read.integer("signal", request.signal, 1, 64);
            break;
        case ControlRequestType::Stop:
            ok = read.only({"version", "type", "grace_ms"}) && read.integer("grace_ms", request.grace_ms, 0, kMaxGraceMs);
            break;
        case ControlRequestType::Wait:
        case ControlRequestType::Attach:
        case ControlRequestType::Inspect: ok = read.only({"version", "type"}); break;
        case ControlRequestType::Exec:
            ok = read.only({"version", "type", "argv", "env", "cwd", "terminal_fds"}) &&
                 read.texts("argv", request.argv, true) && read.texts("env", request.env, false) &&
                 read.text("cwd", request.cwd, false, true) &&
                 read.integer("terminal_fds", request.terminal_fds, 0, 7, false);
            if (ok && !request.cwd.empty() && request.cwd[0] != '/') ok = read.fail("\"cwd\" is not absolute");
            for (const auto& var : request.env)
                if (ok && (var.find('=') == std::string::npos || var[0] == '='))
                    ok = read.fail("\"env\" holds \"" + var + "\", not NAME=VALUE");
            break;
    }
    if (!ok) return std::nullopt;
    return request;
}

std::optional<ControlReply> decode_control_reply(const std::string& packet, std::string& problem) {
    Json object;
    auto index = open_envelope(packet, kReplyNames, std::size(kReplyNames), object, problem);
    if (!index) return std::nullopt;
    ControlReply reply;
    reply.type = static_cast<ControlReplyType>(*index);
    Reader read{object, problem};
    bool ok = true;
    switch (reply.type) {
        case ControlReplyType::Accepted:
        case ControlReplyType::Started: ok = read.only({"version", "type"}); break;
        case ControlReplyType::Exited:
            ok = read.only({"version", "type", "exit_code"}) && read.integer("exit_code", reply.exit_code, 0, 255);
            break;
        case ControlReplyType::Inspected:
            ok = read.only({"version", "type", "document"}) && read.object_text("document", reply.document);
            break;
        case ControlReplyType::Attached: ok = read.only({"version", "type", "tty"}) && read.boolean("tty", reply.tty); break;
        case ControlReplyType::Error: {
            std::string stage;
            ok = read.only({"version", "type", "stage", "error", "hint", "exit_code"}) && read.text("stage", stage, true) &&
                 read.text("error", reply.error, true) && read.text("hint", reply.hint, false) &&
                 read.integer("exit_code", reply.exit_code, 1, 255);
            if (ok && !parse_stage(stage)) ok = read.fail("unknown stage \"" + stage + "\"");
            if (ok) reply.stage = *parse_stage(stage);
            break;
        }
    }
    if (!ok) return std::nullopt;
    return reply;
}

}  // namespace sb
