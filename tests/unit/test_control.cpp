// The control protocol (src/ipc/control.cpp) and what an exec runs as (src/plan/exec_process.cpp).
#include <signal.h>

#include <catch2/catch.hpp>

#include "ipc/control.hpp"
#include "plan/exec_process.hpp"
#include "state/inspect.hpp"
#include "term/detach_keys.hpp"

using sb::ControlReply;
using sb::ControlReplyType;
using sb::ControlRequest;
using sb::ControlRequestType;

namespace {

std::optional<ControlRequest> request_of(const std::string& packet, std::string* why = nullptr) {
    std::string problem;
    auto request = sb::decode_control_request(packet, problem);
    if (why) *why = problem;
    if (!request) CHECK_FALSE(problem.empty());
    return request;
}

std::string refusal(const std::string& packet) {
    std::string problem;
    auto request = sb::decode_control_request(packet, problem);
    CHECK_FALSE(request);
    return problem;
}

ControlRequest exec_request() {
    ControlRequest r;
    r.type = ControlRequestType::Exec;
    r.argv = {"ls", "-l", "dir with space"};
    r.env = {"A=1", "B="};
    r.cwd = "/work";
    r.terminal_fds = 5;
    return r;
}

}  // namespace

TEST_CASE("control: every request round-trips", "[control]") {
    ControlRequest kill;
    kill.type = ControlRequestType::Kill;
    kill.signal = SIGTERM;
    ControlRequest stop;
    stop.type = ControlRequestType::Stop;
    stop.grace_ms = 2500;
    ControlRequest wait;
    wait.type = ControlRequestType::Wait;
    ControlRequest enter = exec_request();
    enter.argv.clear();
    for (const auto& request : {kill, stop, wait, exec_request(), enter}) {
        INFO(sb::encode_control_request(request));
        auto decoded = request_of(sb::encode_control_request(request));
        REQUIRE(decoded);
        CHECK(*decoded == request);
    }
}

TEST_CASE("control: the exact text of a request", "[control]") {
    ControlRequest kill;
    kill.type = ControlRequestType::Kill;
    kill.signal = 9;
    CHECK(sb::encode_control_request(kill) == R"({"version":1,"type":"kill","signal":9})");
}

TEST_CASE("control: every reply round-trips", "[control]") {
    ControlReply accepted;
    ControlReply started;
    started.type = ControlReplyType::Started;
    ControlReply exited;
    exited.type = ControlReplyType::Exited;
    exited.exit_code = 143;
    ControlReply error = sb::control_error(sb::Stage::Exec, "nosuch: command not found", "check PATH", 127);
    for (const auto& reply : {accepted, started, exited, error}) {
        std::string problem;
        auto decoded = sb::decode_control_reply(sb::encode_control_reply(reply), problem);
        INFO(problem);
        REQUIRE(decoded);
        CHECK(*decoded == reply);
    }
}

TEST_CASE("control: another version is refused, naming both", "[control]") {
    std::string why = refusal(R"({"version":2,"type":"wait"})");
    CHECK(why.find("protocol version 2") != std::string::npos);
    CHECK(why.find("version 1") != std::string::npos);
    CHECK(refusal(R"({"type":"wait"})") == "no protocol version");
    CHECK(refusal(R"({"version":"1","type":"wait"})") == "no protocol version");
}

TEST_CASE("control: malformed requests are refused whole", "[control]") {
    CHECK(refusal("") == "not a JSON object");
    CHECK(refusal("[1,2]") == "not a JSON object");
    CHECK(refusal(R"({"version":1)") == "not a JSON object");
    CHECK(refusal(R"({"version":1})") == "no type");
    CHECK(refusal(R"({"version":1,"type":"shutdown"})") == R"(unknown type "shutdown")");
    CHECK(refusal(R"({"version":1,"type":"wait","extra":1})") == R"(unknown field "extra")");
    CHECK(refusal(R"({"version":1,"type":"kill"})") == R"(no "signal")");
    CHECK(refusal(R"({"version":1,"type":"kill","signal":0})") == R"("signal" is out of range)");
    CHECK(refusal(R"({"version":1,"type":"kill","signal":65})") == R"("signal" is out of range)");
    CHECK(refusal(R"({"version":1,"type":"kill","signal":-9})") == R"("signal" is out of range)");
    CHECK(refusal(R"({"version":1,"type":"kill","signal":"9"})") == R"("signal" is not an integer)");
    CHECK(refusal(R"({"version":1,"type":"kill","signal":1.5})") == R"("signal" is not an integer)");
    CHECK(refusal(R"({"version":1,"type":"kill","signal":18446744073709551615})") == R"("signal" is out of range)");
    CHECK(refusal(R"({"version":1,"type":"stop","grace_ms":-1})") == R"("grace_ms" is out of range)");
    CHECK(refusal(R"({"version":1,"type":"stop","grace_ms":86400001})") == R"("grace_ms" is out of range)");
}

