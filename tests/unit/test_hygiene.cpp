// Source hygiene: only src/sys/ may call the raw syscalls that create file descriptors (there
// they are born O_CLOEXEC and owned by a UniqueFd). Everything else goes through sys/syscalls.hpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sys/hints.hpp"

namespace fs = std::filesystem;

namespace {

const char* const kForbidden[] = {"open",   "openat", "socket", "socketpair", "pipe",    "pipe2",
                                  "accept", "dup",    "fsopen", "open_tree",  "fsmount"};

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Blanks out comments, string and character literals (raw strings too), keeping newlines so
// line numbers stay right.
std::string strip_comments_and_literals(const std::string& text) {
    std::string out = text;
    std::size_t i = 0, n = text.size();
    auto blank = [&](std::size_t from, std::size_t to) {
        for (std::size_t k = from; k < to && k < n; ++k)
            if (out[k] != '\n') out[k] = ' ';
    };
    while (i < n) {
        char c = text[i];
        if (c == '/' && i + 1 < n && text[i + 1] == '/') {
            std::size_t end = text.find('\n', i);
            if (end == std::string::npos) end = n;
            blank(i, end);
            i = end;
        } else if (c == '/' && i + 1 < n && text[i + 1] == '*') {
            std::size_t end = text.find("*/", i + 2);
            end = end == std::string::npos ? n : end + 2;
            blank(i, end);
            i = end;
        } else if (c == 'R' && i + 1 < n && text[i + 1] == '"' && (i == 0 || !ident_char(text[i - 1]) ||
                                                                    text[i - 1] == 'u' || text[i - 1] == 'U' ||
                                                                    text[i - 1] == 'L' || text[i - 1] == '8')) {
            std::size_t open = text.find('(', i + 2);
            if (open == std::string::npos) break;
            std::string close = ")" + text.substr(i + 2, open - i - 2) + "\"";
            std::size_t end = text.find(close, open);
            end = end == std::string::npos ? n : end + close.size();
            blank(i, end);
            i = end;
        } else if (c == '"' || (c == '\'' && !(i > 0 && std::isxdigit(static_cast<unsigned char>(text[i - 1])) &&
                                               i + 1 < n && std::isxdigit(static_cast<unsigned char>(text[i + 1]))))) {
            // (a ' between hex digits is a digit separator, as in 1'000)
            std::size_t k = i + 1;
            while (k < n && text[k] != c && text[k] != '\n') k += text[k] == '\\' ? 2 : 1;
            std::size_t end = std::min(n, k + 1);
            blank(i, end);
            i = end;
        } else {
            ++i;
        }
    }
    return out;
}

struct Finding {
    int line;
    std::string name;
    std::string text;
};

// Calls of the forbidden names: `name (` at a word boundary, not a member (`.name(`, `->name(`)
// and not qualified by a namespace other than the global one (`x::name(`).
std::vector<Finding> find_raw_calls(const std::string& source) {
    std::vector<Finding> found;
    std::string code = strip_comments_and_literals(source);
    std::istringstream lines(code), original(source);
    std::string line, original_line;
    int number = 0;
    while (std::getline(lines, line)) {
        std::getline(original, original_line);
        ++number;
        for (const char* name : kForbidden) {
            std::string word = name;
            for (std::size_t at = line.find(word); at != std::string::npos; at = line.find(word, at + 1)) {
                std::size_t after = at + word.size();
                if (at > 0 && ident_char(line[at - 1])) continue;
                if (after < line.size() && ident_char(line[after])) continue;
                std::size_t paren = line.find_first_not_of(" \t", after);
                if (paren == std::string::npos || line[paren] != '(') continue;
                std::size_t before = at;
                while (before > 0 && (line[before - 1] == ' ' || line[before - 1] == '\t')) --before;
                if (before > 0 && line[before - 1] == '.') continue;
                if (before > 1 && line[before - 1] == '>' && line[before - 2] == '-') continue;
                if (before > 1 && line[before - 1] == ':' && line[before - 2] == ':') {
                    std::size_t scope = before - 2;
                    while (scope > 0 && (line[scope - 1] == ' ' || line[scope - 1] == '\t')) --scope;
                    if (scope > 0 && (ident_char(line[scope - 1]) || line[scope - 1] == '>')) continue;
                }
                found.push_back({number, word, original_line});
            }
        }
    }
    return found;
}

std::string read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("hygiene: the scanner finds raw calls and ignores the rest", "[hygiene]") {
    auto names = [](const std::string& text) {
        std::vector<std::string> out;
        for (const auto& f : find_raw_calls(text)) out.push_back(std::to_string(f.line) + ":" + f.name);
        return out;
    };
    using V = std::vector<std::string>;
    CHECK(names("int fd = ::open(path, O_RDONLY);") == V{"1:open"});
    CHECK(names("x = open (p, 0);\ny = pipe2(fds, 0);") == V{"1:open", "2:pipe2"});
    CHECK(names("check(::socketpair(AF_UNIX, 0, 0, fds));") == V{"1:socketpair"});
    CHECK(names("a(); dup(fd); accept(s, 0, 0); fsopen(\"tmpfs\", 0);") == V{"1:accept", "1:dup", "1:fsopen"});
    CHECK(names("open_tree(AT_FDCWD, p, 0); fsmount(fd, 0, 0); openat(d, p, 0); socket(1,2,3); pipe(f);") ==
          V{"1:openat", "1:socket", "1:pipe", "1:open_tree", "1:fsmount"});
    CHECK(names("auto fd = sb::try_open_at(dir, p, 0);").empty());
    CHECK(names("UniqueFd open_fd(const std::string& path);").empty());
    CHECK(names("dup2(a, b); reopen(x); my_pipe(y); opened(z);").empty());
    CHECK(names("// ::open(path)\n/* pipe(fds)\n socket( */ int x;").empty());
    CHECK(names("log(\"cannot open(\" + path + \")\"); char c = '(';").empty());
    CHECK(names("auto s = R\"(dup(1))\"; std::string t = \"\\\"pipe(\";").empty());
    CHECK(names("stream.open(path); ptr->open(path); std::ifstream f; f . open(p);").empty());
    CHECK(names("/* a\n b */ x = ::dup(1);") == V{"2:dup"});
    CHECK(names("int n = 1'000; y = dup(n);") == V{"1:dup"});
}

TEST_CASE("hygiene: only src/sys/ calls the raw fd-creating syscalls", "[hygiene]") {
    fs::path src = fs::path(SANDBOX_TEST_DATA) / ".." / ".." / ".." / "src";
    REQUIRE(fs::is_directory(src));
    src = fs::canonical(src);
    REQUIRE(fs::is_regular_file(src / "sys" / "syscalls.hpp"));
    const std::vector<std::string> extensions = {".cpp", ".hpp", ".cc", ".h", ".c"};
    std::vector<std::string> problems;
    int scanned = 0;
    for (const auto& entry : fs::recursive_directory_iterator(src)) {
        if (!entry.is_regular_file()) continue;
        auto relative = fs::relative(entry.path(), src);
        if (*relative.begin() == "sys") continue;
        auto ext = entry.path().extension().string();
        if (std::find(extensions.begin(), extensions.end(), ext) == extensions.end()) continue;
        ++scanned;
        for (const auto& f : find_raw_calls(read_all(entry.path())))
            problems.push_back("src/" + relative.string() + ":" + std::to_string(f.line) + ": raw " + f.name +
                               "(): " + f.text);
    }
    std::sort(problems.begin(), problems.end());
    std::string report;
    for (const auto& p : problems) report += p + "\n";
    INFO("use the helpers in src/sys/syscalls.hpp instead:\n" << report);
    CHECK(scanned >= 20);
    CHECK(problems.empty());
}

TEST_CASE("hints: one wording per cause, each naming a fix", "[hints]") {
    for (auto cause : {sb::Cause::Bug, sb::Cause::TooManyProcesses, sb::Cause::IdHelpersMissing,
                       sb::Cause::NoSubordinateRanges, sb::Cause::BadSubordinateRanges})
        CHECK_FALSE(sb::hint(cause).empty());
    CHECK_THAT(sb::hint(sb::Cause::NoSubordinateRanges, "tester"),
               Catch::Contains("sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 tester"));
    CHECK_THAT(sb::hint(sb::Cause::TooManyProcesses), Catch::Contains("ulimit -u"));
}
