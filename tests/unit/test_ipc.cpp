// IPC: message encoding, the supervisor's handshake state machine, and the channel over a real
// SOCK_SEQPACKET socketpair (with fd passing).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <limits>

#include "exitcode.hpp"
#include "init/init.hpp"
#include "ipc/channel.hpp"
#include "ipc/handshake.hpp"
#include "ipc/message.hpp"
#include "sys/error.hpp"
#include "sys/syscalls.hpp"

using sb::Handshake;
using sb::HandshakeState;
using sb::Message;
using sb::MessageType;
using Bytes = std::vector<std::uint8_t>;

namespace Catch {
template <>
struct StringMaker<sb::Message> {
    static std::string convert(const sb::Message& m) {
        std::string out = std::string("{") + sb::to_string(m.type) + ", " + std::to_string(m.int0) + ", " +
                          std::to_string(m.int1) + ", [";
        for (const auto& t : m.text) out += std::to_string(t.size()) + "B ";
        return out + "]}";
    }
};
template <>
struct StringMaker<HandshakeState> {
    static std::string convert(HandshakeState s) { return sb::to_string(s); }
};
}  // namespace Catch

namespace {

const MessageType kAllTypes[] = {MessageType::MapsWritten,
                                 MessageType::SetupFailed,    MessageType::PayloadStarted,
                                 MessageType::ExecFailed,     MessageType::PayloadExited,
                                 MessageType::NetworkReady,   MessageType::NetworkStarted,
                                 MessageType::SeccompListener, MessageType::NetworkNamespace,
                                 MessageType::PayloadExecuted, MessageType::SandboxNetwork};

std::optional<Message> decode(const Bytes& bytes) { return sb::decode(bytes.data(), bytes.size()); }

// A SetupFailed envelope with any stage text (the handshake does not read it; receive checks it).
Message setup_failed(const std::string& stage, const std::string& message, int err, const std::string& hint) {
    return Message{MessageType::SetupFailed, err, 0, {stage, message, hint}};
}

void put32(Bytes& out, std::uint32_t value) {
    std::uint8_t raw[4];
    std::memcpy(raw, &value, 4);
    out.insert(out.end(), raw, raw + 4);
}

// A header by hand: magic, type, count, int0, int1.
Bytes header(std::uint8_t magic, std::uint8_t type, std::uint8_t count, std::int32_t int0 = 0, std::int32_t int1 = 0) {
    Bytes out{magic, type, count};
    put32(out, static_cast<std::uint32_t>(int0));
    put32(out, static_cast<std::uint32_t>(int1));
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Message encoding

TEST_CASE("ipc: encode/decode round trip for every message type", "[ipc][message]") {
    const std::string binary("\x00\x01\xff\x5b\n\0z", 7);
    for (MessageType type : kAllTypes) {
        INFO("type " << sb::to_string(type));
        for (const auto& text : std::vector<std::vector<std::string>>{
                 {}, {""}, {"stage", "", "hint"}, {binary, std::string(300, 'x'), "\xc3\xa9"}}) {
            Message message{type, -12345, 2147483647, text};
            Bytes bytes = sb::encode(message);
            std::size_t expected = 11;
            for (const auto& t : text) expected += 4 + t.size();
            CHECK(bytes.size() == expected);
            CHECK(bytes[0] == 0x5b);
            CHECK(bytes[1] == static_cast<std::uint8_t>(type));
            CHECK(bytes[2] == text.size());
            auto decoded = decode(bytes);
            REQUIRE(decoded);
            CHECK(*decoded == message);
            CHECK(decoded->text == text);
        }
    }
    Message extremes{MessageType::PayloadExited, std::numeric_limits<std::int32_t>::min(), -1, {}};
    CHECK(decode(sb::encode(extremes)) == std::optional<Message>(extremes));
}

TEST_CASE("ipc: the exact bytes of a message", "[ipc][message]") {
    Bytes bytes = sb::encode(Message{MessageType::ExecFailed, 2, 0, {"ab"}});
    Bytes expected = header(0x5b, 5, 1, 2, 0);
    put32(expected, 2);
    expected.push_back('a');
    expected.push_back('b');
    CHECK(bytes == expected);
}

TEST_CASE("ipc: decode rejects malformed bytes", "[ipc][message]") {
    Bytes good = sb::encode(Message{MessageType::SetupFailed, 1, 2, {"one", "two"}});
    REQUIRE(decode(good));

    SECTION("wrong magic") {
        Bytes bad = good;
        bad[0] = 0x5c;
        CHECK_FALSE(decode(bad));
    }
    SECTION("unknown type") {
        for (std::uint8_t type : {0, 2, 13, 255}) {
            Bytes bad = good;
            bad[1] = type;
            CHECK_FALSE(decode(bad));
        }
    }
    SECTION("truncated header") {
        for (std::size_t size = 0; size < 11; ++size) CHECK_FALSE(sb::decode(good.data(), size));
        CHECK(sb::decode(header(0x5b, 1, 0).data(), 11));
    }
    SECTION("truncated anywhere in the strings") {
        for (std::size_t size = 11; size < good.size(); ++size) {
            INFO("size " << size);
            CHECK_FALSE(sb::decode(good.data(), size));
        }
    }
    SECTION("a string length past the end") {
        Bytes bad = header(0x5b, 3, 1);
        put32(bad, 4);
        bad.insert(bad.end(), {'a', 'b', 'c'});
        CHECK_FALSE(decode(bad));
        Bytes huge = header(0x5b, 3, 1);
        put32(huge, 0xffffffffu);
        huge.push_back('a');
        CHECK_FALSE(decode(huge));
    }
    SECTION("more strings announced than present") {
        Bytes bad = good;
        bad[2] = 3;
        CHECK_FALSE(decode(bad));
    }
    SECTION("trailing bytes") {
        Bytes bad = good;
        bad.push_back(0);
        CHECK_FALSE(decode(bad));
        Bytes fewer = good;
        fewer[2] = 1;  // one string announced, the second is then trailing garbage
        CHECK_FALSE(decode(fewer));
    }
}

TEST_CASE("ipc: an over-long text is cut so the message fits and decodes", "[ipc][message]") {
    Message message{MessageType::ExecFailed, 2, 0, {std::string(20000, 'c')}};
    Bytes bytes = sb::encode(message);
    CHECK(bytes.size() == sb::kMaxMessageSize);
    auto decoded = decode(bytes);
    REQUIRE(decoded);
    REQUIRE(decoded->text.size() == 1);
    CHECK(decoded->text[0] == std::string(sb::kMaxMessageSize - 15, 'c'));
    CHECK(decoded->int0 == 2);
}

// setup_failed() carries stage, message and hint; a long message must not push the whole
// datagram over kMaxMessageSize (receive_message would then see MSG_TRUNC).
TEST_CASE("ipc: several texts with a long first one still fit kMaxMessageSize", "[ipc][message]") {
    Message message = setup_failed("mount", std::string(10000, 'm'), EPERM, "the hint");
    Bytes bytes = sb::encode(message);
    CHECK(bytes.size() <= sb::kMaxMessageSize);
    auto decoded = decode(bytes);
    REQUIRE(decoded);
    CHECK(decoded->text.size() == 3);
}

TEST_CASE("ipc: setup_failed and names", "[ipc][message]") {
    Message m = setup_failed("mount", "mount /usr: Permission denied", EPERM, "try X");
    CHECK(m.type == MessageType::SetupFailed);
    CHECK(m.int0 == EPERM);
    CHECK(m.int1 == 0);
    CHECK(m.text == std::vector<std::string>{"mount", "mount /usr: Permission denied", "try X"});
    CHECK(std::string(sb::to_string(MessageType::MapsWritten)) == "maps-written");
    CHECK(std::string(sb::to_string(MessageType::SetupFailed)) == "setup-failed");
    CHECK(std::string(sb::to_string(MessageType::PayloadStarted)) == "payload-started");
    CHECK(std::string(sb::to_string(MessageType::ExecFailed)) == "exec-failed");
    CHECK(std::string(sb::to_string(MessageType::PayloadExited)) == "payload-exited");
    CHECK(std::string(sb::to_string(MessageType::SeccompListener)) == "seccomp-listener");
    CHECK(std::string(sb::to_string(MessageType::NetworkNamespace)) == "network-namespace");
    CHECK(std::string(sb::to_string(static_cast<MessageType>(2))) == "unknown");  // InitStarted's, retired
    CHECK(std::string(sb::to_string(MessageType::PayloadExecuted)) == "payload-executed");
    CHECK(std::string(sb::to_string(MessageType::SandboxNetwork)) == "sandbox-network");
    CHECK(std::string(sb::to_string(static_cast<MessageType>(13))) == "unknown");
}

// ---------------------------------------------------------------------------------------------
// Handshake

namespace {

using sb::MessageVerdict;
using sb::NetworkState;

Message msg(MessageType type, int int0 = 0, int int1 = 0) { return Message{type, int0, int1, {}}; }

bool accepted(const MessageVerdict& verdict) { return verdict.kind == MessageVerdict::Act; }
bool ignored(const MessageVerdict& verdict) { return verdict.kind == MessageVerdict::Ignore; }
std::string rejection(const MessageVerdict& verdict) {
    return verdict.kind == MessageVerdict::Reject ? verdict.error : "(not rejected)";
}

// Drives a handshake to the given state by the normal path.
Handshake at_state(HandshakeState target, bool with_network = false) {
    Handshake h(with_network);
    if (target == HandshakeState::WaitingForMaps) return h;
    h.maps_written();
    if (with_network) {
        REQUIRE(accepted(h.receive(msg(MessageType::NetworkReady))));
        h.network_started();
    }
    if (target == HandshakeState::SettingUp) return h;
    REQUIRE(accepted(h.receive(msg(MessageType::PayloadStarted))));
    if (target == HandshakeState::Running) return h;
    REQUIRE(accepted(h.receive(msg(MessageType::PayloadExited, 0, 0))));
    REQUIRE(h.state() == HandshakeState::Finished);
    return h;
}

// What S receives from I and W in one run, in their order; S answers NetworkReady by starting
// the network (network_started), as the supervisor does.
struct Run {
    const char* name;
    bool with_network;
    std::vector<Message> from_init;
    HandshakeState ends;
    int exit_code;
};

std::vector<Run> legal_runs() {
    Message setup_failure = setup_failed("mount", "mount /x: No such file or directory", 0, "");
    Message exec_failed{MessageType::ExecFailed, ENOENT, 0, {"/nope"}};
    std::vector<Run> runs;
    for (bool network : {false, true}) {
        std::vector<Message> prefix;
        if (network) prefix.push_back(msg(MessageType::NetworkReady));
        auto with = [&](std::vector<Message> rest) {
            std::vector<Message> all = prefix;
            all.insert(all.end(), rest.begin(), rest.end());
            return all;
        };
        runs.push_back({"exits 3", network,
                        with({msg(MessageType::PayloadStarted), msg(MessageType::PayloadExited, 0, 3)}),
                        HandshakeState::Finished, 3});
        runs.push_back({"killed by SIGTERM", network,
                        with({msg(MessageType::PayloadStarted), msg(MessageType::PayloadExited, 1, SIGTERM)}),
                        HandshakeState::Finished, 143});
        runs.push_back({"exec fails", network,
                        with({msg(MessageType::PayloadStarted), exec_failed, msg(MessageType::PayloadExited, 0, 127)}),
                        HandshakeState::Failed, 127});
        runs.push_back({"the payload's setup fails", network,
                        with({msg(MessageType::PayloadStarted), setup_failure, msg(MessageType::PayloadExited, 0, 125)}),
                        HandshakeState::Failed, 125});
        runs.push_back({"init's setup fails", network, with({setup_failure}), HandshakeState::Failed, 125});
        // Log and learn modes: the filter's listener, from I (it loads the filter before the
        // fork) or from W (it loads the filter itself, for a profile's own [seccomp] choices).
        Message listener = msg(MessageType::SeccompListener);
        runs.push_back({"listener from init", network,
                        with({listener, msg(MessageType::PayloadStarted), msg(MessageType::PayloadExited, 0, 0)}),
                        HandshakeState::Finished, 0});
        runs.push_back({"listener from the payload", network,
                        with({msg(MessageType::PayloadStarted), listener, msg(MessageType::PayloadExited, 0, 0)}),
                        HandshakeState::Finished, 0});
        runs.push_back({"listener from init, exec fails", network,
                        with({listener, msg(MessageType::PayloadStarted), exec_failed,
                              msg(MessageType::PayloadExited, 0, 127)}),
                        HandshakeState::Failed, 127});
        runs.push_back({"still running", network, with({msg(MessageType::PayloadStarted)}), HandshakeState::Running, 125});
        runs.push_back({"still setting up", network, with({}), HandshakeState::SettingUp, 125});
    }
    // I fails before it sends its frames fd.
    runs.push_back({"init fails before the network", true, {setup_failure}, HandshakeState::Failed, 125});
    return runs;
}

}  // namespace

TEST_CASE("handshake: the happy path", "[ipc][handshake]") {
    Handshake h;
    CHECK(h.state() == HandshakeState::WaitingForMaps);
    CHECK(h.network() == NetworkState::None);
    CHECK(h.exit_code() == 125);
    h.maps_written();
    CHECK(h.state() == HandshakeState::SettingUp);
    CHECK(accepted(h.receive(msg(MessageType::PayloadStarted))));
    CHECK(h.state() == HandshakeState::Running);
    CHECK(accepted(h.receive(msg(MessageType::PayloadExited, 0, 42))));
    CHECK(h.state() == HandshakeState::Finished);
    CHECK(h.exit_code() == 42);
}

TEST_CASE("handshake: the happy path with the user-mode network", "[ipc][handshake]") {
    Handshake h(true);
    CHECK(h.network() == NetworkState::Awaited);
    h.maps_written();
    CHECK(accepted(h.receive(msg(MessageType::NetworkReady))));
    CHECK(h.network() == NetworkState::Ready);
    h.network_started();
    CHECK(h.network() == NetworkState::Started);
    CHECK(accepted(h.receive(msg(MessageType::PayloadStarted))));
    CHECK(accepted(h.receive(msg(MessageType::PayloadExited, 0, 0))));
    CHECK(h.state() == HandshakeState::Finished);
    CHECK(h.exit_code() == 0);
}

// Every legal run, message by message, ends as it should.
TEST_CASE("handshake: every legal run", "[ipc][handshake]") {
    for (const Run& run : legal_runs()) {
        INFO(run.name << (run.with_network ? " (network)" : ""));
        Handshake h(run.with_network);
        h.maps_written();
        for (const Message& message : run.from_init) {
            INFO("receiving " << sb::to_string(message.type) << " while " << h.describe());
            MessageVerdict verdict = h.receive(message);
            CHECK(verdict.kind != MessageVerdict::Reject);
            if (message.type == MessageType::NetworkReady && accepted(verdict)) h.network_started();
        }
        CHECK(h.state() == run.ends);
        CHECK(h.exit_code() == run.exit_code);
    }
}

TEST_CASE("handshake: I's failure at once (N's comes the same way, through I)", "[ipc][handshake]") {
    Handshake h;
    h.maps_written();
    Message failure = setup_failed("namespaces", "unshare net: Operation not permitted", EPERM, "");
    CHECK(accepted(h.receive(failure)));
    CHECK(h.state() == HandshakeState::Failed);
    CHECK(h.failure() == failure);
}

TEST_CASE("handshake: the payload killed by a signal", "[ipc][handshake]") {
    Handshake h = at_state(HandshakeState::Running);
    CHECK(accepted(h.receive(msg(MessageType::PayloadExited, 1, SIGTERM))));
    CHECK(h.state() == HandshakeState::Finished);
    CHECK(h.exit_code() == 143);
    Handshake k = at_state(HandshakeState::Running);
    CHECK(accepted(k.receive(msg(MessageType::PayloadExited, 1, SIGKILL))));
    CHECK(k.exit_code() == 137);
}

TEST_CASE("handshake: SetupFailed in each state after the maps fails with 125", "[ipc][handshake]") {
    for (HandshakeState state : {HandshakeState::SettingUp, HandshakeState::Running}) {
        INFO("state " << sb::to_string(state));
        Handshake h = at_state(state);
        Message failure = setup_failed("pivot_root", "pivot_root: Invalid argument", EINVAL, "hint");
        CHECK(accepted(h.receive(failure)));
        CHECK(h.state() == HandshakeState::Failed);
        CHECK(h.exit_code() == 125);
        CHECK(h.failure() == failure);
    }
}

TEST_CASE("handshake: ExecFailed gives 127 for ENOENT and 126 for EACCES", "[ipc][handshake]") {
    Handshake missing = at_state(HandshakeState::Running);
    Message enoent{MessageType::ExecFailed, ENOENT, 0, {"/bin/nope"}};
    CHECK(accepted(missing.receive(enoent)));
    CHECK(missing.state() == HandshakeState::Failed);
    CHECK(missing.exit_code() == 127);
    CHECK(missing.failure() == enoent);

    Handshake denied = at_state(HandshakeState::Running);
    CHECK(accepted(denied.receive(Message{MessageType::ExecFailed, EACCES, 0, {"/etc/passwd"}})));
    CHECK(denied.state() == HandshakeState::Failed);
    CHECK(denied.exit_code() == 126);
}

TEST_CASE("handshake: illegal sequences are rejected and change nothing", "[ipc][handshake]") {
    SECTION("anything before the maps") {
        for (MessageType type : kAllTypes) {
            INFO("type " << sb::to_string(type));
            Handshake h;
            CHECK(rejection(h.receive(msg(type))) ==
                  std::string("unexpected message ") + sb::to_string(type) + " while waiting-for-maps");
            CHECK(h.state() == HandshakeState::WaitingForMaps);
        }
    }
    SECTION("ExecFailed or PayloadExited before PayloadStarted") {
        Handshake h = at_state(HandshakeState::SettingUp);
        CHECK(rejection(h.receive(msg(MessageType::ExecFailed, ENOENT))) ==
              "unexpected message exec-failed while setting-up");
        CHECK(rejection(h.receive(msg(MessageType::PayloadExited))) ==
              "unexpected message payload-exited while setting-up");
        CHECK(h.state() == HandshakeState::SettingUp);
        CHECK(h.exit_code() == 125);
    }
    SECTION("PayloadStarted twice") {
        Handshake h = at_state(HandshakeState::Running);
        CHECK(rejection(h.receive(msg(MessageType::PayloadStarted))) == "unexpected message payload-started while running");
        CHECK(h.state() == HandshakeState::Running);
    }
    SECTION("MapsWritten, NetworkStarted and NetworkNamespace are never received") {
        for (MessageType type : {MessageType::MapsWritten, MessageType::NetworkStarted, MessageType::NetworkNamespace}) {
            for (HandshakeState state : {HandshakeState::SettingUp, HandshakeState::Running}) {
                INFO("type " << sb::to_string(type) << ", state " << sb::to_string(state));
                Handshake h = at_state(state);
                CHECK(rejection(h.receive(msg(type))) ==
                      std::string("unexpected message ") + sb::to_string(type) + " while " + sb::to_string(state));
                CHECK(h.state() == state);
            }
        }
    }
    SECTION("maps_written later is a no-op") {
        Handshake h = at_state(HandshakeState::Running);
        h.maps_written();
        CHECK(h.state() == HandshakeState::Running);
    }
}

TEST_CASE("handshake: the network", "[ipc][handshake]") {
    SECTION("NetworkReady without the user-mode network") {
        Handshake h = at_state(HandshakeState::SettingUp);
        CHECK(rejection(h.receive(msg(MessageType::NetworkReady))) == "unexpected message network-ready while setting-up");
        CHECK(h.network() == NetworkState::None);
    }
    SECTION("NetworkReady twice") {
        Handshake h = at_state(HandshakeState::SettingUp, true);
        CHECK(rejection(h.receive(msg(MessageType::NetworkReady))) ==
              "unexpected message network-ready while setting-up, network started");
    }
    SECTION("NetworkReady after the payload started") {
        Handshake h = at_state(HandshakeState::Running, true);
        CHECK(!accepted(h.receive(msg(MessageType::NetworkReady))));
        CHECK(h.state() == HandshakeState::Running);
    }
    SECTION("PayloadStarted before the network: I must wait for NetworkStarted") {
        Handshake h(true);
        h.maps_written();
        CHECK(rejection(h.receive(msg(MessageType::PayloadStarted))) ==
              "unexpected message payload-started while setting-up, network awaited");
        CHECK(accepted(h.receive(msg(MessageType::NetworkReady))));
        // S has the frames fd but did not start the network (yet): still too early.
        CHECK(rejection(h.receive(msg(MessageType::PayloadStarted))) ==
              "unexpected message payload-started while setting-up, network ready");
        CHECK(h.state() == HandshakeState::SettingUp);
        h.network_started();
        CHECK(accepted(h.receive(msg(MessageType::PayloadStarted))));
    }
    SECTION("network_started before NetworkReady is a no-op") {
        Handshake h = at_state(HandshakeState::WaitingForMaps, true);
        h.maps_written();
        h.network_started();
        CHECK(h.network() == NetworkState::Awaited);
    }
}

TEST_CASE("handshake: once the outcome is known, the rest is ignored", "[ipc][handshake]") {
    SECTION("after Finished") {
        for (MessageType type : kAllTypes) {
            INFO("type " << sb::to_string(type));
            Handshake h = at_state(HandshakeState::Finished);
            CHECK(ignored(h.receive(msg(type, 1, 9))));
            CHECK(h.state() == HandshakeState::Finished);
            CHECK(h.exit_code() == 0);
        }
    }
    SECTION("after Failed") {
        for (MessageType type : kAllTypes) {
            INFO("type " << sb::to_string(type));
            Handshake h = at_state(HandshakeState::Running);
            REQUIRE(accepted(h.receive(msg(MessageType::ExecFailed, ENOENT))));
            CHECK(ignored(h.receive(msg(type, 0, 3))));
            CHECK(h.state() == HandshakeState::Failed);
            CHECK(h.exit_code() == 127);
        }
    }
}

TEST_CASE("handshake: state names", "[ipc][handshake]") {
    CHECK(std::string(sb::to_string(HandshakeState::WaitingForMaps)) == "waiting-for-maps");
    CHECK(std::string(sb::to_string(HandshakeState::SettingUp)) == "setting-up");
    CHECK(std::string(sb::to_string(HandshakeState::Running)) == "running");
    CHECK(std::string(sb::to_string(HandshakeState::Finished)) == "finished");
    CHECK(std::string(sb::to_string(HandshakeState::Failed)) == "failed");
    CHECK(std::string(sb::to_string(NetworkState::Started)) == "started");
}

// ---------------------------------------------------------------------------------------------
// Channel over a real socketpair

namespace {

struct Pipe {
    int read = -1, write = -1;
    Pipe() {
        int fds[2];
        REQUIRE(::pipe(fds) == 0);  // deliberately without O_CLOEXEC: the receiver must add it
        read = fds[0];
        write = fds[1];
    }
    ~Pipe() {
        if (read >= 0) ::close(read);
        if (write >= 0) ::close(write);
    }
};

bool same_file(int a, int b) {
    struct stat sa {}, sb_ {};
    REQUIRE(::fstat(a, &sa) == 0);
    REQUIRE(::fstat(b, &sb_) == 0);
    return sa.st_dev == sb_.st_dev && sa.st_ino == sb_.st_ino;
}

}  // namespace

TEST_CASE("channel: a message with an attached pipe end", "[ipc][channel]") {
    auto [left, right] = sb::seqpacket_pair();
    REQUIRE(left.valid());
    REQUIRE(right.valid());
    CHECK((::fcntl(left.get(), F_GETFD) & FD_CLOEXEC) != 0);

    Pipe pipe;
    REQUIRE((::fcntl(pipe.read, F_GETFD) & FD_CLOEXEC) == 0);
    Message sent{MessageType::NetworkNamespace, 0, 0, {}};
    sb::send_message(left.get(), sent, {pipe.read});

    auto received = sb::receive_message(right.get());
    REQUIRE(received);
    CHECK(received->message == sent);
    REQUIRE(received->fds.size() == 1);
    int fd = received->fds[0].get();
    CHECK(fd != pipe.read);
    CHECK(same_file(fd, pipe.read));
    CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);

    // The received fd reads what is written into the pipe.
    const char text[] = "through the socket";
    REQUIRE(::write(pipe.write, text, sizeof text) == static_cast<ssize_t>(sizeof text));
    char buffer[64] = {};
    CHECK(::read(fd, buffer, sizeof buffer) == static_cast<ssize_t>(sizeof text));
    CHECK(std::string(buffer) == "through the socket");
}

TEST_CASE("channel: messages without fds, in order, both directions", "[ipc][channel]") {
    auto [left, right] = sb::seqpacket_pair();
    sb::send_message(left.get(), Message{MessageType::MapsWritten, 0, 0, {}});
    sb::send_message(right.get(), sb::to_message(sb::PayloadStartedFields{}));
    sb::send_message(left.get(), setup_failed("mount", "m", EIO, "h"));
    sb::send_message_noexcept(left.get(), Message{MessageType::PayloadExited, 1, 9, {}});

    auto a = sb::receive_message(right.get());
    REQUIRE(a);
    CHECK(a->message.type == MessageType::MapsWritten);
    CHECK(a->fds.empty());
    auto b = sb::receive_message(right.get());
    REQUIRE(b);
    CHECK(b->message == setup_failed("mount", "m", EIO, "h"));
    auto c = sb::receive_message(right.get());
    REQUIRE(c);
    CHECK(c->message == (Message{MessageType::PayloadExited, 1, 9, {}}));
    auto back = sb::receive_message(left.get());
    REQUIRE(back);
    CHECK(back->message.type == MessageType::PayloadStarted);
}

TEST_CASE("channel: the largest message passes whole", "[ipc][channel]") {
    auto [left, right] = sb::seqpacket_pair();
    Message big{MessageType::ExecFailed, ENOENT, 0, {std::string(100000, 'x')}};
    sb::send_message(left.get(), big);
    auto received = sb::receive_message(right.get());
    REQUIRE(received);
    REQUIRE(received->message.text.size() == 1);
    CHECK(received->message.text[0] == std::string(sb::kMaxMessageSize - 15, 'x'));
}

TEST_CASE("channel: receive returns nullopt after the peer closes", "[ipc][channel]") {
    auto [left, right] = sb::seqpacket_pair();
    sb::send_message(left.get(), sb::to_message(sb::PayloadStartedFields{}));
    left.reset();
    auto first = sb::receive_message(right.get());
    REQUIRE(first);
    CHECK(first->message.type == MessageType::PayloadStarted);
    CHECK_FALSE(sb::receive_message(right.get()));
    CHECK_FALSE(sb::receive_message(right.get()));
}

TEST_CASE("channel: a garbage datagram raises SetupError", "[ipc][channel]") {
    auto [left, right] = sb::seqpacket_pair();
    const char garbage[] = "this is not a message";
    REQUIRE(::send(left.get(), garbage, sizeof garbage, 0) == static_cast<ssize_t>(sizeof garbage));
    try {
        sb::receive_message(right.get());
        FAIL("no SetupError");
    } catch (const sb::SetupError& error) {
        CHECK(error.stage() == sb::Stage::Protocol);
        CHECK(error.message() == "malformed message on the sync socket");
        CHECK(error.exit_code() == 125);
    }
    // The channel stays usable for the next datagram.
    sb::send_message(left.get(), Message{MessageType::MapsWritten, 0, 0, {}});
    auto next = sb::receive_message(right.get());
    REQUIRE(next);
    CHECK(next->message.type == MessageType::MapsWritten);
}

TEST_CASE("channel: an over-sized datagram raises SetupError (truncated)", "[ipc][channel]") {
    auto [left, right] = sb::seqpacket_pair();
    Bytes big = sb::encode(Message{MessageType::SetupFailed, 0, 0, {std::string(100, 'a')}});
    big.resize(sb::kMaxMessageSize + 100, 'z');
    REQUIRE(::send(left.get(), big.data(), big.size(), 0) == static_cast<ssize_t>(big.size()));
    CHECK_THROWS_MATCHES(sb::receive_message(right.get()), sb::SetupError,
                         Catch::Matchers::Message("protocol: truncated message on the sync socket"));
}

TEST_CASE("channel: sending on a closed socket is a SysError", "[ipc][channel]") {
    auto [left, right] = sb::seqpacket_pair();
    right.reset();
    try {
        sb::send_message(left.get(), Message{MessageType::MapsWritten, 0, 0, {}});
        FAIL("no SysError");
    } catch (const sb::SysError& error) {
        CHECK(error.op() == "sendmsg");
        CHECK(error.subject() == "(maps-written)");
        CHECK(error.error_number() == EPIPE);
    }
    CHECK_NOTHROW(sb::send_message_noexcept(left.get(), Message{MessageType::MapsWritten, 0, 0, {}}));
}

TEST_CASE("handshake: the seccomp listener comes once, from init before the payload or from the payload",
          "[ipc][handshake]") {
    Message listener{MessageType::SeccompListener, 0, 0, {}};
    SECTION("from I, before it announces the payload") {
        Handshake h = at_state(HandshakeState::SettingUp);
        CHECK(accepted(h.receive(listener)));
        CHECK(h.state() == HandshakeState::SettingUp);
        CHECK(accepted(h.receive(msg(MessageType::PayloadStarted))));
        // One filter, one listener: a second one is a protocol error.
        CHECK(rejection(h.receive(listener)) == "unexpected message seccomp-listener while running");
        CHECK(h.state() == HandshakeState::Running);
    }
    SECTION("from W, after I announced the payload") {
        Handshake h;
        h.maps_written();
        REQUIRE(accepted(h.receive(msg(MessageType::PayloadStarted))));
        CHECK(accepted(h.receive(listener)));
        CHECK(rejection(h.receive(listener)) == "unexpected message seccomp-listener while running");
    }
    SECTION("not before the network started: I loads the filter after it waited for it") {
        Handshake h(true);
        h.maps_written();
        CHECK(rejection(h.receive(listener)) ==
              "unexpected message seccomp-listener while setting-up, network awaited");
        CHECK(accepted(h.receive(msg(MessageType::NetworkReady))));
        CHECK(!accepted(h.receive(listener)));
        h.network_started();
        CHECK(accepted(h.receive(listener)));
    }
    SECTION("once the outcome is known it is ignored") {
        Handshake h = at_state(HandshakeState::Running);
        REQUIRE(accepted(h.receive(msg(MessageType::PayloadExited, 0, 0))));
        CHECK(h.receive(listener).kind == MessageVerdict::Ignore);
    }
}

TEST_CASE("stages: one table names them; a child's stage is checked, not trusted", "[ipc][stage]") {
    for (auto stage : {sb::Stage::Setup, sb::Stage::UserNamespace, sb::Stage::IdMap, sb::Stage::Mount, sb::Stage::Seccomp,
                       sb::Stage::Landlock, sb::Stage::Exec, sb::Stage::Stats})
        CHECK(sb::parse_stage(sb::to_string(stage)) == stage);
    CHECK(std::string(sb::to_string(sb::Stage::UserNamespace)) == "user namespace");
    CHECK(std::string(sb::to_string(sb::Stage::IdMap)) == "id map");
    CHECK_FALSE(sb::parse_stage("mount\nsandbox: fake"));
    CHECK_FALSE(sb::parse_stage(""));
    CHECK(std::string(sb::SetupError(sb::Stage::Mount, "x").what()) == "mount: x");
}

// ---------------------------------------------------------------------------------------------
// Typed messages (issue 9): fields by name, shapes checked on receipt, several fds a message

TEST_CASE("messages: typed fields survive the envelope", "[ipc][typed]") {
    sb::SetupFailedFields failure{sb::Stage::IdMap, "newuidmap failed", "check /etc/subuid", EPERM};
    auto setup = sb::setup_failed_fields(*decode(sb::encode(sb::to_message(failure))));
    CHECK(setup.stage == sb::Stage::IdMap);
    CHECK(setup.message == "newuidmap failed");
    CHECK(setup.hint == "check /etc/subuid");
    CHECK(setup.error == EPERM);  // the child's errno travels (it was always 0)
    auto exec = sb::exec_failed_fields(sb::to_message(sb::ExecFailedFields{EACCES, "/etc/passwd"}));
    CHECK(exec.error == EACCES);
    CHECK(exec.command == "/etc/passwd");
    auto exited = sb::payload_exited_fields(sb::to_message(sb::PayloadExitedFields{true, 9}));
    CHECK(exited.signaled);
    CHECK(exited.value == 9);
}

TEST_CASE("messages: each type's shape (texts, fds, values)", "[ipc][typed]") {
    CHECK_FALSE(sb::shape_problem(msg(MessageType::NetworkNamespace), 1));
    CHECK(sb::shape_problem(msg(MessageType::NetworkNamespace), 0) == std::string("0 fds (expects 1)"));
    CHECK(sb::shape_problem(msg(MessageType::NetworkNamespace), 2) == std::string("2 fds (expects 1)"));
    CHECK(sb::shape_problem(Message{static_cast<MessageType>(2), 0, 0, {}}, 1) == std::string("an unknown type"));
    Message started = sb::to_message(sb::PayloadStartedFields{});
    CHECK_FALSE(sb::shape_problem(started, 0));
    CHECK_FALSE(sb::shape_problem(started, 1));
    CHECK(sb::shape_problem(started, 2) == std::string("2 fds (expects 0 or 1)"));
    CHECK(sb::shape_problem(msg(MessageType::PayloadStarted), 0) == std::string("0 texts (expects 7)"));
    started.text[5] = "40265x";
    CHECK(sb::shape_problem(started, 0) == std::string("a namespace id \"40265x\""));
    started.text[5] = "18446744073709551616";  // one past the largest 64-bit number
    CHECK(sb::shape_problem(started, 0));
    CHECK(sb::shape_problem(msg(MessageType::SeccompListener), 0));
    CHECK(sb::shape_problem(msg(MessageType::MapsWritten), 1));
    CHECK(sb::shape_problem(msg(MessageType::ExecFailed), 0) == std::string("0 texts (expects 1)"));
    CHECK(sb::shape_problem(setup_failed("pivot_root", "x", 0, ""), 0) == std::string("no stage named \"pivot_root\""));
    CHECK(sb::shape_problem(setup_failed("mount", "x", -1, ""), 0));
    CHECK_FALSE(sb::shape_problem(setup_failed("mount", "x", EPERM, ""), 0));
    CHECK(sb::shape_problem(sb::to_message(sb::PayloadExitedFields{false, 256}), 0));
    CHECK(sb::shape_problem(Message{MessageType::PayloadExited, 2, 0, {}}, 0));
}

TEST_CASE("channel: several fds travel with one message, in order", "[ipc][channel][typed]") {
    auto [left, right] = sb::seqpacket_pair();
    Pipe first, second;
    // PayloadStarted takes at most one: over the limit is refused on receipt, and both fds close.
    sb::send_message(left.get(), sb::to_message(sb::PayloadStartedFields{}), {first.read, -1, second.read});
    CHECK_THROWS_MATCHES(sb::receive_message(right.get()), sb::SetupError,
                         Catch::Matchers::Message("protocol: payload-started with 2 fds (expects 0 or 1)"));
    // An absent optional fd (-1) is skipped.
    sb::send_message(left.get(), sb::to_message(sb::PayloadStartedFields{}), {-1});
    auto none = sb::receive_message(right.get());
    REQUIRE(none);
    CHECK(none->fds.empty());
    CHECK_FALSE(none->take_fd().valid());
    sb::send_message(left.get(), Message{MessageType::NetworkNamespace, 0, 0, {}}, {second.read});
    auto one = sb::receive_message(right.get());
    REQUIRE(one);
    sb::UniqueFd taken = one->take_fd();
    REQUIRE(taken.valid());
    CHECK(same_file(taken.get(), second.read));
    CHECK(one->fds.empty());
}

TEST_CASE("channel: a message without its type's fd is refused", "[ipc][channel][typed]") {
    auto [left, right] = sb::seqpacket_pair();
    sb::send_message(left.get(), Message{MessageType::NetworkReady, 0, 0, {}});
    CHECK_THROWS_MATCHES(sb::receive_message(right.get()), sb::SetupError,
                         Catch::Matchers::Message("protocol: network-ready with 0 fds (expects 1)"));
    sb::send_message(left.get(), setup_failed("no-such-stage", "x", 0, ""));
    CHECK_THROWS_MATCHES(sb::receive_message(right.get()), sb::SetupError,
                         Catch::Matchers::Message("protocol: setup-failed with no stage named \"no-such-stage\""));
}

// ---------------------------------------------------------------------------------------------
// I waiting for the maps while N may already have failed (regression: N's report was lost and
// I exited quietly, so the run said only "pid 1 exited early")

TEST_CASE("init: N's failure before the maps are written is passed on once they are", "[ipc][init]") {
    auto [supervisor, init] = sb::seqpacket_pair();
    sb::SetupFailedFields failure{sb::Stage::Namespaces, "join the sandbox's user namespace: Operation not permitted",
                                  "", EPERM};
    sb::send_message(supervisor.get(), sb::to_message(failure));  // N writes on S's end
    sb::send_message(supervisor.get(), Message{MessageType::MapsWritten, 0, 0, {}});
    try {
        sb::wait_for_maps(init.get());
        FAIL("N's failure was not passed on");
    } catch (const sb::SetupError& error) {
        CHECK(error.stage() == sb::Stage::Namespaces);
        CHECK(error.message() == "join the sandbox's user namespace: Operation not permitted");
        CHECK(error.error_number() == EPERM);
    }
    // Nothing left unread: the maps message was taken too.
    pollfd readable{init.get(), POLLIN, 0};
    CHECK(::poll(&readable, 1, 0) == 0);
}

TEST_CASE("init: the maps written, with nothing before, go on", "[ipc][init]") {
    auto [supervisor, init] = sb::seqpacket_pair();
    sb::send_message(supervisor.get(), Message{MessageType::MapsWritten, 0, 0, {}});
    CHECK_NOTHROW(sb::wait_for_maps(init.get()));
}

TEST_CASE("messages: payload-started carries the namespaces' inode numbers", "[ipc][typed]") {
    sb::PayloadStartedFields ids;
    for (std::size_t i = 0; i < sb::PayloadStartedFields::kCount; ++i) ids.namespaces[i] = 4026531835u + i;
    ids.namespaces[6] = 0;  // not known
    Message message = sb::to_message(ids);
    CHECK(message.type == MessageType::PayloadStarted);
    CHECK(message.text[0] == "4026531835");
    auto bytes = sb::encode(message);
    auto decoded = sb::decode(bytes.data(), bytes.size());
    REQUIRE(decoded);
    sb::PayloadStartedFields back = sb::payload_started_fields(*decoded);
    for (std::size_t i = 0; i < sb::PayloadStartedFields::kCount; ++i) CHECK(back.namespaces[i] == ids.namespaces[i]);
    CHECK(std::string(sb::PayloadStartedFields::kNames[5]) == "net");
}

TEST_CASE("handshake: payload-executed says the payload's exec went through", "[ipc][handshake]") {
    SECTION("while running: once") {
        Handshake h = at_state(HandshakeState::Running);
        CHECK_FALSE(h.executed());
        CHECK(accepted(h.receive(msg(MessageType::PayloadExecuted))));
        CHECK(h.executed());
        CHECK(h.state() == HandshakeState::Running);
        CHECK(rejection(h.receive(msg(MessageType::PayloadExecuted))) ==
              "unexpected message payload-executed while running");
    }
    SECTION("before the payload started: refused") {
        Handshake h = at_state(HandshakeState::SettingUp);
        CHECK(rejection(h.receive(msg(MessageType::PayloadExecuted))) ==
              "unexpected message payload-executed while setting-up");
        CHECK_FALSE(h.executed());
    }
    SECTION("after a failed exec it changes nothing: the exec did not go through") {
        Handshake h = at_state(HandshakeState::Running);
        REQUIRE(accepted(h.receive(msg(MessageType::ExecFailed, ENOENT))));
        CHECK(ignored(h.receive(msg(MessageType::PayloadExecuted))));
        CHECK_FALSE(h.executed());
        CHECK(h.exit_code() == 127);
    }
}

TEST_CASE("handshake: sandbox-network comes once, while setting up", "[ipc][handshake]") {
    Handshake h = at_state(HandshakeState::SettingUp);
    CHECK(accepted(h.receive(msg(MessageType::SandboxNetwork))));
    CHECK(rejection(h.receive(msg(MessageType::SandboxNetwork))) == "unexpected message sandbox-network while setting-up");
    Handshake running = at_state(HandshakeState::Running);
    CHECK(rejection(running.receive(msg(MessageType::SandboxNetwork))) ==
          "unexpected message sandbox-network while running");
}

TEST_CASE("message shapes: payload-executed carries nothing, sandbox-network one fd", "[ipc][typed]") {
    CHECK_FALSE(sb::shape_problem(msg(MessageType::PayloadExecuted), 0));
    CHECK(sb::shape_problem(msg(MessageType::PayloadExecuted), 1) == std::string("1 fds (expects 0)"));
    CHECK_FALSE(sb::shape_problem(msg(MessageType::SandboxNetwork), 1));
    CHECK(sb::shape_problem(msg(MessageType::SandboxNetwork), 0) == std::string("0 fds (expects 1)"));
}