TEST_CASE("control: exec requests are checked field by field", "[control]") {
    CHECK(refusal(R"({"version":1,"type":"exec"})") == R"(no "argv")");
    CHECK(refusal(R"({"version":1,"type":"exec","argv":"ls"})") == R"("argv" is not a list of strings)");
    CHECK(refusal(R"({"version":1,"type":"exec","argv":["ls",1]})") == R"("argv" is not a list of strings)");
    CHECK(refusal(R"({"version":1,"type":"exec","argv":["l\u0000s"]})") == R"("argv" holds a NUL byte)");
    CHECK(refusal(R"({"version":1,"type":"exec","argv":["ls"],"cwd":"tmp"})") == R"("cwd" is not absolute)");
    CHECK(refusal(R"({"version":1,"type":"exec","argv":["ls"],"env":["NOEQUALS"]})") ==
          R"("env" holds "NOEQUALS", not NAME=VALUE)");
    CHECK(refusal(R"({"version":1,"type":"exec","argv":["ls"],"env":["=x"]})") == R"("env" holds "=x", not NAME=VALUE)");
    CHECK(refusal(R"({"version":1,"type":"exec","argv":["ls"],"terminal_fds":8})") == R"("terminal_fds" is out of range)");
    auto minimal = request_of(R"({"version":1,"type":"exec","argv":["ls"]})");
    REQUIRE(minimal);
    CHECK(minimal->cwd.empty());
    CHECK(minimal->env.empty());
    CHECK(minimal->terminal_fds == 0);
}

TEST_CASE("control: replies are checked too", "[control]") {
    std::string problem;
    CHECK_FALSE(sb::decode_control_reply(R"({"version":1,"type":"exited","exit_code":256})", problem));
    CHECK(problem == R"("exit_code" is out of range)");
    problem.clear();
    CHECK_FALSE(sb::decode_control_reply(R"({"version":1,"type":"error","stage":"nowhere","error":"x","exit_code":125})", problem));
    CHECK(problem == R"(unknown stage "nowhere")");
    problem.clear();
    CHECK_FALSE(sb::decode_control_reply(R"({"version":1,"type":"error","stage":"exec","error":"x","exit_code":0})", problem));
    CHECK(problem == R"("exit_code" is out of range)");
}

TEST_CASE("control: only exec carries fds (the caller's stdio)", "[control]") {
    ControlRequest request;
    for (auto type : {ControlRequestType::Kill, ControlRequestType::Stop, ControlRequestType::Wait}) {
        request.type = type;
        CHECK(sb::control_request_fds(request) == 0);
    }
    CHECK(sb::control_request_fds(exec_request()) == 3);
}

TEST_CASE("control: signal names", "[control]") {
    CHECK(sb::parse_signal("TERM") == SIGTERM);
    CHECK(sb::parse_signal("SIGTERM") == SIGTERM);
    CHECK(sb::parse_signal("term") == SIGTERM);
    CHECK(sb::parse_signal("sigkill") == SIGKILL);
    CHECK(sb::parse_signal("9") == SIGKILL);
    CHECK(sb::parse_signal("64") == 64);
    CHECK_FALSE(sb::parse_signal("0"));
    CHECK_FALSE(sb::parse_signal("65"));
    CHECK_FALSE(sb::parse_signal("999"));
    CHECK_FALSE(sb::parse_signal(""));
    CHECK_FALSE(sb::parse_signal("SIG"));
    CHECK_FALSE(sb::parse_signal("TERMINATE"));
    CHECK_FALSE(sb::parse_signal("-9"));
}

