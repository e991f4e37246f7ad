// What a sandbox's cgroup says about it (src/cgroup/stats.cpp): the interface files' formats,
// collect_stats over a fake file reader, and the text and JSON renderings of `sandbox stats`.
#include <catch2/catch.hpp>

#include <cctype>
#include <set>

#include "cgroup/stats.hpp"

using sb::CgroupStats;
using Value = std::optional<std::uint64_t>;
using Files = std::map<std::string, std::string>;

namespace {

constexpr std::uint64_t kMax = UINT64_MAX;

// A reader over in-memory interface files; records the files asked for.
struct FakeCgroup {
    Files files;
    std::vector<std::string> asked;
    std::optional<std::string> operator()(const std::string& file) {
        asked.push_back(file);
        auto found = files.find(file);
        if (found == files.end()) return std::nullopt;
        return found->second;
    }
};

CgroupStats collect(const Files& files) {
    FakeCgroup fake{files, {}};
    return sb::collect_stats([&](const std::string& file) { return fake(file); });
}

const Files kFullCgroup = {
    {"cpu.stat",
     "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 3\n"
     "throttled_usec 120000\nnr_bursts 0\nburst_usec 0\n"},
    {"memory.current", "134217728\n"},
    {"memory.peak", "268435456\n"},
    {"memory.max", "max\n"},
    {"memory.swap.current", "4096\n"},
    {"memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\noom_group_kill 0\n"},
    {"pids.current", "7\n"},
    {"pids.max", "256\n"},
    {"pids.events", "max 3\n"},
    {"io.stat",
     "8:0 rbytes=1048576 wbytes=2048 rios=10 wios=2 dbytes=0 dios=0\n"
     "259:0 rbytes=1024 wbytes=4096 rios=1 wios=3 dbytes=512 dios=1\n"},
    {"cgroup.events", "populated 1\nfrozen 1\n"},
};

// A strict little JSON reader for one flat object: string keys; values that are strings,
// non-negative integers, true, false or null. Fails the test on anything else.
class FlatJson {
public:
    explicit FlatJson(const std::string& text) : text_(text) {
        skip_space();
        expect('{');
        skip_space();
        if (peek() != '}') {
            for (;;) {
                skip_space();
                std::string key = string();
                if (values.count(key)) fail("duplicate key " + key);
                order.push_back(key);
                skip_space();
                expect(':');
                skip_space();
                values[key] = value();
                skip_space();
                if (peek() == ',') {
                    ++at_;
                    continue;
                }
                break;
            }
        }
        expect('}');
        skip_space();
        if (at_ != text_.size()) fail("text after the object");
    }

    std::map<std::string, std::string> values;  // strings unescaped and quoted with '"'
    std::vector<std::string> order;

private:
    const std::string& text_;
    std::size_t at_ = 0;

    [[noreturn]] void fail(const std::string& why) const {
        FAIL("invalid JSON at offset " << at_ << ": " << why << "\n" << text_);
        throw std::logic_error("unreachable");
    }
    char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
    void expect(char c) {
        if (peek() != c) fail(std::string("expected '") + c + "'");
        ++at_;
    }
    void skip_space() {
        while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\t' || text_[at_] == '\r'))
            ++at_;
    }
    std::string string() {
        expect('"');
        std::string out;
        for (;;) {
            if (at_ >= text_.size()) fail("unterminated string");
            unsigned char c = static_cast<unsigned char>(text_[at_++]);
            if (c == '"') return out;
            if (c < 0x20) fail("raw control character in a string");
            if (c != '\\') {
                out += static_cast<char>(c);
                continue;
            }
            char e = text_[at_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    if (at_ + 4 > text_.size()) fail("short \\u escape");
                    std::string hex = text_.substr(at_, 4);
                    if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) fail("bad \\u escape");
                    unsigned code = static_cast<unsigned>(std::stoul(hex, nullptr, 16));
                    if (code >= 0x80) fail("test reader handles only ASCII \\u escapes");
                    out += static_cast<char>(code);
                    at_ += 4;
                    break;
                }
                default: fail(std::string("bad escape \\") + e);
            }
        }
    }
    std::string value() {
        char c = peek();
        if (c == '"') return '"' + string() + '"';
        for (const char* word : {"true", "false", "null"}) {
            std::string w = word;
            if (text_.compare(at_, w.size(), w) == 0) {
                at_ += w.size();
                return w;
            }
        }
        std::size_t start = at_;
        while (at_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at_]))) ++at_;
        if (at_ == start) fail("expected a value");
        if (text_[start] == '0' && at_ - start > 1) fail("leading zero");
        return text_.substr(start, at_ - start);
    }
};

