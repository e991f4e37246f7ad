// Sandbox names and the state record of a running sandbox (src/state/record.cpp): the name rule,
// generated names, the record's text form, /proc/PID/stat's start time and durations.
#include <catch2/catch.hpp>

#include "state/record.hpp"

using sb::StateRecord;

namespace {

StateRecord sample_record() {
    StateRecord r;
    r.name = "web-1";
    r.pid = 4242;
    r.pid_start = 987654321;
    r.init_pid = 4250;
    r.profile = "/home/tester/.config/sandbox/web.toml";
    r.cgroup = "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope/sandbox-web-1";
    r.cgroup_inode = 31337;
    r.created = 1700000000;
    return r;
}

const std::string kSampleText =
    "name=web-1\n"
    "pid=4242\n"
    "pid_start=987654321\n"
    "init_pid=4250\n"
    "profile=/home/tester/.config/sandbox/web.toml\n"
    "cgroup=/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/run-r1.scope/sandbox-web-1\n"
    "cgroup_inode=31337\n"
    "created=1700000000\n"
    "command=\n"
    "keep=0\n"
    "exit_code=\n"
    "finished=0\n";

void check_same(const StateRecord& a, const StateRecord& b) {
    CHECK(a.name == b.name);
    CHECK(a.pid == b.pid);
    CHECK(a.pid_start == b.pid_start);
    CHECK(a.init_pid == b.init_pid);
    CHECK(a.profile == b.profile);
    CHECK(a.cgroup == b.cgroup);
    CHECK(a.cgroup_inode == b.cgroup_inode);
    CHECK(a.created == b.created);
}

// The sample text with `key`'s line replaced by `line` ("" removes it).
std::string with_line(const std::string& key, const std::string& line) {
    std::string text = kSampleText;
    auto at = text.find(key + "=");
    REQUIRE(at != std::string::npos);
    auto end = text.find('\n', at);
    text.replace(at, end - at + 1, line.empty() ? "" : line + "\n");
    return text;
}

// /proc/PID/stat with the given comm (without parentheses) and starttime (field 22).
std::string proc_stat(const std::string& comm, const std::string& starttime) {
    // Fields 3..21, then 22 = starttime, then a few more.
    return "123 (" + comm + ") S 1 123 123 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 " + starttime +
           " 1234567 89 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 2 0 0 0 0 0\n";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Names

TEST_CASE("valid_sandbox_name: accepted names", "[state][names]") {
    for (const char* name : {"a", "Z", "7", "web", "web-1", "A.b_c-d", "1st", "a.", "a-", "a_", "a..b"}) {
        INFO("name \"" << name << "\"");
        CHECK(sb::valid_sandbox_name(name));
    }
    CHECK(sb::valid_sandbox_name(std::string(64, 'x')));
    CHECK(sb::valid_sandbox_name("a" + std::string(63, '-')));
}

TEST_CASE("valid_sandbox_name: rejected names", "[state][names]") {
    for (std::string name : {std::string(""), std::string("-a"), std::string(".a"), std::string("_a"),
                             std::string(".."), std::string("."), std::string("a b"), std::string("a/b"),
                             std::string("/a"), std::string("a:b"), std::string("a\nb"), std::string("a\tb"),
                             std::string("caf\xc3\xa9"), std::string("a*"), std::string("a=b"),
                             std::string(1, '\0'), std::string("a\0b", 3), std::string(65, 'x')}) {
        INFO("name \"" << name << "\"");
        CHECK_FALSE(sb::valid_sandbox_name(name));
    }
}

TEST_CASE("generate_sandbox_name: the profile's stem, cleaned, and 6 hex digits", "[state][names]") {
    CHECK(sb::generate_sandbox_name("/a/b/my profile!.toml", 0xabcdef) == "myprofile-abcdef");
    CHECK(sb::generate_sandbox_name("/a/b/webapp.toml", 0x12) == "webapp-000012");
    CHECK(sb::generate_sandbox_name("/a/b/webapp.toml", 0) == "webapp-000000");
    CHECK(sb::generate_sandbox_name("/a/b/webapp.toml", 0xff123456u) == "webapp-123456");  // low 24 bits
    CHECK(sb::generate_sandbox_name("/a/b/webapp.toml", 0xffffffffu) == "webapp-ffffff");
    CHECK(sb::generate_sandbox_name("webapp.toml", 1) == "webapp-000001");  // no directory
    CHECK(sb::generate_sandbox_name("/p/web.app.toml", 1) == "web.app-000001");
    CHECK(sb::generate_sandbox_name("/p/default", 1) == "default-000001");  // no .toml
    CHECK(sb::generate_sandbox_name("/p/x.toml.toml", 1) == "x.toml-000001");  // one suffix removed
    CHECK(sb::generate_sandbox_name("/p/x.TOML", 1) == "x.TOML-000001");
}

TEST_CASE("generate_sandbox_name: leading punctuation is dropped", "[state][names]") {
    CHECK(sb::generate_sandbox_name("/p/.hidden.toml", 1) == "hidden-000001");
    CHECK(sb::generate_sandbox_name("/p/_-_abc.toml", 1) == "abc-000001");
    CHECK(sb::generate_sandbox_name("/p/ -x.toml", 1) == "x-000001");
}

TEST_CASE("generate_sandbox_name: nothing usable gives \"sandbox\"", "[state][names]") {
    CHECK(sb::generate_sandbox_name("/p/!!!.toml", 0xa) == "sandbox-00000a");
    CHECK(sb::generate_sandbox_name("/p/---.toml", 0xa) == "sandbox-00000a");
    CHECK(sb::generate_sandbox_name("/p/caf\xc3\xa9.toml", 0xa) == "caf-00000a");
    CHECK(sb::generate_sandbox_name("", 0xa) == "sandbox-00000a");
    CHECK(sb::generate_sandbox_name("/p/", 0xa) == "sandbox-00000a");
    CHECK(sb::generate_sandbox_name("sandbox", 0xa) == "sandbox-00000a");
}

TEST_CASE("generate_sandbox_name: long stems are cut to 48 characters", "[state][names]") {
    std::string name = sb::generate_sandbox_name("/p/" + std::string(100, 'a') + ".toml", 0xbeef);
    CHECK(name == std::string(48, 'a') + "-00beef");
    CHECK(name.size() == 55);
}

TEST_CASE("generate_sandbox_name: always a valid name, ending in -xxxxxx", "[state][names]") {
    const std::vector<std::string> paths = {
        "/a/b/my profile!.toml", "", "/", "/.toml", "/p/.toml", "/p/..toml", "/p/a/", "x", "/p/ä.toml",
        "/p/" + std::string(200, '-') + "x.toml", "/p/\n\t.toml", "/p/a b c.toml", "/p/1.toml",
        "/p/" + std::string(64, 'z'), "relative/dir/prof.toml", "/p/-.toml"};
    for (const auto& path : paths) {
        for (std::uint32_t random : {0u, 1u, 0xabcdefu, 0xffffffffu, 0x80000000u}) {
            std::string name = sb::generate_sandbox_name(path, random);
            INFO("path \"" << path << "\" random " << random << " -> \"" << name << "\"");
            CHECK(sb::valid_sandbox_name(name));
            REQUIRE(name.size() >= 8);
            std::string suffix = name.substr(name.size() - 7);
            CHECK(suffix[0] == '-');
            CHECK(suffix.find_first_not_of("0123456789abcdef", 1) == std::string::npos);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The record

TEST_CASE("encode_state_record: the exact text", "[state][record]") {
    CHECK(sb::encode_state_record(sample_record()) == kSampleText);
}

TEST_CASE("state record: encode/decode round trip", "[state][record]") {
    StateRecord r = sample_record();
    auto back = sb::decode_state_record(sb::encode_state_record(r));
    REQUIRE(back);
    check_same(*back, r);
}

TEST_CASE("state record: round trip without a cgroup and before init is known", "[state][record]") {
    StateRecord r = sample_record();
    r.cgroup.clear();
    r.init_pid = 0;
    r.pid_start = 0;
    r.created = 0;
    auto back = sb::decode_state_record(sb::encode_state_record(r));
    REQUIRE(back);
    check_same(*back, r);
}

TEST_CASE("state record: values with '=' and spaces round-trip", "[state][record]") {
    StateRecord r = sample_record();
    r.profile = "/home/tester/my profiles/a=b.toml";
    auto back = sb::decode_state_record(sb::encode_state_record(r));
    REQUIRE(back);
    CHECK(back->profile == r.profile);
}

TEST_CASE("state record: the largest accepted pids", "[state][record]") {
    StateRecord r = sample_record();
    r.pid = 0x3fffffff;
    r.init_pid = 0x3fffffff;
    r.pid_start = 9223372036854775807ULL;
    auto back = sb::decode_state_record(sb::encode_state_record(r));
    REQUIRE(back);
    check_same(*back, r);
}

TEST_CASE("decode_state_record: fields in any order, unknown fields ignored", "[state][record]") {
    auto r = sb::decode_state_record(
        "created=5\ncgroup=\nprofile=/p.toml\nfuture=1\ninit_pid=0\npid_start=9\npid=2\nname=x\ncgroup_inode=0\n");
    REQUIRE(r);
    CHECK(r->name == "x");
    CHECK(r->pid == 2);
    CHECK(r->pid_start == 9);
    CHECK(r->init_pid == 0);
    CHECK(r->profile == "/p.toml");
    CHECK(r->cgroup.empty());
    CHECK(r->created == 5);
}

TEST_CASE("decode_state_record: the last line needs no newline", "[state][record]") {
    std::string text = kSampleText;
    text.pop_back();
    CHECK(sb::decode_state_record(text));
}

TEST_CASE("decode_state_record: each missing field is rejected", "[state][record]") {
    for (const char* key : {"name", "pid", "pid_start", "init_pid", "profile", "cgroup", "created"}) {
        INFO("without " << key);
        CHECK_FALSE(sb::decode_state_record(with_line(key, "")));
    }
    CHECK_FALSE(sb::decode_state_record(""));
}

TEST_CASE("decode_state_record: bad numbers are rejected", "[state][record]") {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"pid", "pid="},          {"pid", "pid=abc"},          {"pid", "pid=0"},
        {"pid", "pid=-1"},        {"pid", "pid=+5"},           {"pid", "pid= 5"},
        {"pid", "pid=5 "},        {"pid", "pid=1073741824"},   {"pid", "pid=99999999999999999999"},
        {"pid_start", "pid_start=x"}, {"pid_start", "pid_start=-1"}, {"pid_start", "pid_start=1.5"},
        {"init_pid", "init_pid="},    {"init_pid", "init_pid=-1"},   {"init_pid", "init_pid=1073741824"},
        {"created", "created=soon"},  {"created", "created="},       {"created", "created=12345678901234567890"},
    };
    for (const auto& [key, line] : bad) {
        INFO("line " << line);
        CHECK_FALSE(sb::decode_state_record(with_line(key, line)));
    }
}

TEST_CASE("decode_state_record: an invalid name is rejected", "[state][record]") {
    for (const char* line : {"name=", "name=-web", "name=a/b", "name=../etc", "name=a b"}) {
        INFO("line " << line);
        CHECK_FALSE(sb::decode_state_record(with_line("name", line)));
    }
}

TEST_CASE("decode_state_record: a relative cgroup path is rejected", "[state][record]") {
    CHECK_FALSE(sb::decode_state_record(with_line("cgroup", "cgroup=sys/fs/cgroup/x")));
    CHECK_FALSE(sb::decode_state_record(with_line("cgroup", "cgroup= /sys/fs/cgroup/x")));
    CHECK(sb::decode_state_record(with_line("cgroup", "cgroup=/x")));
}

TEST_CASE("decode_state_record: a line without '=' makes the record malformed", "[state][record]") {
    CHECK_FALSE(sb::decode_state_record(kSampleText + "garbage\n"));
    CHECK_FALSE(sb::decode_state_record("\n" + kSampleText));
    CHECK_FALSE(sb::decode_state_record(kSampleText + "\n"));
}

TEST_CASE("state record: a profile path with a newline round-trips", "[state][record]") {
    // Linux file names may contain '\n'; `sandbox run "$'/tmp/a\nb.toml'"` records such a path.
    StateRecord r = sample_record();
    r.profile = "/tmp/a\nb.toml";
    auto back = sb::decode_state_record(sb::encode_state_record(r));
    REQUIRE(back);
    CHECK(back->profile == r.profile);
}

// ---------------------------------------------------------------------------------------------
// process_start_time

TEST_CASE("process_start_time: field 22", "[state][proc]") {
    CHECK(sb::process_start_time(proc_stat("sandbox", "98765")) == std::optional<std::uint64_t>(98765));
    CHECK(sb::process_start_time(proc_stat("sh", "0")) == std::optional<std::uint64_t>(0));
}

TEST_CASE("process_start_time: a comm with spaces and parentheses", "[state][proc]") {
    // "123 (a) b) S 1 ...": the comm is "a) b", found by the last ')'.
    CHECK(sb::process_start_time(proc_stat("a) b", "98765")) == std::optional<std::uint64_t>(98765));
    CHECK(sb::process_start_time(proc_stat(") ) (", "4242")) == std::optional<std::uint64_t>(4242));
    CHECK(sb::process_start_time(proc_stat("x 1 2 3 4 5", "77")) == std::optional<std::uint64_t>(77));
    CHECK(sb::process_start_time(proc_stat("", "11")) == std::optional<std::uint64_t>(11));
}

TEST_CASE("process_start_time: truncated or malformed", "[state][proc]") {
    CHECK_FALSE(sb::process_start_time(""));
    CHECK_FALSE(sb::process_start_time("123 sandbox S 1 2 3"));  // no ')'
    // Only 20 fields after the comm's ')' would reach 22: give 19 (up to field 21).
    CHECK_FALSE(sb::process_start_time("123 (x) S 1 123 123 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0\n"));
    CHECK(sb::process_start_time("123 (x) S 1 123 123 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 5") ==
          std::optional<std::uint64_t>(5));
    CHECK_FALSE(sb::process_start_time(proc_stat("x", "abc")));
    CHECK_FALSE(sb::process_start_time(proc_stat("x", "-5")));
}

// ---------------------------------------------------------------------------------------------
// format_duration

TEST_CASE("format_duration", "[state][duration]") {
    CHECK(sb::format_duration(0) == "0s");
    CHECK(sb::format_duration(12) == "12s");
    CHECK(sb::format_duration(59) == "59s");
    CHECK(sb::format_duration(60) == "1m");
    CHECK(sb::format_duration(61) == "1m 1s");
    CHECK(sb::format_duration(250) == "4m 10s");
    CHECK(sb::format_duration(3599) == "59m 59s");
    CHECK(sb::format_duration(3600) == "1h");
    CHECK(sb::format_duration(3660) == "1h 1m");
    CHECK(sb::format_duration(3659) == "1h");  // seconds are dropped at the hour scale
    CHECK(sb::format_duration(2 * 3600 + 5 * 60) == "2h 5m");
    CHECK(sb::format_duration(86399) == "23h 59m");
    CHECK(sb::format_duration(86400) == "1d");
    CHECK(sb::format_duration(3 * 86400 + 4 * 3600 + 59 * 60) == "3d 4h");
    CHECK(sb::format_duration(400 * 86400) == "400d");
    CHECK(sb::format_duration(-5) == "0s");
}

TEST_CASE("decode_state_record: a record without cgroup_inode (an older version's) reads as inode 0", "[state][record]") {
    auto r = sb::decode_state_record(with_line("cgroup_inode", ""));
    REQUIRE(r);
    CHECK(r->cgroup_inode == 0);  // never valid: its cgroup is not touched, only the name freed
}

TEST_CASE("state record: an exited, kept record round-trips", "[state][record]") {
    StateRecord r = sample_record();
    r.command = "sh -c 'echo hi'\nsecond line";
    r.keep = true;
    r.exit_code = 143;
    r.finished = 1700000100;
    auto decoded = sb::decode_state_record(sb::encode_state_record(r));
    REQUIRE(decoded);
    check_same(*decoded, r);
    CHECK(decoded->command == r.command);
    CHECK(decoded->keep);
    CHECK(decoded->exit_code == 143);
    CHECK(decoded->finished == 1700000100);
}

TEST_CASE("state record: a record of an older version reads as running, not kept", "[state][record]") {
    std::string text = "name=web-1\npid=4242\npid_start=987654321\ninit_pid=4250\nprofile=/p.toml\ncgroup=\n"
                       "cgroup_inode=0\ncreated=1700000000\n";
    auto decoded = sb::decode_state_record(text);
    REQUIRE(decoded);
    CHECK_FALSE(decoded->keep);
    CHECK_FALSE(decoded->exit_code);
    CHECK(decoded->command.empty());
}

TEST_CASE("state record: bad keep, exit_code or finished make it malformed", "[state][record]") {
    CHECK_FALSE(sb::decode_state_record(with_line("keep", "keep=yes")));
    CHECK_FALSE(sb::decode_state_record(with_line("exit_code", "exit_code=256")));
    CHECK_FALSE(sb::decode_state_record(with_line("exit_code", "exit_code=-1")));
    CHECK_FALSE(sb::decode_state_record(with_line("exit_code", "exit_code=1x")));
    CHECK_FALSE(sb::decode_state_record(with_line("finished", "finished=soon")));
    CHECK(sb::decode_state_record(with_line("exit_code", "exit_code=0"))->exit_code == 0);
}

TEST_CASE("display_command: plain words as they are, others quoted", "[state][record]") {
    CHECK(sb::display_command({"ls", "-l", "/tmp"}) == "ls -l /tmp");
    CHECK(sb::display_command({"sh", "-c", "echo hi; exit 3"}) == "sh -c 'echo hi; exit 3'");
    CHECK(sb::display_command({"echo", "it's"}) == "echo 'it'\\''s'");
    CHECK(sb::display_command({"printf", ""}) == "printf ''");
    CHECK(sb::display_command({}) == "");
}

TEST_CASE("process_exited: a zombie or a dead process has exited", "[state][proc]") {
    auto with_state = [](char state) {
        return "123 (a) b) " + std::string(1, state) + " 1 123 123 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 42 1\n";
    };
    CHECK(sb::process_exited(with_state('Z')));
    CHECK(sb::process_exited(with_state('X')));
    CHECK_FALSE(sb::process_exited(with_state('S')));
    CHECK_FALSE(sb::process_exited(with_state('R')));
    CHECK_FALSE(sb::process_exited(with_state('T')));
    CHECK_FALSE(sb::process_exited("garbage"));
}