TEST_CASE("exec_process: the caller's command, the payload's fences", "[control][exec]") {
    sb::ProcessSpec payload;
    payload.argv = {"/bin/server"};
    payload.env = {"HOME=/root", "PATH=/usr/bin:/bin", "SHELL=/bin/bash"};
    payload.cwd = "/srv";
    payload.uid = 1000;
    payload.gid = 1000;
    payload.capabilities = {};
    payload.no_new_privs = true;
    payload.terminal_fds = 0;
    ControlRequest request = exec_request();
    request.env = {"PATH=/opt/bin", "A=1"};
    sb::ProcessSpec process = sb::exec_process(payload, request);
    CHECK(process.argv == std::vector<std::string>{"ls", "-l", "dir with space"});
    CHECK(process.env == std::vector<std::string>{"A=1", "HOME=/root", "PATH=/opt/bin", "SHELL=/bin/bash"});
    CHECK(process.cwd == "/work");
    CHECK(process.terminal_fds == 5);
    CHECK(process.uid == 1000);
    CHECK(process.gid == 1000);
    CHECK(process.no_new_privs);
    CHECK(process.seccomp.mode == payload.seccomp.mode);
}

TEST_CASE("exec_process: no command is the sandbox's shell; no cwd is the payload's", "[control][exec]") {
    sb::ProcessSpec payload;
    payload.env = {"SHELL=/bin/bash"};
    payload.cwd = "/srv";
    ControlRequest request;
    request.type = ControlRequestType::Exec;
    sb::ProcessSpec process = sb::exec_process(payload, request);
    CHECK(process.argv == std::vector<std::string>{"/bin/bash"});
    CHECK(process.cwd == "/srv");
    payload.env = {"SHELL=bash"};  // not absolute: not trusted to be found
    CHECK(sb::exec_process(payload, request).argv == std::vector<std::string>{"/bin/sh"});
    payload.env = {};
    CHECK(sb::exec_process(payload, request).argv == std::vector<std::string>{"/bin/sh"});
}

TEST_CASE("control: attach and attached round-trip", "[control][attach]") {
    ControlRequest attach;
    attach.type = ControlRequestType::Attach;
    auto decoded = request_of(sb::encode_control_request(attach));
    REQUIRE(decoded);
    CHECK(*decoded == attach);
    CHECK(sb::control_request_fds(attach) == 0);
    for (bool tty : {false, true}) {
        ControlReply attached;
        attached.type = ControlReplyType::Attached;
        attached.tty = tty;
        std::string problem;
        auto reply = sb::decode_control_reply(sb::encode_control_reply(attached), problem);
        REQUIRE(reply);
        CHECK(*reply == attached);
    }
    std::string problem;
    CHECK_FALSE(sb::decode_control_reply(R"({"version":1,"type":"attached"})", problem));
    CHECK(problem == R"("tty" is not a boolean)");
}

TEST_CASE("attach frames: round trips", "[control][attach]") {
    using sb::AttachFrame;
    using sb::FrameKind;
    const AttachFrame frames[] = {
        {FrameKind::Data, std::string("out\0put\r\n\x1b[0m", 13), 0, 0, 0},
        {FrameKind::Data, "", 0, 0, 0},
        {FrameKind::Resize, "", 24, 80, 0},
        {FrameKind::Resize, "", 65535, 1, 0},
        {FrameKind::Exited, "", 0, 0, 0},
        {FrameKind::Exited, "", 0, 0, 255},
    };
    for (const auto& frame : frames) {
        auto decoded = sb::decode_frame(sb::encode_frame(frame));
        REQUIRE(decoded);
        CHECK(*decoded == frame);
    }
    CHECK(sb::encode_frame(AttachFrame{FrameKind::Resize, "", 24, 80, 0}) == "r24 80");
}

TEST_CASE("attach frames: anything else is refused", "[control][attach]") {
    for (const char* bad : {"", "z", "r", "r24", "r24 ", "r 80", "r0 80", "r24 0", "r65536 80", "r24 80x", "r-1 80",
                            "x", "x256", "x-1", "x1 ", "xx"})
        CHECK_FALSE(sb::decode_frame(bad));
}

TEST_CASE("detach keys: Ctrl-P Ctrl-Q leaves, everything else passes", "[attach][keys]") {
    sb::DetachKeys keys;
    auto typed = keys.feed("ls\r");
    CHECK(typed.pass == "ls\r");
    CHECK_FALSE(typed.detach);
    typed = keys.feed("ab\x10\x11" "cd");
    CHECK(typed.pass == "ab");
    CHECK(typed.detach);
}