const std::vector<std::string> kJsonKeys = {
    "name",           "paused",         "cpu_usec",        "cpu_user_usec", "cpu_system_usec", "cpu_throttled_usec",
    "memory_current", "memory_peak",    "memory_max",      "oom_events",    "oom_kills",       "pids_current",
    "pids_max",       "pids_limit_hits", "io_read_bytes",  "io_write_bytes", "io_read_ops",    "io_write_ops"};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parsing

TEST_CASE("parse_single_value: numbers, max, newlines", "[cgroup][stats]") {
    CHECK(sb::parse_single_value("0") == Value(0));
    CHECK(sb::parse_single_value("123") == Value(123));
    CHECK(sb::parse_single_value("123\n") == Value(123));
    CHECK(sb::parse_single_value("123 \n") == Value(123));
    CHECK(sb::parse_single_value("max") == Value(kMax));
    CHECK(sb::parse_single_value("max\n") == Value(kMax));
    CHECK(sb::parse_single_value("18446744073709551614\n") == Value(18446744073709551614ULL));
}

TEST_CASE("parse_single_value: garbage is nullopt", "[cgroup][stats]") {
    for (const char* bad : {"", "\n", " ", "12a", "a12", "-1", "+1", " 12", "1 2", "1.5", "MAX", "max max",
                            "0x10", "123456789012345678901", "18446744073709551616", "99999999999999999999"}) {
        INFO("text \"" << bad << "\"");
        CHECK_FALSE(sb::parse_single_value(bad));
    }
}

TEST_CASE("parse_keyed_values: key value lines", "[cgroup][stats]") {
    auto values = sb::parse_keyed_values("usage_usec 1000\nuser_usec 600\nsystem_usec 400\n");
    CHECK(values == std::map<std::string, std::uint64_t>{{"usage_usec", 1000}, {"user_usec", 600}, {"system_usec", 400}});
    CHECK(sb::parse_keyed_values("max 3\n") == std::map<std::string, std::uint64_t>{{"max", 3}});
    CHECK(sb::parse_keyed_values("limit max\n") == std::map<std::string, std::uint64_t>{{"limit", kMax}});
    CHECK(sb::parse_keyed_values("").empty());
    CHECK(sb::parse_keyed_values("\n\n").empty());
}

TEST_CASE("parse_keyed_values: bad lines are skipped, the rest kept", "[cgroup][stats]") {
    auto values = sb::parse_keyed_values("alone\ngood 1\nbad x\n\n  spaced \t 2  \nneg -1\nlast 3");
    CHECK(values == std::map<std::string, std::uint64_t>{{"good", 1}, {"spaced", 2}, {"last", 3}});
}

TEST_CASE("parse_keyed_values: a repeated key keeps the last value", "[cgroup][stats]") {
    CHECK(sb::parse_keyed_values("a 1\na 2\n") == std::map<std::string, std::uint64_t>{{"a", 2}});
}

// ---------------------------------------------------------------------------------------------
// collect_stats

