// Reading profile files without trusting them: the real reader (regular files only, bounded,
// never blocking), text that is not UTF-8, and the limits on `extends` (depth, files, diamonds).
// Also the hostname rule, shared by the profile and --hostname.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>

#include "plan/plan.hpp"
#include "profile/profile.hpp"
#include "support.hpp"

using sb::ProfileFileText;
using Catch::Matchers::Contains;

namespace {

sb::ConfigError load_error(const std::string& path, const sb::ProfileSource& source) {
    try {
        sb::load_profile(path, test::test_vars(), source);
    } catch (const sb::ConfigError& error) {
        return error;
    }
    FAIL("expected a ConfigError loading " << path);
    throw std::logic_error("unreachable");
}

void check_at(const sb::ConfigError& error, const std::string& file, int line, int column,
              const std::string& fragment) {
    INFO(error.what());
    CHECK(error.where().file == file);
    CHECK(error.where().line == line);
    CHECK(error.where().column == column);
    CHECK_THAT(error.message(), Contains(fragment));
}

sb::ConfigError text_error(const std::string& text) {
    return load_error("/mem/t.toml", test::memory_source({{"/mem/t.toml", text}}));
}

// A memory source that counts how often each file is read.
struct CountingSource {
    std::map<std::string, std::string> files;
    std::map<std::string, int> reads;
    // test::memory_source over the files as they are now, with every read counted.
    sb::ProfileSource source() {
        sb::ProfileSource out = test::memory_source(files);
        out.read_file = [this, read = out.read_file](const std::string& path) {
            ++reads[path];
            return read(path);
        };
        return out;
    }
};

std::string file_name(int i) { return "/m/f" + std::to_string(i) + ".toml"; }

// f0 extends f1 extends ... extends f(n-1).
std::map<std::string, std::string> chain(int n) {
    std::map<std::string, std::string> files;
    for (int i = 0; i < n; ++i)
        files[file_name(i)] = i + 1 < n ? "extends = [\"f" + std::to_string(i + 1) + "\"]\n" : "hostname = \"end\"\n";
    return files;
}

// /m/top.toml extends n files, one per line (entry k on line k + 2).
std::map<std::string, std::string> wide(int n) {
    std::map<std::string, std::string> files;
    std::string top = "extends = [\n";
    for (int i = 0; i < n; ++i) {
        top += "  \"f" + std::to_string(i) + "\",\n";
        files[file_name(i)] = "";
    }
    files["/m/top.toml"] = top + "]\n";
    return files;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The real reader: read_profile_file

TEST_CASE("reading: a regular file is read whole", "[profile][reading]") {
    test::TempDir dir;
    std::string path = dir.write("p.toml", "hostname = \"x\"\n");
    ProfileFileText file = sb::read_profile_file(path);
    REQUIRE(file.text);
    CHECK(*file.text == "hostname = \"x\"\n");
    ProfileFileText gone = sb::read_profile_file(dir.path() + "/gone.toml");
    CHECK_FALSE(gone.text);
    CHECK(gone.missing());
    CHECK(gone.reason() == "No such file or directory");
}

TEST_CASE("reading: a file over 1 MiB is refused, at the extends entry, with its name", "[profile][reading]") {
    test::TempDir dir;
    std::string exact = dir.write("exact.toml", std::string(sb::kMaxProfileFileBytes, '\n'));
    std::string big = dir.write("big.toml", std::string(2 * sb::kMaxProfileFileBytes, '\n'));
    // The reader stops one byte past the limit, so that the loader can tell.
    ProfileFileText file = sb::read_profile_file(big);
    REQUIRE(file.text);
    CHECK(file.text->size() == sb::kMaxProfileFileBytes + 1);
    CHECK(sb::load_profile(exact, test::test_vars(), test::file_source()).files == std::vector<std::string>{exact});
    std::string top = dir.write("top.toml", "\nextends = [\"big.toml\"]\n");
    check_at(load_error(top, test::file_source()), top, 2, 12,
             "cannot read profile " + big + ": larger than 1 MiB (the limit for a profile file)");
    check_at(load_error(big, test::file_source()), big, 0, 0, "larger than 1 MiB");
    // In memory too: the rule is the loader's, not the reader's.
    check_at(text_error(std::string(sb::kMaxProfileFileBytes + 1, ' ')), "/mem/t.toml", 0, 0, "larger than 1 MiB");
}

TEST_CASE("reading: /dev/zero and a directory are not regular files", "[profile][reading]") {
    ProfileFileText zero = sb::read_profile_file("/dev/zero");
    CHECK_FALSE(zero.text);
    CHECK_FALSE(zero.missing());
    CHECK(zero.reason() == "not a regular file (a character device)");
    test::TempDir dir;
    CHECK(sb::read_profile_file(dir.path()).reason() == "not a regular file (a directory)");
    std::string top = dir.write("top.toml", "extends = [\"/dev/zero\"]\n");
    check_at(load_error(top, test::file_source()), top, 1, 12,
             "cannot read profile /dev/zero: not a regular file (a character device)");
}

TEST_CASE("reading: a FIFO is refused at once, not waited on", "[profile][reading]") {
    test::TempDir dir;
    std::string fifo = dir.path() + "/fifo.toml";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // Nobody ever writes: a blocking open would wait here forever.
    CHECK(sb::read_profile_file(fifo).reason() == "not a regular file (a FIFO)");
    std::string top = dir.write("top.toml", "extends = [\"fifo.toml\"]\n");
    check_at(load_error(top, test::file_source()), top, 1, 12, "not a regular file (a FIFO)");
    // Found by name in a search dir, it is refused too (not skipped for the next directory).
    std::string named = dir.write("named.toml", "extends = [\"fifo\"]\n");
    check_at(load_error(named, test::file_source()), named, 1, 12, fifo + ": not a regular file (a FIFO)");
}

// ---------------------------------------------------------------------------------------------
// Text: NUL bytes and invalid UTF-8, located before toml++ sees them

TEST_CASE("reading: a NUL byte is refused at its line and column", "[profile][reading]") {
    check_at(text_error(std::string("cwd = \"/\"\nhostname = \"a\0b\"\n", 26)), "/mem/t.toml", 2, 14,
             "a NUL byte");
    check_at(text_error(std::string("\0", 1)), "/mem/t.toml", 1, 1, "a NUL byte");
    // In a comment too: toml++ never gets it.
    check_at(text_error(std::string("# x\0\n", 5)), "/mem/t.toml", 1, 4, "a NUL byte");
}

TEST_CASE("reading: invalid UTF-8 is refused at its line and column", "[profile][reading]") {
    // Columns count characters: "é" is one.
    check_at(text_error("cwd = \"/\"\n# \xc3\xa9\xff\n"), "/mem/t.toml", 2, 4, "invalid UTF-8 (byte 0xff)");
    check_at(text_error("# \x80\n"), "/mem/t.toml", 1, 3, "invalid UTF-8 (byte 0x80)");        // lone continuation
    check_at(text_error("# \xc0\xaf\n"), "/mem/t.toml", 1, 3, "invalid UTF-8 (byte 0xc0)");    // overlong '/'
    check_at(text_error("# \xe0\x80\xaf\n"), "/mem/t.toml", 1, 3, "invalid UTF-8 (byte 0xe0)");  // overlong
    check_at(text_error("# \xed\xa0\x80\n"), "/mem/t.toml", 1, 3, "invalid UTF-8 (byte 0xed)");  // surrogate
    check_at(text_error("# \xf4\x90\x80\x80\n"), "/mem/t.toml", 1, 3, "invalid UTF-8 (byte 0xf4)");  // > U+10FFFF
    check_at(text_error("# \xf5\x80\x80\x80\n"), "/mem/t.toml", 1, 3, "invalid UTF-8 (byte 0xf5)");
    check_at(text_error("# \xe2\x82"), "/mem/t.toml", 1, 3, "invalid UTF-8 (byte 0xe2)");  // cut short
    // Valid multi-byte text of every length passes.
    CHECK(test::load_text("# \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\ncwd = \"/\xc3\xa9\"\n").cwd ==
          "/\xc3\xa9");
}

TEST_CASE("reading: a \\u0000 escape in a string is refused", "[profile][reading]") {
    check_at(text_error("cwd = \"/a\\u0000b\"\n"), "/mem/t.toml", 1, 7, "'cwd' must not contain a NUL character");
    check_at(text_error("extends = [\"a\\u0000b\"]\n"), "/mem/t.toml", 1, 12,
             "'extends' must not contain a NUL character");
}

// ---------------------------------------------------------------------------------------------
// extends: depth, number of files, diamonds

TEST_CASE("extends: a chain of 16 files loads, a 17th is refused where it is named", "[profile][extends]") {
    auto ok = chain(16);
    CHECK(sb::load_profile(file_name(0), test::test_vars(), test::memory_source(ok)).files.size() == 16);
    auto error = load_error(file_name(0), test::memory_source(chain(17)));
    check_at(error, file_name(15), 1, 12, "extends chain longer than 16 files (the limit): /m/f0.toml -> ");
    CHECK_THAT(error.message(), Contains("/m/f15.toml -> /m/f16.toml"));
}

TEST_CASE("extends: a very long chain ends at the depth limit, not in a crash", "[profile][extends]") {
    check_at(load_error(file_name(0), test::memory_source(chain(100000))), file_name(15), 1, 12,
             "extends chain longer than 16 files");
    // Names that never repeat (as a symlink to its own directory gives): still the depth limit.
    sb::ProfileSource endless;
    endless.read_file = [](const std::string&) {
        sb::ProfileFileText file;
        file.text = "extends = [\"d/p.toml\"]\n";
        return file;
    };
    check_at(load_error("/p.toml", endless), "/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/p.toml", 1, 12,
             "extends chain longer than 16 files");
}

TEST_CASE("extends: 64 files load, a 65th is refused where it is named", "[profile][extends]") {
    CHECK(sb::load_profile("/m/top.toml", test::test_vars(), test::memory_source(wide(63))).files.size() == 64);
    // top itself and f0..f62 are 64 files: f63, on line 65, is one too many.
    check_at(load_error("/m/top.toml", test::memory_source(wide(64))), "/m/top.toml", 65, 3,
             "more than 64 files in one profile (the limit) with /m/f63.toml");
}

TEST_CASE("extends: stacked diamonds read and merge each file once", "[profile][extends]") {
    // a0 extends [b0, c0]; b0 and c0 extend a1; ... a7. Followed naively that is 2^7 merges of
    // a7 (and 2^20 with 20 levels); here it is 22 files, each read once.
    CountingSource counting;
    const int levels = 7;
    for (int i = 0; i < levels; ++i) {
        std::string n = std::to_string(i), next = "a" + std::to_string(i + 1);
        counting.files["/m/a" + n + ".toml"] = "extends = [\"b" + n + "\", \"c" + n + "\"]\n";
        counting.files["/m/b" + n + ".toml"] = "extends = [\"" + next + "\"]\n";
        counting.files["/m/c" + n + ".toml"] = "extends = [\"" + next + "\"]\nhostname = \"c" + n + "\"\n";
    }
    counting.files["/m/a7.toml"] = "hostname = \"bottom\"\n";
    auto profile = sb::load_profile("/m/a0.toml", test::test_vars(), counting.source());
    CHECK(profile.files.size() == 3 * levels + 1);
    CHECK(profile.files.front() == "/m/a7.toml");
    CHECK(profile.hostname == "c0");
    for (const auto& [path, count] : counting.reads) {
        INFO(path);
        CHECK(count == 1);
    }
}

TEST_CASE("extends: in a diamond, a second reference does not undo a sibling's override", "[profile][extends]") {
    auto source = test::memory_source({{"/m/root.toml", "hostname = \"root\"\ncwd = \"/root\"\n"},
                                       {"/m/l.toml", "extends = [\"root\"]\nhostname = \"left\"\n"},
                                       {"/m/r.toml", "extends = [\"root\"]\ncwd = \"/right\"\n"},
                                       {"/m/top.toml", "extends = [\"l\", \"r\"]\n"}});
    auto p = sb::load_profile("/m/top.toml", test::test_vars(), source);
    CHECK(p.hostname == "left");
    CHECK(p.cwd == "/right");
}

// ---------------------------------------------------------------------------------------------
// The hostname rule

TEST_CASE("hostname: letters, digits, '-' and '.', 1 to 64 of them", "[profile][hostname]") {
    CHECK_FALSE(sb::hostname_problem("a"));
    CHECK_FALSE(sb::hostname_problem("build-01.example.org"));
    CHECK_FALSE(sb::hostname_problem(std::string(64, 'h')));
    CHECK(sb::hostname_problem("") == std::optional<std::string>("must not be empty"));
    CHECK(sb::hostname_problem(std::string(65, 'h')) ==
          std::optional<std::string>("must be at most 64 characters, not 65"));
    CHECK(sb::hostname_problem("box\nevil") ==
          std::optional<std::string>("may contain only letters, digits, '-' and '.', not '\\n' at byte 4"));
    CHECK(sb::hostname_problem("a b") ==
          std::optional<std::string>("may contain only letters, digits, '-' and '.', not ' ' at byte 2"));
    CHECK(sb::hostname_problem("a_b"));
    CHECK(sb::hostname_problem("a/b"));
    CHECK(sb::hostname_problem("\x1b[2J") ==
          std::optional<std::string>("may contain only letters, digits, '-' and '.', not '\\x1b' at byte 1"));
    CHECK(sb::hostname_problem("h\xc3\xa9"));
}

TEST_CASE("hostname: a profile's newline is refused at the value", "[profile][hostname]") {
    check_at(text_error("cwd = \"/\"\nhostname = \"box\\nevil\"\n"), "/mem/t.toml", 2, 12,
             "'hostname' may contain only letters, digits, '-' and '.', not '\\n' at byte 4");
    check_at(text_error("hostname = \"a b\"\n"), "/mem/t.toml", 1, 12, "not ' ' at byte 2");
}

TEST_CASE("hostname: an override is held to the same rule", "[plan][hostname]") {
    sb::Profile profile = test::load_text("command = [\"/bin/true\"]\n");
    sb::HostFacts facts;
    facts.uid = 1000;
    facts.gid = 1000;
    facts.user_name = "tester";
    facts.subuid = sb::SubidRange{100000, 65536};
    facts.subgid = sb::SubidRange{200000, 65536};
    facts.newuidmap = "/usr/bin/newuidmap";
    facts.newgidmap = "/usr/bin/newgidmap";
    sb::Overrides overrides;
    overrides.hostname = "box\nevil";
    CHECK_THROWS_MATCHES(sb::build_plan(profile, overrides, facts), sb::UsageError,
                         Catch::Matchers::Message("--hostname may contain only letters, digits, '-' and '.', "
                                                  "not '\\n' at byte 4"));
}

// ---------------------------------------------------------------------------------------------
// toml++ 3.3.0 reached __builtin_unreachable() testing U+00A1..U+0499 (and U+FBA6..U+FEFE) for
// whitespace; src/profile/toml.hpp compiles that test to "not whitespace". The fuzzer's corpus
// (tests/fuzz, under UBSan) is what fails without it; these pin the behaviour.

TEST_CASE("reading: a non-ASCII character where whitespace may be is a syntax error", "[profile][reading]") {
    for (const char* text : {"a \xc3\xa9 = 1\n", "e\xef\xb9\xbf" "5 = 1\n", "hostname = \"x\"\xca\x93\n"}) {
        auto error = text_error(text);
        INFO(error.what());
        CHECK(error.where().line == 1);
        CHECK_THAT(error.message(), Catch::Matchers::StartsWith("TOML syntax error: "));
    }
}

TEST_CASE("reading: toml++ is included only through profile/toml.hpp", "[profile][hygiene]") {
    namespace fs = std::filesystem;
    const fs::path root = fs::path(SANDBOX_TEST_DATA).parent_path().parent_path().parent_path();
    std::vector<std::string> offenders;
    for (const char* dir : {"src", "tests"}) {
        for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
            auto ext = entry.path().extension();
            if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp")) continue;
            if (entry.path().filename() == "toml.hpp" || entry.path().filename() == "test_profile_reading.cpp") continue;
            std::string text = test::read_text_file(entry.path().string()).value_or("");
            if (text.find("<toml++/") != std::string::npos) offenders.push_back(entry.path().string());
        }
    }
    CHECK(offenders.empty());
}

// toml++ 3.3.0's assert()s abort (SIGABRT) on a table header "[[[": meson.build turns them off.
TEST_CASE("reading: a header with three brackets is a syntax error, not an abort", "[profile][reading]") {
    for (const char* text : {"[[[a]]]\n", "cwd = \"/\"\n[[[network.egress]mount]]\n", "[[ ]]\n[[\"\"\n"}) {
        auto error = text_error(text);
        INFO(error.what());
        CHECK(error.where().line >= 1);
        CHECK_THAT(error.message(), Catch::Matchers::StartsWith("TOML syntax error: "));
    }
}