TEST_CASE("detach keys: the sequence split across reads", "[attach][keys]") {
    sb::DetachKeys keys;
    auto first = keys.feed("x\x10");
    CHECK(first.pass == "x");  // the Ctrl-P is held
    CHECK_FALSE(first.detach);
    auto second = keys.feed("\x11");
    CHECK(second.detach);
    CHECK(second.pass.empty());
}

TEST_CASE("detach keys: a Ctrl-P that starts no sequence is passed on", "[attach][keys]") {
    sb::DetachKeys keys;
    CHECK(keys.feed("\x10" "a").pass == "\x10" "a");
    CHECK(keys.feed("\x10").pass.empty());
    CHECK(keys.feed("\x10").pass == "\x10");  // the first was not followed by Ctrl-Q; the second is held
    auto last = keys.feed("\x11");
    CHECK(last.detach);
    CHECK(keys.feed("\x11").pass == "\x11");  // a lone Ctrl-Q is an ordinary key
}

TEST_CASE("control: inspect and inspected round-trip; the document must be an object", "[control][inspect]") {
    ControlRequest inspect;
    inspect.type = ControlRequestType::Inspect;
    auto decoded = request_of(sb::encode_control_request(inspect));
    REQUIRE(decoded);
    CHECK(*decoded == inspect);
    ControlReply inspected;
    inspected.type = ControlReplyType::Inspected;
    inspected.document = R"({"state":{"status":"running"},"plan":{},"plan_text":"x\n"})";
    std::string problem;
    auto reply = sb::decode_control_reply(sb::encode_control_reply(inspected), problem);
    REQUIRE(reply);
    CHECK(*reply == inspected);
    CHECK_FALSE(sb::decode_control_reply(R"({"version":1,"type":"inspected","document":[1]})", problem));
    CHECK(problem == R"("document" is not an object)");
}

TEST_CASE("inspect: the document and its text form", "[inspect]") {
    sb::LiveState live;
    live.supervisor_pid = 100;
    live.init_pid = 101;
    live.created = 1700000000;
    live.now = 1700000125;
    live.cgroup = "/sys/fs/cgroup/x/sandbox-web";
    live.pids_current = 3;
    live.log = "/run/user/1000/sandbox/web/log";
    std::string document = sb::inspect_document(R"({"name":"web"})", "name:       web\n", live);
    auto text = sb::render_inspect_text(document);
    REQUIRE(text);
    CHECK(text->find("status:           running\n") != std::string::npos);
    CHECK(text->find("supervisor_pid:   100\n") != std::string::npos);
    CHECK(text->find("created:          2023-11-14 22:13:20 UTC\n") != std::string::npos);
    CHECK(text->find("uptime_seconds:   2m 5s\n") != std::string::npos);
    CHECK(text->find("memory_current:   -\n") != std::string::npos);
    CHECK(text->find("pids_current:     3\n") != std::string::npos);
    CHECK(text->substr(text->size() - 16) == "name:       web\n");
    CHECK(document.find(R"("plan":{"name":"web"})") != std::string::npos);
    CHECK_FALSE(sb::render_inspect_text("[]"));
    CHECK_FALSE(sb::render_inspect_text(R"({"state":{}})"));
}

TEST_CASE("control: exec's words travel byte for byte, UTF-8 or not", "[control]") {
    ControlRequest request = exec_request();
    request.argv = {"cat", std::string("caf\xe9.txt"), "caf\xc3\xa9", std::string("\xff\x01\x7f", 3)};
    request.env = {std::string("X=\xfe\xff")};
    request.cwd = std::string("/tmp/\xe9");
    std::string packet = sb::encode_control_request(request);
    auto decoded = request_of(packet);
    REQUIRE(decoded);
    CHECK(*decoded == request);
    // Anything above U+00FF cannot be a byte: refused.
    CHECK(refusal(R"({"version":1,"type":"exec","argv":["\u0100"]})") == R"("argv" holds a character above U+00FF)");
    CHECK(refusal(R"({"version":1,"type":"exec","argv":["ls"],"cwd":"/\u20ac"})") == R"("cwd" holds a character above U+00FF)");
}

TEST_CASE("control: an error about a path that is not UTF-8 is still sent", "[control]") {
    ControlReply error = sb::control_error(sb::Stage::Cwd, std::string("chdir /tmp/\xff: No such file"), "", 125);
    std::string problem;
    auto decoded = sb::decode_control_reply(sb::encode_control_reply(error), problem);
    REQUIRE(decoded);
    CHECK(decoded->error.find("chdir /tmp/") == 0);
}