TEST_CASE("collect_stats: every file present", "[cgroup][stats]") {
    CgroupStats s = collect(kFullCgroup);
    CHECK(s.cpu_usec == Value(2500000));
    CHECK(s.cpu_user_usec == Value(2000000));
    CHECK(s.cpu_system_usec == Value(500000));
    CHECK(s.cpu_throttled_usec == Value(120000));
    CHECK(s.cpu_nr_throttled == Value(3));
    CHECK(s.memory_current == Value(134217728));
    CHECK(s.memory_peak == Value(268435456));
    CHECK(s.memory_max == Value(kMax));
    CHECK(s.memory_swap_current == Value(4096));
    CHECK(s.oom_events == Value(2));
    CHECK(s.oom_kills == Value(1));
    CHECK(s.pids_current == Value(7));
    CHECK(s.pids_max == Value(256));
    CHECK(s.pids_limit_hits == Value(3));
    // io.stat: two devices, summed.
    CHECK(s.io_read_bytes == Value(1048576 + 1024));
    CHECK(s.io_write_bytes == Value(2048 + 4096));
    CHECK(s.io_read_ops == Value(10 + 1));
    CHECK(s.io_write_ops == Value(2 + 3));
    CHECK(s.frozen);
    CHECK(s.populated);
}

TEST_CASE("collect_stats: no files at all", "[cgroup][stats]") {
    FakeCgroup fake;
    CgroupStats s = sb::collect_stats([&](const std::string& file) { return fake(file); });
    CHECK_FALSE(s.cpu_usec);
    CHECK_FALSE(s.cpu_user_usec);
    CHECK_FALSE(s.cpu_system_usec);
    CHECK_FALSE(s.cpu_throttled_usec);
    CHECK_FALSE(s.cpu_nr_throttled);
    CHECK_FALSE(s.memory_current);
    CHECK_FALSE(s.memory_peak);
    CHECK_FALSE(s.memory_max);
    CHECK_FALSE(s.memory_swap_current);
    CHECK_FALSE(s.oom_events);
    CHECK_FALSE(s.oom_kills);
    CHECK_FALSE(s.pids_current);
    CHECK_FALSE(s.pids_max);
    CHECK_FALSE(s.pids_limit_hits);
    CHECK_FALSE(s.io_read_bytes);
    CHECK_FALSE(s.io_write_bytes);
    CHECK_FALSE(s.io_read_ops);
    CHECK_FALSE(s.io_write_ops);
    CHECK_FALSE(s.frozen);
    CHECK_FALSE(s.populated);
    // Only the interface files are read, each once.
    std::set<std::string> asked(fake.asked.begin(), fake.asked.end());
    CHECK(asked.size() == fake.asked.size());
    CHECK(asked == std::set<std::string>{"cpu.stat", "memory.current", "memory.peak", "memory.max",
                                         "memory.swap.current", "memory.events", "pids.current", "pids.max",
                                         "pids.events", "io.stat", "cgroup.events"});
}

TEST_CASE("collect_stats: only the cpu controller's basic cpu.stat (no throttling keys)", "[cgroup][stats]") {
    CgroupStats s = collect({{"cpu.stat", "usage_usec 42\nuser_usec 40\nsystem_usec 2\n"}});
    CHECK(s.cpu_usec == Value(42));
    CHECK(s.cpu_user_usec == Value(40));
    CHECK(s.cpu_system_usec == Value(2));
    CHECK_FALSE(s.cpu_throttled_usec);
    CHECK_FALSE(s.cpu_nr_throttled);
}

TEST_CASE("collect_stats: an empty io.stat is zero, not unknown", "[cgroup][stats]") {
    CgroupStats s = collect({{"io.stat", ""}});
    CHECK(s.io_read_bytes == Value(0));
    CHECK(s.io_write_bytes == Value(0));
    CHECK(s.io_read_ops == Value(0));
    CHECK(s.io_write_ops == Value(0));
}

TEST_CASE("collect_stats: io.stat ignores unknown and malformed fields", "[cgroup][stats]") {
    CgroupStats s = collect({{"io.stat", "8:0 rbytes=10 wbytes=x rios=1 cost.usage=77 junk wios=\n8:16 wbytes=5\n"}});
    CHECK(s.io_read_bytes == Value(10));
    CHECK(s.io_write_bytes == Value(5));
    CHECK(s.io_read_ops == Value(1));
    CHECK(s.io_write_ops == Value(0));
}

TEST_CASE("collect_stats: events files without the keys", "[cgroup][stats]") {
    CgroupStats s = collect({{"memory.events", "low 0\nhigh 3\n"}, {"pids.events", ""}, {"cgroup.events", "populated 0\n"}});
    CHECK_FALSE(s.oom_events);
    CHECK_FALSE(s.oom_kills);
    CHECK_FALSE(s.pids_limit_hits);
    CHECK_FALSE(s.frozen);
    CHECK_FALSE(s.populated);
}

TEST_CASE("collect_stats: frozen 0, populated 1", "[cgroup][stats]") {
    CgroupStats s = collect({{"cgroup.events", "populated 1\nfrozen 0\n"}});
    CHECK_FALSE(s.frozen);
    CHECK(s.populated);
}

TEST_CASE("collect_stats: garbage in a single-value file is unknown", "[cgroup][stats]") {
    CgroupStats s = collect({{"memory.current", "lots\n"}, {"pids.max", "max\n"}, {"pids.current", ""}});
    CHECK_FALSE(s.memory_current);
    CHECK(s.pids_max == Value(kMax));
    CHECK_FALSE(s.pids_current);
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST_CASE("render_stats_json: the exact object for a full cgroup", "[cgroup][stats][json]") {
    CHECK(sb::render_stats_json("web", collect(kFullCgroup)) ==
          "{\"name\":\"web\",\"paused\":true,\"cpu_usec\":2500000,\"cpu_user_usec\":2000000,"
          "\"cpu_system_usec\":500000,\"cpu_throttled_usec\":120000,\"memory_current\":134217728,"
          "\"memory_peak\":268435456,\"memory_max\":\"max\",\"oom_events\":2,\"oom_kills\":1,"
          "\"pids_current\":7,\"pids_max\":256,\"pids_limit_hits\":3,\"io_read_bytes\":1049600,"
          "\"io_write_bytes\":6144,\"io_read_ops\":11,\"io_write_ops\":5}\n");
}

TEST_CASE("render_stats_json: valid JSON with every key, values as collected", "[cgroup][stats][json]") {
    std::string text = sb::render_stats_json("web", collect(kFullCgroup));
    FlatJson json(text);
    CHECK(json.order == kJsonKeys);
    CHECK(json.values["name"] == "\"web\"");
    CHECK(json.values["paused"] == "true");
    CHECK(json.values["memory_max"] == "\"max\"");
    CHECK(json.values["pids_limit_hits"] == "3");
    CHECK(json.values["oom_kills"] == "1");
    CHECK(json.values["io_read_bytes"] == "1049600");
}

TEST_CASE("render_stats_json: null for what is unknown, false when not paused", "[cgroup][stats][json]") {
    std::string text = sb::render_stats_json("idle", CgroupStats{});
    FlatJson json(text);
    CHECK(json.order == kJsonKeys);
    CHECK(json.values["name"] == "\"idle\"");
    CHECK(json.values["paused"] == "false");
    for (const auto& key : kJsonKeys) {
        if (key == "name" || key == "paused") continue;
        INFO("key " << key);
        CHECK(json.values[key] == "null");
    }
}

TEST_CASE("render_stats_json: UINT64_MAX is \"max\" for any field, 0 is 0", "[cgroup][stats][json]") {
    CgroupStats s;
    s.pids_max = kMax;
    s.memory_current = 0;
    s.io_write_ops = kMax;
    FlatJson json(sb::render_stats_json("x", s));
    CHECK(json.values["pids_max"] == "\"max\"");
    CHECK(json.values["io_write_ops"] == "\"max\"");
    CHECK(json.values["memory_current"] == "0");
}

TEST_CASE("render_stats_json: the name is escaped", "[cgroup][stats][json]") {
    std::string name = "we\"b\\1\n\x01";
    std::string text = sb::render_stats_json(name, CgroupStats{});
    FlatJson json(text);
    CHECK(json.values["name"] == "\"" + name + "\"");
}

TEST_CASE("json_string: escaping", "[cgroup][stats][json]") {
    CHECK(sb::json_string("") == "\"\"");
    CHECK(sb::json_string("plain text") == "\"plain text\"");
    CHECK(sb::json_string("say \"hi\"") == "\"say \\\"hi\\\"\"");
    CHECK(sb::json_string("C:\\dir\\") == "\"C:\\\\dir\\\\\"");
    CHECK(sb::json_string("a\nb\tc\rd") == "\"a\\nb\\tc\\rd\"");
    CHECK(sb::json_string(std::string("\x01", 1)) == "\"\\u0001\"");
    CHECK(sb::json_string(std::string("\0", 1)) == "\"\\u0000\"");
    CHECK(sb::json_string("\x1f") == "\"\\u001f\"");
    CHECK(sb::json_string("\b\f") == "\"\\u0008\\u000c\"");
    CHECK(sb::json_string("\x7f") == "\"\x7f\"");
    CHECK(sb::json_string("caf\xc3\xa9 /x") == "\"caf\xc3\xa9 /x\"");
}

TEST_CASE("json_string: every control character is escaped and reads back", "[cgroup][stats][json]") {
    std::string all;
    for (int c = 0; c < 0x80; ++c) all += static_cast<char>(c);
    std::string literal = sb::json_string(all);
    for (unsigned char c : literal.substr(1, literal.size() - 2)) CHECK(c >= 0x20);
    FlatJson json("{\"k\":" + literal + "}");
    CHECK(json.values["k"] == "\"" + all + "\"");
}

// ---------------------------------------------------------------------------------------------
// Text

TEST_CASE("render_stats_text: the exact text for a full cgroup", "[cgroup][stats][text]") {
    CHECK(sb::render_stats_text("web", collect(kFullCgroup)) ==
          "name:            web (paused)\n"
          "cpu time:        2.500 s (user 2.000 s, system 0.500 s)\n"
          "cpu throttled:   0.120 s in 3 periods\n"
          "memory:          128.0 MiB (peak 256.0 MiB, max max)\n"
          "oom kills:       1\n"
          "pids:            7 (max 256, forks refused at the limit 3)\n"
          "io:              read 1.0 MiB, written 6.0 KiB\n");
}

TEST_CASE("render_stats_text: dashes for what is unknown", "[cgroup][stats][text]") {
    CHECK(sb::render_stats_text("idle", CgroupStats{}) ==
          "name:            idle\n"
          "cpu time:        -\n"
          "memory:          - (peak -, max -)\n"
          "oom kills:       -\n"
          "pids:            - (max -, forks refused at the limit -)\n"
          "io:              read -, written -\n");
}

TEST_CASE("render_stats_text: sizes in bytes and binary units", "[cgroup][stats][text]") {
    CgroupStats s;
    s.memory_current = 500;
    s.memory_peak = 1536;
    s.memory_max = 3ULL << 30;
    s.io_read_bytes = 0;
    s.io_write_bytes = 5ULL << 40;
    s.pids_max = kMax;
    std::string text = sb::render_stats_text("n", s);
    CHECK_THAT(text, Catch::Matchers::Contains("memory:          500 B (peak 1.5 KiB, max 3.0 GiB)\n"));
    CHECK_THAT(text, Catch::Matchers::Contains("io:              read 0 B, written 5.0 TiB\n"));
    CHECK_THAT(text, Catch::Matchers::Contains("pids:            - (max max, forks refused at the limit -)\n"));
}

TEST_CASE("render_stats_text: cpu time without user/system split, throttling without a count",
          "[cgroup][stats][text]") {
    CgroupStats s;
    s.cpu_usec = 1234567;
    s.cpu_throttled_usec = 1000;
    std::string text = sb::render_stats_text("n", s);
    CHECK_THAT(text, Catch::Matchers::Contains("cpu time:        1.235 s\n"));
    CHECK_THAT(text, Catch::Matchers::Contains("cpu throttled:   0.001 s in 0 periods\n"));
}
